// The web daemon: wiring, start and graceful stop.
#include "web/web_service.hpp"

#include <spdlog/spdlog.h>

#include "common/rpc.hpp"
#include "web/admin_api.hpp"
#include "web/admin_overview.hpp"
#include "web/public_api.hpp"

namespace appmsg::web {

namespace asio = boost::asio;

WebService::WebService(asio::io_context& io, WebConfig config, app::AppConfig app) : io_(io) {
  ctx_.config = std::move(config);
  const WebConfig& c = ctx_.config;
  zk_ = std::make_unique<ZkClient>(io_.get_executor(), ZkOptions{c.zk_addr, c.zk_timeout});
  CometNodes::Options co;
  co.path = c.comet_path;
  co.secret = c.rpc_secret;
  co.timeout = c.rpc_timeout;
  co.ping = c.rpc_ping;
  co.retry = c.rpc_retry;
  co.migrate_grace = c.migrate_grace;
  comets_ = std::make_unique<CometNodes>(io_.get_executor(), co);
  messages_ = std::make_unique<MessageNodes>(
      io_.get_executor(), MessageNodes::Options{c.message_path, c.rpc_secret, c.rpc_retry});
  ctx_.comets = comets_.get();
  ctx_.messages = messages_.get();

  public_router_ = std::make_shared<HttpRouter>();
  add_public_routes(*public_router_, ctx_);
  admin_router_ = std::make_shared<HttpRouter>();
  add_admin_routes(*admin_router_, ctx_);
  add_admin_overview_routes(*admin_router_, ctx_);
  stat_router_ = std::make_shared<HttpRouter>();
  add_stat_routes(*stat_router_, ctx_);
  if (app.enabled()) {
    app_ = std::make_unique<app::AppService>(io_.get_executor(), std::move(app), ctx_);
  }
}

WebService::~WebService() = default;

asio::awaitable<void> WebService::start() {
  const WebConfig& c = ctx_.config;
  zk_->start();
  comets_->watch(*zk_);
  messages_->watch(*zk_);

  auto serve = [&](std::unique_ptr<HttpServer>& server, const char* name,
                   std::shared_ptr<HttpRouter> router, const std::vector<std::string>& binds,
                   std::vector<std::string>& bound, size_t max_body, CorsPolicy cors) {
    HttpServerOptions o(c.http);
    o.name = name;
    o.max_body_bytes = max_body;
    o.cors = std::move(cors);
    server = std::make_unique<HttpServer>(io_.get_executor(), o, std::move(router));
    for (auto& bind : binds) bound.push_back(advertised_address(bind, server->listen(bind), ""));
  };
  serve(public_server_, "public", public_router_, c.http_bind, http_addresses_, 64 * 1024,
        CorsPolicy(c.cors_origins));
  // A batch push carries up to batch.max keys besides the message.
  serve(admin_server_, "admin", admin_router_, c.admin_bind, admin_addresses_,
        c.max_body_bytes + c.max_batch_keys * 512 + 4096, CorsPolicy());
  HttpServerOptions so(c.http);
  so.name = "stat";
  so.max_body_bytes = 4096;
  stat_server_ = std::make_unique<HttpServer>(io_.get_executor(), so, stat_router_);
  stat_addresses_ = listen_stats(*stat_server_, c.stat_bind, c.stat_bind_set, "");
  if (app_) {
    auto a = app_->start();
    co_await std::move(a);
  }
  warn_if_open(c.admin_bind, c.admin_secret, "admin API", "[admin] secret");
  spdlog::info("web: public API on {}, admin API on {}, stats on {}; ZooKeeper {}",
               fmt::join(http_addresses_, ","), fmt::join(admin_addresses_, ","),
               fmt::join(stat_addresses_, ","), c.zk_addr);
  co_return;
}

asio::awaitable<void> WebService::stop() {
  // Stop taking requests and let those in flight finish (they may still call comets), then
  // leave ZooKeeper.
  if (app_) {
    auto s = app_->stop();
    co_await std::move(s);
  }
  auto p = public_server_->stop(std::chrono::seconds(5));
  auto a = admin_server_->stop(std::chrono::seconds(5));
  co_await std::move(p);
  co_await std::move(a);
  auto s = stat_server_->stop(std::chrono::milliseconds(200));
  co_await std::move(s);
  comets_->stop();
  zk_->close();
  spdlog::info("web: stopped");
}

}  // namespace appmsg::web
