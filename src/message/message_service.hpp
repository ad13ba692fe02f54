// The message daemon's parts and their order of start and stop: the storage backend, the RPC
// and stats listeners, then the ZooKeeper registration (ephemeral sequential child of
// [zookeeper] path with {"rpc":[...],"weight":N}). Stop: the registration goes first, then the
// listeners (calls in flight finish), then the backend.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/daemon.hpp"
#include "common/http_server.hpp"
#include "common/zk_client.hpp"
#include "message/message_config.hpp"
#include "message/message_stats.hpp"
#include "message/message_store.hpp"

namespace appmsg::message {

class MessageService : public Service {
 public:
  MessageService(boost::asio::io_context& io, MessageConfig cfg);
  ~MessageService() override;
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

  const std::vector<std::string>& rpc_addresses() const { return rpc_addresses_; }
  const std::vector<std::string>& stat_addresses() const { return stat_addresses_; }
  MessageStore& store() { return *store_; }
  MessageStats& stats() { return stats_; }
  std::string registration_data() const;
  ZkClient& zk() { return *zk_; }  // for operations and tests; use it on the control executor

 private:
  boost::asio::io_context& io_;
  MessageConfig cfg_;
  MessageStats stats_;
  std::unique_ptr<MessageStore> store_;
  std::shared_ptr<HttpRouter> rpc_router_, stat_router_;
  std::unique_ptr<HttpServer> rpc_server_, stat_server_;
  std::unique_ptr<ZkClient> zk_;
  ZkClient::RegistrationId registration_ = 0;
  std::vector<std::string> rpc_addresses_, stat_addresses_;
};

}  // namespace appmsg::message
