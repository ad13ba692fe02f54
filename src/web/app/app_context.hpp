// What the /app handlers share: settings, the web node's comets, the database, Redis, the
// directory caches, tokens, sessions, quotas and counters. Owned by AppService and outliving
// every request; used on web's one event-loop thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/mysql_pool.hpp"
#include "common/redis_shards.hpp"
#include "web/app/app_config.hpp"
#include "web/app/directory.hpp"
#include "web/app/quotas.hpp"
#include "web/app/session_store.hpp"
#include "web/app/tokens.hpp"
#include "web/web_context.hpp"

namespace appmsg::web::app {

struct AppStats {
  std::map<std::string, std::map<int, uint64_t>> answers;  // route -> ret -> count
  uint64_t fanouts = 0, copies = 0, copy_failures = 0, internal_errors = 0;
  uint64_t files_deleted = 0, file_delete_failures = 0, sessions_purged = 0;  // background jobs
  uint64_t store_errors = 0;  // MySQL/Redis failures handled by a handler (note_store_failure)
  std::chrono::steady_clock::time_point last_store_error_log{};
};

struct AppContext {
  AppConfig config;
  WebContext* web = nullptr;
  mysql::Pool* db = nullptr;
  Directory* directory = nullptr;
  Tokens* tokens = nullptr;
  SessionStore* sessions = nullptr;
  Quotas* quotas = nullptr;
  boost::asio::thread_pool* hashing = nullptr;   // password hashes, off the event loop
  size_t hashing_jobs = 0;                       // waiting or running there
  static constexpr size_t kMaxHashingJobs = 32;  // beyond: logins answer 65535 at once
  AppStats stats;
};

}  // namespace appmsg::web::app
