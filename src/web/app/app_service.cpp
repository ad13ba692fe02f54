// The /app API: wiring, start and stop.
#include "web/app/app_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "web/app/apns_tokens.hpp"
#include "web/app/app_push.hpp"
#include "web/app/application_api.hpp"
#include "web/app/client_version.hpp"
#include "web/app/demo_page.hpp"
#include "web/app/device_push.hpp"
#include "web/app/directory_api.hpp"
#include "web/app/login.hpp"
#include "web/app/org_api.hpp"
#include "web/app/qr_page.hpp"
#include "web/app/qun_api.hpp"
#include "web/app/schema.hpp"
#include "web/app/session_api.hpp"
#include "web/app/static_files.hpp"
#include "web/app/sync_api.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

AppService::AppService(asio::any_io_executor ex, AppConfig config, WebContext& web) : ex_(ex) {
  ctx_.config = std::move(config);
  const AppConfig& c = ctx_.config;
  ctx_.web = &web;
  db_ = std::make_unique<mysql::Pool>(ex, c.db);
  redis_ = std::make_unique<RedisShards>(ex, redis_shards_of(c.redis_sources, c.redis_timeout),
                                         c.redis_ketama_base);
  directory_ = std::make_unique<Directory>(*db_, c.user_cache, c.app_token_cache);
  tokens_ = std::make_unique<Tokens>(*redis_, c.token_expire);
  sessions_ = std::make_unique<SessionStore>(*redis_, c.session_ttl);
  quotas_ = std::make_unique<Quotas>(ex, *db_, c.quota_reload, c.stats_flush);
  ctx_.db = db_.get();
  ctx_.directory = directory_.get();
  ctx_.tokens = tokens_.get();
  ctx_.sessions = sessions_.get();
  ctx_.quotas = quotas_.get();
  jobs_ = std::make_unique<BackgroundJobs>(ex, ctx_);
  ctx_.hashing = &hashing_;
  router_ = std::make_shared<HttpRouter>();
  add_login_routes(*router_, ctx_);
  add_device_push_routes(*router_, ctx_);
  add_app_push_routes(*router_, ctx_);
  add_session_routes(*router_, ctx_);
  add_apns_token_routes(*router_, ctx_);
  add_directory_routes(*router_, ctx_);
  add_client_version_routes(*router_, ctx_);
  add_org_routes(*router_, ctx_);
  add_application_routes(*router_, ctx_);
  add_qun_routes(*router_, ctx_);
  add_sync_routes(*router_, ctx_);
  add_qr_routes(*router_, ctx_);
  add_demo_routes(*router_, ctx_);
  add_static_routes(*router_, load_static_files(c.static_dir));
  web.extra_metrics = [this] { return metrics(); };
}

AppService::~AppService() {
  ctx_.web->extra_metrics = nullptr;
  hashing_.join();
}

asio::awaitable<void> AppService::start() {
  auto m = migrate(ex_, ctx_.config.db);
  co_await std::move(m);
  redis_->start();
  auto l = quotas_->load();
  co_await std::move(l);
  quotas_->start();
  jobs_->start();
  HttpServerOptions o(ctx_.web->config.http);
  o.name = "app";
  o.max_body_bytes = ctx_.config.max_body_bytes;
  o.cors = CorsPolicy(ctx_.web->config.cors_origins);
  server_ = std::make_unique<HttpServer>(ex_, o, router_);
  for (auto& bind : ctx_.config.bind) {
    addresses_.push_back(advertised_address(bind, server_->listen(bind), ""));
  }
  spdlog::info("web: /app API on {} (schema version {}, database {})", fmt::join(addresses_, ","),
               schema_version(), ctx_.config.db.database);
}

asio::awaitable<void> AppService::stop() {
  if (server_) {
    auto s = server_->stop(std::chrono::seconds(5));
    co_await std::move(s);
  }
  quotas_->stop();
  jobs_->stop();
  auto f = quotas_->flush();
  co_await std::move(f);
  redis_->stop();
}

std::string AppService::metrics() const {
  std::string out =
      "# HELP appmsg_web_app_requests_total /app requests by route and ret code.\n"
      "# TYPE appmsg_web_app_requests_total counter\n";
  for (auto& [route, rets] : ctx_.stats.answers) {
    for (auto& [ret, n] : rets) {
      out += "appmsg_web_app_requests_total{route=\"" + route + "\",ret=\"" + std::to_string(ret) +
             "\"} " + std::to_string(n) + "\n";
    }
  }
  auto line = [&](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  line("appmsg_web_app_fanouts_total", "/app pushes expanded into copies.", ctx_.stats.fanouts);
  line("appmsg_web_app_copies_total", "Copies of /app pushes sent to comets.", ctx_.stats.copies);
  line("appmsg_web_app_copy_failures_total", "Copies that were not delivered.",
       ctx_.stats.copy_failures);
  line("appmsg_web_app_internal_errors_total", "/app requests that failed with 65535.",
       ctx_.stats.internal_errors);
  line("appmsg_web_app_store_errors_total",
       "MySQL/Redis failures a handler answered itself or went on without.",
       ctx_.stats.store_errors);
  line("appmsg_web_app_files_deleted_total", "Expired files deleted on weedfs.",
       ctx_.stats.files_deleted);
  line("appmsg_web_app_file_delete_failures_total", "weedfs deletes that failed (kept for later).",
       ctx_.stats.file_delete_failures);
  line("appmsg_web_app_sessions_purged_total", "Stale rows of the session table purged.",
       ctx_.stats.sessions_purged);
  line("appmsg_web_app_quota_errors_total", "Failed reads of quotas and writes of counters.",
       quotas_->errors());
  return out;
}

int migrate_command(const Config& web, const Config& db) {
  AppConfig c;
  try {
    c = AppConfig::load(web, db);
    if (c.db_url.empty()) throw std::invalid_argument("db.conf has no [base] app.dbURL");
    if (!c.enabled()) c.db = mysql::parse_dsn(c.db_url);
  } catch (const std::exception& e) {
    spdlog::critical("--migrate: {}", e.what());
    return 2;
  }
  asio::io_context io;
  int status = 0;
  asio::co_spawn(io, migrate(io.get_executor(), c.db), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::critical("--migrate: {}", ex.what());
      status = 1;
    }
  });
  io.run();
  if (status == 0) spdlog::info("--migrate: the schema is at version {}", schema_version());
  return status;
}

}  // namespace appmsg::web::app
