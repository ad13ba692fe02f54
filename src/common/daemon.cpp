// The shared daemon life cycle: parse, configure, start, serve, stop.
#include "common/daemon.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <iostream>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/process.hpp"
#include "common/systemd_notify.hpp"

namespace appmsg {

namespace asio = boost::asio;

int run_daemon(int argc, char** argv, const DaemonInfo& info, MakeService make_service) {
  return run_daemon(
      argc, argv, info,
      MakeServiceWithDb([make = std::move(make_service)](asio::io_context& io, const Config& c,
                                                         const Config&) { return make(io, c); }));
}

namespace {

// The db.conf of -dbc, else ./db.conf when it exists, else an empty configuration.
Config load_db_config(const CommandLine& cli) {
  if (!cli.db_config_path.empty()) return Config::load_file(cli.db_config_path);
  if (::access("./db.conf", R_OK) == 0) return Config::load_file("./db.conf");
  return Config();
}

}  // namespace

int run_daemon(int argc, char** argv, const DaemonInfo& info, MakeServiceWithDb make_service) {
  std::optional<CommandLine> cli;
  try {
    cli = parse_command_line(argc, argv, info.program, info.default_config);
  } catch (const std::exception& e) {
    std::cerr << info.program << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  if (!cli) return 0;

  Config config, db;
  try {
    config = Config::load_file(cli->config_path);
    // Read every shared key now so that a malformed value stops start-up.
    config.get_string("log", "level", "info");
    config.get_int("base", "maxproc", 0);
    config.get_string("base", "pidfile", info.default_pidfile);
    config.get_string("base", "dir", "./");
    if (info.validate) info.validate(config);
    if (info.reads_db_config) {
      db = load_db_config(*cli);
      if (info.validate_db) info.validate_db(config, db);
    }
  } catch (const ConfigError& e) {
    std::cerr << info.program << ": " << e.what() << "\n";
    return 2;
  }
  if (cli->check_only) {
    std::cout << info.program << ": configuration " << cli->config_path << " is valid\n";
    return 0;
  }

  init_logging(info.program,
               cli->log_level.empty() ? config.get_string("log", "level", "info") : cli->log_level);
  spdlog::info("{} {} starting with {}", info.program, APPMSG_VERSION, cli->config_path);
  raise_open_file_limit();
  if (!info.reads_db_config && !cli->db_config_path.empty()) {
    spdlog::warn("-dbc {} is ignored: {} has no database", cli->db_config_path, info.program);
  }
  if (cli->migrate_only) {
    if (!info.migrate) {
      spdlog::critical("--migrate: {} has no database to migrate", info.program);
      return 2;
    }
    return info.migrate(config, db);
  }

  int threads = static_cast<int>(config.get_int("base", "maxproc", 0));
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (info.control_threads > 0) threads = info.control_threads;
  asio::io_context io(threads);
  SystemdNotifier systemd(io.get_executor());

  std::unique_ptr<Service> service;
  bool started = false;   // start() has returned
  bool stopping = false;  // a stop was asked for
  int status = 0;
  auto stop_service = [&] {
    stopping = true;
    systemd.stopping();
    if (!service || !started) return;  // the start-up loop below sees `stopping`
    asio::co_spawn(io, service->stop(), [&](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("stop failed: {}", ex.what());
          status = 1;
        }
      }
      io.stop();
    });
  };
  // Signals are handled from before the pid file exists: a supervisor may signal as soon as
  // the file appears.
  SignalWatcher signals(io.get_executor(), stop_service, [&] {
    systemd.reloading();
    try {
      Config fresh = Config::load_file(cli->config_path);
      if (cli->log_level.empty()) set_log_level(fresh.get_string("log", "level", "info"));
      if (service) service->reload(fresh);
    } catch (const std::exception& e) {
      spdlog::error("reload failed, keeping the running configuration: {}", e.what());
    }
    if (started && !stopping) systemd.ready("serving");
  });

  // The working directory and the pid file come first: a second instance stops here, before it
  // has bound anything or joined the cluster.
  std::string dir = config.get_string("base", "dir", "./");
  if (!dir.empty() && ::chdir(dir.c_str()) != 0) {
    spdlog::warn("chdir {}: {}", dir, std::strerror(errno));
  }
  std::unique_ptr<PidFile> pidfile;
  try {
    pidfile = std::make_unique<PidFile>(config.get_string("base", "pidfile", info.default_pidfile));
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }

  try {
    service = make_service(io, config, db);
    std::exception_ptr start_error;
    bool start_done = false;
    asio::co_spawn(io, service->start(), [&](std::exception_ptr e) {
      start_error = e;
      start_done = true;
    });
    // Run on this thread only until start() has finished (its listeners are up).
    while (!start_done && io.run_one() > 0) {
    }
    if (io.stopped()) io.restart();
    if (start_error) std::rethrow_exception(start_error);
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  started = true;
  if (stopping) {
    stop_service();  // a signal arrived during start-up
  } else {
    systemd.ready("serving");
  }

  std::vector<std::thread> pool;
  // A handler that throws is a bug: it is logged and the context keeps serving.
  auto run = [&io] {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::critical("unhandled exception: {}", e.what());
      }
    }
  };
  for (int i = 1; i < threads; ++i) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
  spdlog::info("{} stopped", info.program);
  spdlog::default_logger()->flush();
  return status;
}

}  // namespace appmsg
