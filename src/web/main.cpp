// appmsg-web: entry point. Parses the command line and web.conf and runs the daemon life cycle;
// the web's own services are added by their issues.
#include <spdlog/spdlog.h>

#include "common/daemon.hpp"

namespace {

class WebService : public appmsg::Service {
 public:
  boost::asio::awaitable<void> start() override {
    spdlog::info("web: configuration loaded; no services yet");
    co_return;
  }
  boost::asio::awaitable<void> stop() override { co_return; }
};

}  // namespace

int main(int argc, char** argv) {
  appmsg::DaemonInfo info;
  info.program = "appmsg-web";
  info.default_config = "./web.conf";
  info.default_pidfile = "/tmp/gopush-cluster-web.pid";
  return appmsg::run_daemon(argc, argv, info, [](boost::asio::io_context&, const appmsg::Config&) {
    return std::make_unique<WebService>();
  });
}
