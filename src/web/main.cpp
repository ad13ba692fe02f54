// appmsg-web: entry point. Loads web.conf and runs the web service (web_service.hpp) through
// the shared daemon life cycle.
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
  return appmsg::run_daemon(
      argc, argv, info, [](boost::asio::io_context& io, const appmsg::Config& config) {
        for (auto& w : appmsg::web::WebConfig::ignored_keys(config)) spdlog::warn("{}", w);
        return std::make_unique<appmsg::web::WebService>(io, appmsg::web::WebConfig::load(config));
      });
}
