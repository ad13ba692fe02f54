// The built daemons as child processes: --version, -t, configuration errors (exit status 2 with
// FILE:LINE on stderr), and the life cycle of a running daemon (pid file written, SIGTERM stops
// it with status 0 and removes the pid file, a second instance on the same pid file fails, the
// systemd notifications of a Type=notify unit with a watchdog).
//
// The binaries' paths come from CMake (APPMSG_*_BIN). One-shot runs capture stdout and stderr
// separately; long runs use test::ChildProcess, whose children die with the test.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/async.hpp"
#include "support/servers.hpp"

extern char** environ;

namespace appmsg {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or still running at the deadline
  std::string out;
  std::string err;
};

// Runs argv to completion (killed after `timeout`) with stdout and stderr in separate files.
RunResult run(const std::vector<std::string>& argv, const std::string& dir,
              std::chrono::milliseconds timeout = 20s) {
  static int counter = 0;
  const std::string base = dir + "/run" + std::to_string(++counter);
  const std::string out_path = base + ".out", err_path = base + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  RunResult result;
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << argv[0] << " still running after the deadline";
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

class DaemonCliTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  // A configuration the comet starts with: pid file and working folder in dir_, every listener
  // on a free loopback port (parallel-safe, and a second instance gets as far as the pid
  // file), ZooKeeper on a closed port (the comet connects in the background).
  std::string valid_config(const std::string& name = "comet.conf", int tcp_port = 0) {
    const std::string conf = path(name);
    write_file(conf,
               "# test configuration\n[base]\nmaxproc 2\npidfile " + path("comet.pid") + "\ndir " +
                   dir_.path() + "\ntcp.bind 127.0.0.1:" + std::to_string(tcp_port) +
                   "\nwebsocket.bind 127.0.0.1:0\n"
                   "rpc.bind 127.0.0.1:0\nstat.bind 127.0.0.1:0\n\n"
                   "[zookeeper]\naddr 127.0.0.1:" +
                   std::to_string(test::free_port()) + "\ntimeout 2s\n\n[log]\nlevel debug\n");
    return conf;
  }

  test::TempDir dir_;
};

TEST_F(DaemonCliTest, VersionPrintsTheVersionAndExitsZero) {
  const std::vector<std::pair<std::string, std::string>> daemons = {
      {APPMSG_COMET_BIN, "appmsg-comet"},
      {APPMSG_MESSAGE_BIN, "appmsg-message"},
      {APPMSG_WEB_BIN, "appmsg-web"},
  };
  for (auto& [bin, name] : daemons) {
    auto r = run({bin, "--version"}, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_EQ(r.out, name + " " + APPMSG_VERSION + "\n");
  }
}

TEST_F(DaemonCliTest, CheckOnlyWithAValidConfigExitsZero) {
  const auto conf = valid_config();
  auto r = run({APPMSG_COMET_BIN, "-t", "-c", conf}, dir_.path());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(conf), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("comet.pid"))) << "-t must not write the pid file";
}

TEST_F(DaemonCliTest, MalformedValueExitsTwoNamingFileAndLine) {
  const auto conf = path("bad_value.conf");
  write_file(conf, "[base]\nmaxproc four\n");
  auto r = run({APPMSG_COMET_BIN, "-t", "-c", conf}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(conf + ":2"), std::string::npos) << r.err;
  // Without -t too: the value is checked before anything starts.
  auto started = run({APPMSG_COMET_BIN, "-c", conf}, dir_.path());
  EXPECT_EQ(started.exit_code, 2) << started.out << started.err;
  EXPECT_NE(started.err.find(conf + ":2"), std::string::npos) << started.err;
}

TEST_F(DaemonCliTest, UnterminatedSectionExitsTwoNamingFileAndLine) {
  const auto conf = path("unterminated.conf");
  write_file(conf, "# comment\n[base\nmaxproc 1\n");
  auto r = run({APPMSG_COMET_BIN, "-c", conf}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(conf + ":2"), std::string::npos) << r.err;
}

TEST_F(DaemonCliTest, MissingConfigFileExitsTwo) {
  const auto conf = path("does-not-exist.conf");
  auto r = run({APPMSG_COMET_BIN, "-c", conf}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(conf), std::string::npos) << r.err;
}

