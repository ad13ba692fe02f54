// web.conf + db.conf -> AppConfig.
#include "web/app/app_config.hpp"

#include <algorithm>
#include <stdexcept>

namespace appmsg::web::app {

namespace {

std::chrono::seconds seconds_of(const Config& c, const char* section, const char* key,
                                std::chrono::seconds def) {
  return std::chrono::duration_cast<std::chrono::seconds>(c.get_duration(section, key, def));
}

}  // namespace

AppConfig AppConfig::load(const Config& web, const Config& db) {
  AppConfig o;
  o.bind = web.get_list("base", "app.bind", {});
  // The original's default of 0 kills every token at once: 3600 s unless set (positive).
  o.token_expire = std::chrono::seconds(web.get_int("token", "expire", 3600));
  if (o.token_expire.count() <= 0) web.fail("token", "expire", "must be positive (seconds)");
  o.msg_expire = web.get_int("msg", "expire", o.msg_expire);
  if (o.msg_expire < 0) web.fail("msg", "expire", "must not be negative");
  o.redis_ketama_base = static_cast<int>(web.get_int("redis", "ketama.base", o.redis_ketama_base));
  if (o.redis_ketama_base <= 0) web.fail("redis", "ketama.base", "must be positive");
  o.redis_timeout = web.get_millis("redis", "command.timeout", o.redis_timeout);
  o.redis_sources = read_shard_sources(web, "redis.source");
  o.apns_type = web.get_string("apns", "type", o.apns_type);
  o.weedfs = web.get_string("weedfs", "address", o.weedfs);

  o.session_ttl = seconds_of(web, "presence", "ttl", o.session_ttl);
  if (o.session_ttl.count() < 3) web.fail("presence", "ttl", "must be at least 3s");
  o.app_token_cache = seconds_of(web, "app", "token.cache", o.app_token_cache);
  o.user_cache = seconds_of(web, "app", "user.cache", o.user_cache);
  o.quota_reload = seconds_of(web, "app", "quota.reload", o.quota_reload);
  if (o.quota_reload.count() <= 0) web.fail("app", "quota.reload", "must be positive");
  o.stats_flush = web.get_millis("app", "stats.flush", o.stats_flush);
  if (o.stats_flush.count() <= 0) web.fail("app", "stats.flush", "must be positive");
  o.request_timeout = web.get_millis("app", "timeout", o.request_timeout);
  if (o.request_timeout.count() <= 0) web.fail("app", "timeout", "must be positive");
  o.password_iterations =
      static_cast<int>(web.get_positive("app", "password.iterations", o.password_iterations));
  if (o.password_iterations < 10000) {
    web.fail("app", "password.iterations", "must be at least 10000");
  }
  o.max_body_bytes =
      static_cast<size_t>(web.get_size("app", "body.max", static_cast<int64_t>(o.max_body_bytes)));
  if (o.max_body_bytes < 4096) web.fail("app", "body.max", "must be at least 4KB");
  o.static_dir = web.get_string("app", "static.dir", o.static_dir);
  o.qr_contact = web.get_bool("app", "qr.contact", o.qr_contact);
  o.file_expiry_every = seconds_of(web, "app", "filelink.interval", o.file_expiry_every);
  if (o.file_expiry_every.count() <= 0) web.fail("app", "filelink.interval", "must be positive");
  o.file_expiry_batch =
      static_cast<size_t>(web.get_positive("app", "filelink.batch", int64_t{500}));
  o.session_purge_every = seconds_of(web, "app", "session.purge", o.session_purge_every);
  if (o.session_purge_every.count() <= 0) web.fail("app", "session.purge", "must be positive");

  o.db_url = db.get_string("base", "app.dbURL", "");
  o.db_max_idle = static_cast<int>(db.get_int("base", "app.dbMaxIdleConns", o.db_max_idle));
  o.db_max_open = static_cast<int>(db.get_int("base", "app.dbMaxOpenConns", o.db_max_open));
  if (!o.enabled()) return o;
  if (o.db_url.empty()) {
    web.fail("base", "app.bind", "the /app API needs [base] app.dbURL in db.conf (-dbc FILE)");
  }
  if (o.redis_sources.empty()) {
    web.fail("base", "app.bind", "the /app API needs [redis.source] (tokens and sessions)");
  }
  try {
    o.db = mysql::parse_dsn(o.db_url);
  } catch (const std::invalid_argument& e) {
    db.fail("base", "app.dbURL", e.what());
  }
  // One worker thread per connection: 0 (unlimited in the original) and large values get 16.
  o.db.connections = o.db_max_open <= 0 ? 16 : std::clamp(o.db_max_open, 1, 16);
  return o;
}

}  // namespace appmsg::web::app
