// appmsg-web: entry point. Loads web.conf (and db.conf for the /app API) and runs the web service
// (web_service.hpp) through the shared daemon life cycle.
#include <spdlog/spdlog.h>

#include "common/daemon.hpp"
#include "web/web_service.hpp"

int main(int argc, char** argv) {
  appmsg::DaemonInfo info;
  info.program = "appmsg-web";
  info.default_config = "./web.conf";
  info.default_pidfile = "/tmp/gopush-cluster-web.pid";
  info.validate = [](const appmsg::Config& c) { appmsg::web::WebConfig::load(c); };
  info.control_threads = 1;  // one event loop; scale out with more web nodes
  info.reads_db_config = true;
  info.validate_db = [](const appmsg::Config& c, const appmsg::Config& db) {
    appmsg::web::app::AppConfig::load(c, db);
  };
  info.migrate = appmsg::web::app::migrate_command;
  return appmsg::run_daemon(
      argc, argv, info,
      appmsg::MakeServiceWithDb(
          [](boost::asio::io_context& io, const appmsg::Config& config, const appmsg::Config& db) {
            for (auto& w : appmsg::web::WebConfig::ignored_keys(config)) spdlog::warn("{}", w);
            return std::make_unique<appmsg::web::WebService>(
                io, appmsg::web::WebConfig::load(config),
                appmsg::web::app::AppConfig::load(config, db));
          }));
}