TEST_F(DaemonCliTest, UnknownFlagExitsTwo) {
  auto r = run({APPMSG_COMET_BIN, "--no-such-flag"}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("no-such-flag"), std::string::npos) << r.err;
}

TEST_F(DaemonCliTest, RunsUntilSigtermThenExitsZeroAndRemovesThePidFile) {
  const auto conf = valid_config();
  const auto pidfile = path("comet.pid");
  test::ChildProcess daemon;
  daemon.spawn({APPMSG_COMET_BIN, "-c", conf}, path("comet.log"));
  ASSERT_TRUE(test::eventually(
      [&] { return read_file(pidfile) == std::to_string(daemon.pid()) + "\n"; }, 20s))
      << "no pid file; log:\n"
      << test::tail_file(path("comet.log"));

  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(daemon.running()) << "the daemon must keep running until signalled";

  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  int status = daemon.wait_exit(20s);
  ASSERT_NE(status, -1) << "still running after SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status << "; log:\n"
                                 << test::tail_file(path("comet.log"));
  EXPECT_EQ(WEXITSTATUS(status), 0) << test::tail_file(path("comet.log"));
  EXPECT_FALSE(fs::exists(pidfile));
}

// A supervisor may signal the moment the pid file appears: SIGTERM must already be handled
// then (a stop by the default action would exit on the signal and leave the pid file behind).
TEST_F(DaemonCliTest, SigtermAsSoonAsThePidFileAppearsStopsCleanly) {
  const auto conf = valid_config();
  const auto pidfile = path("comet.pid");
  for (int i = 0; i < 20; ++i) {
    test::ChildProcess daemon;
    daemon.spawn({APPMSG_COMET_BIN, "-c", conf}, path("comet.log"));
    const std::string expected = std::to_string(daemon.pid()) + "\n";
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (read_file(pidfile) != expected) {  // busy: signal as early as possible
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << test::tail_file(path("comet.log"));
    }
    ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
    int status = daemon.wait_exit(20s);
    ASSERT_TRUE(WIFEXITED(status)) << "round " << i << ": wait status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << "round " << i;
    ASSERT_FALSE(fs::exists(pidfile)) << "round " << i;
  }
}

TEST_F(DaemonCliTest, SecondInstanceWithTheSamePidFileFails) {
  const auto conf = valid_config();
  const auto pidfile = path("comet.pid");
  test::ChildProcess first;
  first.spawn({APPMSG_COMET_BIN, "-c", conf}, path("first.log"));
  ASSERT_TRUE(test::eventually(
      [&] { return read_file(pidfile) == std::to_string(first.pid()) + "\n"; }, 20s))
      << test::tail_file(path("first.log"));

  auto second = run({APPMSG_COMET_BIN, "-c", conf}, dir_.path());
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.exit_code, -1) << "the second instance must exit, not hang or crash";
  EXPECT_NE((second.out + second.err).find("locked"), std::string::npos)
      << "it must fail on the pid file, not on something else:\n"
      << second.out << second.err;
  EXPECT_TRUE(first.running());
  EXPECT_EQ(read_file(pidfile), std::to_string(first.pid()) + "\n")
      << "the failed instance must leave the first one's pid file alone";

  first.stop();
  EXPECT_TRUE(WIFEXITED(first.exit_status()));
  EXPECT_EQ(WEXITSTATUS(first.exit_status()), 0);
}

