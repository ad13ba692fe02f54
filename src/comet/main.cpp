// appmsg-comet: entry point. Loads comet.conf and runs the comet service (comet_service.hpp)
// through the shared daemon life cycle.
#include <thread>

#include "comet/comet_service.hpp"
#include "common/daemon.hpp"

int main(int argc, char** argv) {
  appmsg::DaemonInfo info{"appmsg-comet", "./comet.conf", "/tmp/gopush-cluster-comet.pid", 1};
  return appmsg::run_daemon(argc, argv, info,
                            [](boost::asio::io_context& control, const appmsg::Config& config) {
                              auto cfg = appmsg::comet::CometConfig::load(config);
                              auto threads = config.get_int("base", "maxproc", 0);
                              if (threads <= 0)
                                threads = std::max(1u, std::thread::hardware_concurrency());
                              return std::make_unique<appmsg::comet::CometService>(
                                  control, std::move(cfg), static_cast<size_t>(threads));
                            });
}
