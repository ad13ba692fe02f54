// Test harness: real Redis, ZooKeeper and MariaDB servers as child processes of the test.
//
// Integration tests run in parallel under ctest, so every server gets a free loopback port and
// its own temp folder (removed by the destructor; set APPMSG_KEEP_TEMP=1 to keep it). Each
// server's stdout and stderr go to a log file in that folder, and a start() that does not
// become ready by its deadline throws std::runtime_error carrying the tail of that log.
//
// Invariants: a server object owns at most one child process; stop() signals that pid only
// (never a name), bounds the wait and reaps it; children get PR_SET_PDEATHSIG=SIGKILL, so they
// die with the test process even if it crashes. Spawn and stop from the same thread (the
// death signal follows the thread that forked; gtest runs tests on the main thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace appmsg::test {

// Binds 127.0.0.1:0, reads the port the kernel chose, closes. Another process may take the
// port before the server binds it; the servers below retry with a new port on a first start
// that fails with "Address already in use".
int free_port();

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The last max_bytes of a file ("" if it cannot be read): for error messages.
std::string tail_file(const std::string& path, size_t max_bytes = 4000);

// One child process: fork + exec with stdout and stderr appended to a log file. Also useful
// for tests that start the project's own daemons.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] (looked up in PATH) in `cwd` (unless empty). Throws if already running or if
  // fork fails; an exec failure shows up as exit status 127 with the reason in the log.
  void spawn(const std::vector<std::string>& argv, const std::string& log_path,
             const std::string& cwd = "");
  // SIGTERM, wait up to `grace`, then SIGKILL; reaps. No-op if not running.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(15));
  // Reaps the child if it has exited; false once it has.
  bool running();
  // Blocks up to `timeout` for the child to exit; its wait status, or -1 if still running.
  int wait_exit(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  // Wait status of the last exit (meaningful once running() is false).
  int exit_status() const { return status_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
};

// redis-server on 127.0.0.1:port, no persistence (a restart loses the data).
class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  void start();    // ready when PING answers +PONG; deadline 10 s
  void stop();     // SIGTERM, bounded wait, SIGKILL
  void restart();  // stop + start on the same port
  // appendonly yes (appendfsync everysec) from the next start: data survives a restart.
  void set_appendonly(bool on) { appendonly_ = on; }
  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:P"
  const std::string& log_path() const { return log_; }

 private:
  TempDir dir_;
  std::string log_;
  int port_;
  bool appendonly_ = false;
  bool started_once_ = false;
  ChildProcess proc_;
};

// A standalone ZooKeeper (QuorumPeerMain) on 127.0.0.1:port. restart() keeps its dataDir, so
// nodes and sessions survive it. minSessionTimeout is 2 s so tests may use short sessions.
class ZooKeeperServer {
 public:
  ZooKeeperServer();
  ~ZooKeeperServer();
  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  void start();  // ready when `srvr` answers with a "Mode:" line; deadline 60 s
  void stop();
  void restart();
  int port() const { return port_; }
  std::string address() const;         // "127.0.0.1:P"
  std::string connect_string() const;  // for zookeeper_init: "127.0.0.1:P"
  const std::string& log_path() const { return log_; }

 private:
  void write_config() const;

  TempDir dir_;
  std::string log_;
  int port_;
  bool started_once_ = false;
  ChildProcess proc_;
};

// mariadbd on 127.0.0.1:port with a data folder initialised once (mariadb-install-db) and kept
// across restart(). User root, no password, over TCP (host "127.0.0.1", not "localhost").
class MariaDbServer {
 public:
  MariaDbServer();
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  void start();  // first call runs mariadb-install-db; ready when root can log in; deadline 60 s
  void stop();
  void restart();
  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:P"
  std::string socket_path() const;
  const std::string& log_path() const { return log_; }

 private:
  void install();

  TempDir dir_;
  std::string data_dir_;
  std::string log_;
  int port_;
  bool installed_ = false;
  bool started_once_ = false;
  ChildProcess proc_;
};

}  // namespace appmsg::test