// The web daemon: it serves without ZooKeeper (1001 until comets appear), stops on SIGTERM
// with status 0 and removes its pid file; the CN router and bad values stop start-up.
TEST_F(DaemonCliTest, WebRunsWithoutZooKeeperAndStopsOnSigterm) {
  const auto conf = path("web.conf");
  const auto pidfile = path("web.pid");
  write_file(conf, "[base]\npidfile " + pidfile + "\ndir " + dir_.path() +
                       "\nhttp.bind 127.0.0.1:0\nadmin.bind 127.0.0.1:0\nstat.bind 127.0.0.1:0\n"
                       "[zookeeper]\naddr 127.0.0.1:" +
                       std::to_string(test::free_port()) + "\ntimeout 2s\n");
  EXPECT_EQ(run({APPMSG_WEB_BIN, "-t", "-c", conf}, dir_.path()).exit_code, 0);
  test::ChildProcess daemon;
  daemon.spawn({APPMSG_WEB_BIN, "-c", conf}, path("web.log"));
  ASSERT_TRUE(test::eventually(
      [&] { return read_file(pidfile) == std::to_string(daemon.pid()) + "\n"; }, 20s))
      << test::tail_file(path("web.log"));
  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  int status = daemon.wait_exit(20s);
  ASSERT_NE(status, -1) << "still running after SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << test::tail_file(path("web.log"));
  EXPECT_EQ(WEXITSTATUS(status), 0) << test::tail_file(path("web.log"));
  EXPECT_FALSE(fs::exists(pidfile));

  const auto cn = path("cn.conf");
  write_file(cn, "[base]\nrouter CN\n");
  auto r = run({APPMSG_WEB_BIN, "-t", "-c", cn}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("not supported"), std::string::npos) << r.err;
}

// The datagram socket systemd gives a Type=notify service in NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    EXPECT_LT(path.size(), sizeof addr.sun_path) << path;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ADD_FAILURE() << "notify socket " << path << ": " << std::strerror(errno);
    }
  }
  ~NotifySocket() { ::close(fd_); }
  const std::string& path() const { return path_; }

  // The next message, or "" when none came within `timeout`.
  std::string receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // The next message other than a watchdog ping (counted in `pings`), or "" after `timeout`.
  std::string next_state(std::chrono::milliseconds timeout, int* pings = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      std::string m = receive(left);
      if (m != "WATCHDOG=1") return m;
      if (pings) ++*pings;
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// As a Type=notify unit with WatchdogSec=: READY=1 once the listeners accept (not before), a
// WATCHDOG=1 ping at half of WATCHDOG_USEC, RELOADING=1 then READY=1 around a SIGHUP, and
// STOPPING=1 on SIGTERM before a clean exit.
TEST_F(DaemonCliTest, NotifiesSystemdOfReadyReloadAndStopAndPingsTheWatchdog) {
  const int tcp_port = test::free_port();
  const auto conf = valid_config("comet.conf", tcp_port);
  NotifySocket notify(path("notify.sock"));
  test::ChildProcess daemon;
  // (-u WATCHDOG_PID: a test run under a systemd unit with a watchdog inherits that unit's.)
  daemon.spawn({"env", "-u", "WATCHDOG_PID", "NOTIFY_SOCKET=" + notify.path(),
                "WATCHDOG_USEC=400000", APPMSG_COMET_BIN, "-c", conf},
               path("comet.log"));

  int pings = 0;
  std::string state = notify.next_state(20s, &pings);
  ASSERT_TRUE(state.starts_with("READY=1\n")) << state << "\n"
                                              << test::tail_file(path("comet.log"));
  EXPECT_EQ(pings, 0) << "no watchdog ping before READY=1";
  EXPECT_TRUE(accepts(tcp_port)) << "READY=1 before the TCP listener accepts";

  // 200 ms apart: five pings within a bounded wait (they stop only if the event loop does).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (pings < 5 && std::chrono::steady_clock::now() < deadline) {
    if (notify.receive(2s) == "WATCHDOG=1") ++pings;
  }
  EXPECT_EQ(pings, 5) << test::tail_file(path("comet.log"));

  ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
  state = notify.next_state(10s);
  EXPECT_TRUE(state.starts_with("RELOADING=1\nMONOTONIC_USEC=")) << state;
  state = notify.next_state(10s);
  EXPECT_TRUE(state.starts_with("READY=1\n")) << state;

  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  EXPECT_EQ(notify.next_state(10s), "STOPPING=1");
  int status = daemon.wait_exit(20s);
  ASSERT_TRUE(WIFEXITED(status)) << test::tail_file(path("comet.log"));
  EXPECT_EQ(WEXITSTATUS(status), 0) << test::tail_file(path("comet.log"));
}

}  // namespace
}  // namespace appmsg
