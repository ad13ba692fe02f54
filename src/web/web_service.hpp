// The web daemon's parts and their order of start and stop.
//
// One event-loop thread runs everything: the public, admin and stats listeners, the ZooKeeper
// watches of comets and message nodes, and the RPC clients to them. Start: ZooKeeper and the
// watchers first (the API answers 1001/65535 until they fill in), then the listeners. Stop:
// the listeners stop accepting and finish what is in flight, then the watchers and ZooKeeper.
// With [base] app.bind, the /app API (app/app_service.hpp) starts after the other listeners
// (its migrations first) and stops with them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/daemon.hpp"
#include "common/http_server.hpp"
#include "common/zk_client.hpp"
#include "web/app/app_service.hpp"
#include "web/web_context.hpp"

namespace appmsg::web {

class WebService : public Service {
 public:
  WebService(boost::asio::io_context& io, WebConfig config, app::AppConfig app = {});
  ~WebService() override;
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

  // Bound addresses, after start() (port 0 in the configuration becomes the real port).
  const std::vector<std::string>& http_addresses() const { return http_addresses_; }
  const std::vector<std::string>& admin_addresses() const { return admin_addresses_; }
  const std::vector<std::string>& stat_addresses() const { return stat_addresses_; }
  app::AppService* app() { return app_.get(); }  // null without [base] app.bind
  WebContext& context() { return ctx_; }
  ZkClient& zk() { return *zk_; }

 private:
  boost::asio::io_context& io_;
  WebContext ctx_;
  std::unique_ptr<ZkClient> zk_;
  std::unique_ptr<CometNodes> comets_;
  std::unique_ptr<MessageNodes> messages_;
  std::shared_ptr<HttpRouter> public_router_, admin_router_, stat_router_;
  std::unique_ptr<HttpServer> public_server_, admin_server_, stat_server_;
  std::vector<std::string> http_addresses_, admin_addresses_, stat_addresses_;
  std::unique_ptr<app::AppService> app_;
};

}  // namespace appmsg::web
