// appmsg-comet: entry point. Parses the command line and comet.conf and runs the daemon life cycle;
// the comet's own services are added by their issues.
#include <spdlog/spdlog.h>

#include "common/daemon.hpp"

namespace {

class CometService : public appmsg::Service {
 public:
  boost::asio::awaitable<void> start() override {
    spdlog::info("comet: configuration loaded; no services yet");
    co_return;
  }
  boost::asio::awaitable<void> stop() override { co_return; }
};

}  // namespace

int main(int argc, char** argv) {
  return appmsg::run_daemon(argc, argv,
                            {"appmsg-comet", "./comet.conf", "/tmp/gopush-cluster-comet.pid"},
                            [](boost::asio::io_context&, const appmsg::Config&) {
                              return std::make_unique<CometService>();
                            });
}
