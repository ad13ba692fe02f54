// Process handling shared by the daemons: command line, pid file, signals, open-file limit.
// Never exits the process itself except for --help/--version; errors are exceptions.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace appmsg {

struct CommandLine {
  std::string config_path;     // -c FILE
  std::string log_level;       // --log-level / -log_level; empty means "from the config"
  bool check_only = false;     // -t: parse the configuration and exit
  std::string db_config_path;  // -dbc FILE (web's /app API); empty when not given
  bool migrate_only = false;   // --migrate: apply the database migrations and exit (web)
};

// Parses argv. Prints usage or version and returns nullopt for --help / --version;
// throws std::invalid_argument on a bad flag.
std::optional<CommandLine> parse_command_line(int argc, char** argv, const std::string& program,
                                              const std::string& default_config);

// Writes the pid to `path` and holds an exclusive lock on it for the life of the object, so a
// second instance with the same pid file fails to start. Removes the file on destruction.
class PidFile {
 public:
  explicit PidFile(std::string path);  // throws std::runtime_error when locked or unwritable
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

// Raises RLIMIT_NOFILE's soft limit to the hard limit and logs what it got. Returns the limit.
long raise_open_file_limit();

// SIGTERM/SIGINT call on_stop (once; a second signal forces exit), SIGHUP calls on_reload.
// The handlers run on `ex`. Destroy it (or call cancel()) to stop listening.
class SignalWatcher {
 public:
  SignalWatcher(boost::asio::any_io_executor ex, std::function<void()> on_stop,
                std::function<void()> on_reload);
  ~SignalWatcher();
  void cancel();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace appmsg
