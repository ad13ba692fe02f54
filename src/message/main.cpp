// appmsg-message: entry point. Parses the command line and message.conf and runs the daemon life
// cycle; the message's own services are added by their issues.
#include <spdlog/spdlog.h>

#include "common/daemon.hpp"

namespace {

class MessageService : public appmsg::Service {
 public:
  boost::asio::awaitable<void> start() override {
    spdlog::info("message: configuration loaded; no services yet");
    co_return;
  }
  boost::asio::awaitable<void> stop() override { co_return; }
};

}  // namespace

int main(int argc, char** argv) {
  appmsg::DaemonInfo info;
  info.program = "appmsg-message";
  info.default_config = "./message.conf";
  info.default_pidfile = "/tmp/gopush-cluster-message.pid";
  return appmsg::run_daemon(argc, argv, info, [](boost::asio::io_context&, const appmsg::Config&) {
    return std::make_unique<MessageService>();
  });
}
