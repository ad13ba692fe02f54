// The /app API's settings: the original's keys of web.conf ([base] app.bind, [token] expire,
// [msg] expire, [redis], [redis.source], [apns] type, [weedfs] address) and of db.conf
// ([base] app.dbURL, app.dbMaxIdleConns, app.dbMaxOpenConns), then this implementation's own
// ([app] ...). Pure: reads two Configs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/ketama.hpp"
#include "common/mysql_pool.hpp"

namespace appmsg::web::app {

struct AppConfig {
  // web.conf
  std::vector<std::string> bind;                 // [base] app.bind; empty = no /app listener
  std::chrono::seconds token_expire{3600};       // [token] expire: user tokens, sliding
  int64_t msg_expire = 604800;                   // [msg] expire: offline copies of /app pushes
  std::vector<ShardSource> redis_sources;        // [redis.source]: tokens and sessions
  int redis_ketama_base = 255;                   // [redis] ketama.base
  std::chrono::milliseconds redis_timeout{500};  // [redis] command.timeout (ours)
  std::string apns_type = "develop";             // [apns] type
  std::string weedfs;                            // [weedfs] address
  // db.conf
  std::string db_url;     // [base] app.dbURL (a Go MySQL DSN)
  int db_max_idle = 10;   // [base] app.dbMaxIdleConns (no idle pool here: read, unused)
  int db_max_open = 100;  // [base] app.dbMaxOpenConns: connections, at most (capped at 16)
  mysql::Options db;      // parsed from db_url
  // [app] (ours)
  std::chrono::seconds session_ttl{90};         // [presence] ttl of the comets: live sessions
  std::chrono::seconds app_token_cache{10};     // app tokens are re-read from MySQL after this
  std::chrono::seconds user_cache{5};           // users, tenants, qun members: re-read after this
  std::chrono::seconds quota_reload{300};       // quota rows and usage sums are re-read after this
  std::chrono::milliseconds stats_flush{1000};  // counters are written in batches this often
  std::chrono::milliseconds request_timeout{5000};  // one /app request, arrival to answer
  int password_iterations = 210000;                 // PBKDF2-HMAC-SHA256 rounds for new hashes
  size_t max_body_bytes = 1 << 20;                  // an /app request body; larger gets 413
  size_t max_names = 1000;                          // toUserNames of app/user/push; more gets 65532
  std::string static_dir = "static";  // [app] static.dir: files served under /app/static/
  bool qr_contact = false;            // [app] qr.contact: the QR page shows email and phone
  std::chrono::seconds file_expiry_every{86400};  // [app] filelink.interval: expiry job period
  size_t file_expiry_batch = 500;                 // [app] filelink.batch: rows per round
  std::chrono::seconds session_purge_every{600};  // [app] session.purge: stale session rows

  bool enabled() const { return !bind.empty(); }
  // Throws ConfigError; `db` may be empty when app.bind is not set.
  static AppConfig load(const Config& web, const Config& db);
};

}  // namespace appmsg::web::app
