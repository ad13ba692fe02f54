// The start-up and shutdown sequence every daemon shares: command line, configuration, logging,
// open-file limit, pid file, signals, and one io_context run by `[base] maxproc` threads.
// A daemon supplies only what it starts and how it stops.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/config.hpp"

namespace appmsg {

// What a daemon does once its configuration is loaded. start() runs on the io_context before
// the pid file is written (throw to abort start-up); stop() runs on SIGTERM/SIGINT, and the
// io_context is stopped when it returns; reload() runs on SIGHUP with the re-read configuration.
class Service {
 public:
  virtual ~Service() = default;
  virtual boost::asio::awaitable<void> start() = 0;
  virtual boost::asio::awaitable<void> stop() = 0;
  virtual void reload(const Config&) {}
};

struct DaemonInfo {
  std::string program;          // "appmsg-comet"
  std::string default_config;   // "./comet.conf"
  std::string default_pidfile;  // "/tmp/gopush-cluster-comet.pid"
  // Reads the daemon's own keys; throws ConfigError (so -t and start-up report bad values with
  // file and line, exit status 2).
  std::function<void(const Config&)> validate;
  int control_threads = 0;  // threads running the main io_context; 0 = [base] maxproc
  // Web: a second file, the original's db.conf (-dbc FILE, else ./db.conf when it exists; an
  // empty configuration when neither), checked by validate_db (throws ConfigError).
  bool reads_db_config = false;
  std::function<void(const Config& config, const Config& db)> validate_db;
  // --migrate: runs instead of the daemon; returns the exit status.
  std::function<int(const Config& config, const Config& db)> migrate;
};

using MakeService =
    std::function<std::unique_ptr<Service>(boost::asio::io_context&, const Config&)>;
using MakeServiceWithDb = std::function<std::unique_ptr<Service>(
    boost::asio::io_context&, const Config& config, const Config& db)>;

// Runs the daemon; returns the process exit status.
int run_daemon(int argc, char** argv, const DaemonInfo& info, MakeService make_service);
int run_daemon(int argc, char** argv, const DaemonInfo& info, MakeServiceWithDb make_service);

}  // namespace appmsg
