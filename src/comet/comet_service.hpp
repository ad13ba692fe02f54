// The comet daemon's parts and their order of start and stop.
//
// Threads: the control context (one thread: RPC, stats, ZooKeeper, message nodes) and an IoPool
// of `maxproc` contexts holding the client connections. Start: listeners bind first, then the
// node registers in ZooKeeper (so it never advertises an address it does not serve). Stop: the
// registration goes first, then the listeners, then the clients are closed.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "comet/channel_table.hpp"
#include "comet/comet_config.hpp"
#include "comet/comet_stats.hpp"
#include "comet/push_service.hpp"
#include "comet/session_context.hpp"
#include "comet/session_registry.hpp"
#include "common/daemon.hpp"
#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "common/message_nodes.hpp"
#include "common/redis_shards.hpp"
#include "common/zk_client.hpp"

namespace appmsg::comet {

class TcpListener;
class Migration;
class FreezeGuard;
class Presence;
class TokenAuth;

class CometService : public Service {
 public:
  CometService(boost::asio::io_context& control, CometConfig config, size_t io_threads);
  ~CometService() override;

  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

  // Bound addresses, after start() (port 0 in the configuration becomes the real port).
  const std::vector<std::string>& tcp_addresses() const { return tcp_addresses_; }
  const std::vector<std::string>& ws_addresses() const { return ws_addresses_; }
  const std::vector<std::string>& rpc_addresses() const { return rpc_addresses_; }
  const std::vector<std::string>& stat_addresses() const { return stat_addresses_; }
  ChannelTable& table() { return table_; }
  CometStats& stats() { return stats_; }
  // The JSON written to this node's ZooKeeper registration.
  std::string registration_data() const;
  ZkClient& zk() { return *zk_; }  // for operations and tests; use it on the control executor

 private:
  boost::asio::io_context& control_;
  CometConfig config_;
  SessionRegistry sessions_;  // before pool_: connections destroyed with the pool remove themselves
  IoPool pool_;
  ChannelTable table_;
  CometStats stats_;
  std::shared_ptr<SessionContext> session_ctx_;
  std::unique_ptr<ZkClient> zk_;
  std::unique_ptr<MessageNodes> store_;
  std::unique_ptr<PushService> push_;
  std::unique_ptr<Migration> migration_;
  std::unique_ptr<FreezeGuard> freeze_;
  std::unique_ptr<RedisShards> redis_;  // tokens and presence; null without [redis.source]
  std::unique_ptr<Presence> presence_;
  std::unique_ptr<TokenAuth> auth_;
  std::shared_ptr<HttpRouter> rpc_router_, stat_router_;
  std::unique_ptr<HttpServer> rpc_server_, stat_server_;
  std::vector<std::shared_ptr<TcpListener>> listeners_;
  std::vector<std::string> tcp_addresses_, ws_addresses_, rpc_addresses_, stat_addresses_;
  ZkClient::RegistrationId registration_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace appmsg::comet
