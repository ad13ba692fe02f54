// The message daemon: wiring, start and graceful stop.
#include "message/message_service.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/rpc.hpp"
#include "message/message_rpc.hpp"
#include "message/mysql_store.hpp"
#include "message/redis_store.hpp"

namespace appmsg::message {

namespace asio = boost::asio;

MessageService::MessageService(asio::io_context& io, MessageConfig cfg)
    : io_(io), cfg_(std::move(cfg)) {
  if (cfg_.type == "mysql") {
    store_ = std::make_unique<MysqlStore>(io_.get_executor(), cfg_);
  } else {
    store_ = std::make_unique<RedisStore>(io_.get_executor(), cfg_);
  }
  for (auto& src : cfg_.type == "mysql" ? cfg_.mysql_sources : cfg_.redis_sources) {
    stats_.shards[src.name];  // the fixed set of per-shard counters
  }
  store_->observe([this](const std::string& shard, uint64_t us, bool ok) {
    stats_.observe_shard(shard, us, ok);
  });
  rpc_router_ = std::make_shared<HttpRouter>();
  add_message_rpc(*rpc_router_, cfg_, *store_, stats_);
  stat_router_ = std::make_shared<HttpRouter>();
  stat_router_->add("/stat", {"GET"}, [this](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    HttpResponse r;
    r.body = stats_.json();
    co_return r;
  });
  stat_router_->add("/metrics", {"GET"},
                    [this](const HttpRequest&) -> asio::awaitable<HttpResponse> {
                      HttpResponse r;
                      r.content_type = "text/plain; version=0.0.4";
                      r.body = stats_.metrics(cfg_.type);
                      co_return r;
                    });
  zk_ = std::make_unique<ZkClient>(io_.get_executor(), ZkOptions{cfg_.zk_addr, cfg_.zk_timeout});
}

MessageService::~MessageService() = default;

std::string MessageService::registration_data() const {
  return nlohmann::json{{"rpc", rpc_addresses_}, {"weight", cfg_.weight}}.dump();
}

asio::awaitable<void> MessageService::start() {
  if (auto* mysql = dynamic_cast<MysqlStore*>(store_.get())) {
    auto op = mysql->prepare();  // the table, on every shard
    co_await std::move(op);
  }
  store_->start();
  warn_if_open(cfg_.rpc_bind, cfg_.rpc_secret);
  HttpServerOptions rpc_opts(cfg_.http);
  rpc_opts.name = "message rpc";
  rpc_opts.max_body_bytes = 32 << 20;  // batches
  rpc_server_ = std::make_unique<HttpServer>(io_.get_executor(), rpc_opts, rpc_router_);
  for (auto& b : cfg_.rpc_bind)
    rpc_addresses_.push_back(advertised_address(b, rpc_server_->listen(b), cfg_.advertise));
  HttpServerOptions stat_opts(cfg_.http);
  stat_opts.name = "message stat";
  stat_server_ = std::make_unique<HttpServer>(io_.get_executor(), stat_opts, stat_router_);
  stat_addresses_ = listen_stats(*stat_server_, cfg_.stat_bind, cfg_.stat_bind_set, cfg_.advertise);
  zk_->start();
  registration_ = zk_->register_ephemeral(cfg_.zk_path + "/", registration_data(), true);
  spdlog::info("message: {} store; registering under {} in ZooKeeper {}", cfg_.type, cfg_.zk_path,
               cfg_.zk_addr);
}

asio::awaitable<void> MessageService::stop() {
  try {
    auto op = zk_->unregister(registration_);
    co_await std::move(op);
  } catch (const std::exception& e) {
    spdlog::warn("message: deregistering: {}", e.what());
  }
  zk_->close();
  auto rpc_stop = rpc_server_->stop(std::chrono::seconds(5));
  co_await std::move(rpc_stop);
  auto stat_stop = stat_server_->stop(std::chrono::milliseconds(200));
  co_await std::move(stat_stop);
  store_->stop();
}

}  // namespace appmsg::message
