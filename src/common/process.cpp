// Process handling: command line, pid file (with a lock), signals on Asio, RLIMIT_NOFILE.
#include "common/process.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string_view>

namespace appmsg {

namespace po = boost::program_options;

std::optional<CommandLine> parse_command_line(int argc, char** argv, const std::string& program,
                                              const std::string& default_config) {
  po::options_description desc("Usage: " + program + " [-c FILE] [options]");
  CommandLine cli;
  desc.add_options()("help,h", "print this help and exit")("version,v",
                                                           "print the version and exit")(
      "config,c", po::value(&cli.config_path)->default_value(default_config),
      "configuration file (goconf format)")(
      "log-level", po::value(&cli.log_level),
      "trace, debug, info, warn, error or off (overrides [log] level)")(
      "log_level", po::value(&cli.log_level), "same as --log-level (the original's spelling)")(
      "test,t", po::bool_switch(&cli.check_only), "check the configuration and exit")(
      "dbc", po::value(&cli.db_config_path),
      "web: the MySQL configuration of the /app API (the original's -dbc)")(
      "migrate", po::bool_switch(&cli.migrate_only),
      "web: apply the /app database migrations and exit");
  po::variables_map vm;
  try {
    // allow_long_disguise accepts the original's single-dash flags (-log_level=debug).
    auto style =
        po::command_line_style::default_style | po::command_line_style::allow_long_disguise;
    po::store(po::command_line_parser(argc, argv).options(desc).style(style).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::invalid_argument(e.what());
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return std::nullopt;
  }
  if (vm.count("version")) {
    std::cout << program << " " << APPMSG_VERSION << "\n";
    return std::nullopt;
  }
  return cli;
}

PidFile::PidFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error("pid file " + path_ + ": " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("pid file " + path_ + " is locked: another instance is running");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    throw std::runtime_error("pid file " + path_ + ": " + std::strerror(errno));
  }
}

PidFile::~PidFile() {
  if (fd_ >= 0) {
    ::unlink(path_.c_str());
    ::close(fd_);
  }
}

long raise_open_file_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    spdlog::warn("getrlimit(RLIMIT_NOFILE): {}", std::strerror(errno));
    return -1;
  }
  rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      spdlog::warn("setrlimit(RLIMIT_NOFILE, {}): {}", rl.rlim_max, std::strerror(errno));
      rl.rlim_cur = before;
    }
  }
  spdlog::info("open file limit: {} (was {}, hard limit {})", rl.rlim_cur, before, rl.rlim_max);
  return static_cast<long>(rl.rlim_cur);
}

struct SignalWatcher::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::any_io_executor ex) : signals(ex, SIGTERM, SIGINT, SIGHUP) {}
  boost::asio::signal_set signals;
  std::function<void()> on_stop, on_reload;
  bool stopping = false;

  void wait() {
    signals.async_wait([self = shared_from_this()](boost::system::error_code ec, int sig) {
      if (ec) return;  // cancelled
      if (sig == SIGHUP) {
        spdlog::info("SIGHUP: reloading");
        if (self->on_reload) self->on_reload();
      } else if (self->stopping) {
        spdlog::warn("second {} during shutdown: exiting now", strsignal(sig));
        std::_Exit(1);
      } else {
        spdlog::info("{}: stopping gracefully", strsignal(sig));
        self->stopping = true;
        if (self->on_stop) self->on_stop();
      }
      self->wait();
    });
  }
};

SignalWatcher::SignalWatcher(boost::asio::any_io_executor ex, std::function<void()> on_stop,
                             std::function<void()> on_reload)
    : impl_(std::make_shared<Impl>(ex)) {
  impl_->on_stop = std::move(on_stop);
  impl_->on_reload = std::move(on_reload);
  impl_->wait();
}

SignalWatcher::~SignalWatcher() {
  cancel();
}

void SignalWatcher::cancel() {
  boost::system::error_code ec;
  impl_->signals.cancel(ec);
}

}  // namespace appmsg
