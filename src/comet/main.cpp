// appmsg-comet: entry point. Loads comet.conf and runs the comet service (comet_service.hpp)
// through the shared daemon life cycle.
#include <spdlog/spdlog.h>

#include <thread>

#include "comet/comet_service.hpp"
#include "common/daemon.hpp"

int main(int argc, char** argv) {
  appmsg::DaemonInfo info;
  info.program = "appmsg-comet";
  info.default_config = "./comet.conf";
  info.default_pidfile = "/tmp/gopush-cluster-comet.pid";
  info.validate = [](const appmsg::Config& c) { appmsg::comet::CometConfig::load(c); };
  info.control_threads = 1;  // RPC, stats, ZooKeeper; clients run on their own threads
  return appmsg::run_daemon(argc, argv, info,
                            [](boost::asio::io_context& control, const appmsg::Config& config) {
                              auto cfg = appmsg::comet::CometConfig::load(config);
                              for (auto& w : appmsg::comet::CometConfig::ignored_keys(config))
                                spdlog::warn("{}", w);
                              auto threads = config.get_int("base", "maxproc", 0);
                              if (threads <= 0)
                                threads = std::max(1u, std::thread::hardware_concurrency());
                              return std::make_unique<appmsg::comet::CometService>(
                                  control, std::move(cfg), static_cast<size_t>(threads));
                            });
}
