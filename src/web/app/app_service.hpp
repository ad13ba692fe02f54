// The /app API's parts and their order of start and stop, inside the web daemon.
//
// Start: the database migrations (schema.hpp; start-up fails when they do), Redis, the quota
// load, then the listeners on [base] app.bind. Stop: the listeners finish what is in flight,
// then the counters are written a last time and Redis stops. Everything runs on web's event
// loop except MySQL calls (the pool's workers) and password hashes (one hashing thread).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/http_server.hpp"
#include "web/app/app_context.hpp"
#include "web/app/background_jobs.hpp"

namespace appmsg::web::app {

class AppService {
 public:
  AppService(boost::asio::any_io_executor ex, AppConfig config, WebContext& web);
  ~AppService();
  boost::asio::awaitable<void> start();
  boost::asio::awaitable<void> stop();
  const std::vector<std::string>& addresses() const { return addresses_; }
  AppContext& context() { return ctx_; }

 private:
  std::string metrics() const;

  boost::asio::any_io_executor ex_;
  AppContext ctx_;
  boost::asio::thread_pool hashing_{1};
  std::unique_ptr<mysql::Pool> db_;
  std::unique_ptr<RedisShards> redis_;
  std::unique_ptr<Directory> directory_;
  std::unique_ptr<Tokens> tokens_;
  std::unique_ptr<SessionStore> sessions_;
  std::unique_ptr<Quotas> quotas_;
  std::unique_ptr<BackgroundJobs> jobs_;
  std::shared_ptr<HttpRouter> router_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::string> addresses_;
};

// `appmsg-web --migrate`: applies the migrations of web.conf + db.conf's database; the exit
// status.
int migrate_command(const Config& web, const Config& db);

}  // namespace appmsg::web::app
