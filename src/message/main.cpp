// appmsg-message: entry point. Loads message.conf and runs the message service
// (message_service.hpp) through the shared daemon life cycle.
#include <spdlog/spdlog.h>

#include "common/daemon.hpp"
#include "message/message_service.hpp"

int main(int argc, char** argv) {
  appmsg::DaemonInfo info;
  info.program = "appmsg-message";
  info.default_config = "./message.conf";
  info.default_pidfile = "/tmp/gopush-cluster-message.pid";
  info.validate = [](const appmsg::Config& c) { appmsg::message::MessageConfig::load(c); };
  info.control_threads = 1;  // one context; the MySQL pool has its own worker threads
  return appmsg::run_daemon(argc, argv, info,
                            [](boost::asio::io_context& io, const appmsg::Config& config) {
                              for (auto& w : appmsg::message::MessageConfig::ignored_keys(config))
                                spdlog::warn("{}", w);
                              return std::make_unique<appmsg::message::MessageService>(
                                  io, appmsg::message::MessageConfig::load(config));
                            });
}
