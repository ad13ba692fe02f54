// Test harness: spawns and supervises real Redis, ZooKeeper and MariaDB servers.
//
// Owns: one child process per server object and a temp folder with its data and log. The
// child is forked from the calling thread; between fork and exec it only calls
// async-signal-safe functions (everything it needs is prepared before fork). Readiness is
// probed over loopback TCP with short per-probe timeouts inside an overall deadline; a child
// that exits while we wait fails the start at once, with the tail of its log.
#include "support/servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace appmsg::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr seconds kRedisReadyTimeout{10};      // starts in well under a second
constexpr seconds kZooKeeperReadyTimeout{60};  // JVM start on a loaded 2-core machine
constexpr seconds kMariaDbReadyTimeout{60};    // InnoDB recovery after an unclean stop
constexpr seconds kMariaDbInstallTimeout{120};
constexpr milliseconds kProbeTimeout{1000};  // one readiness probe
constexpr int kBindAttempts = 3;             // first start only: a new port per attempt

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string log_since(const std::string& path, std::uintmax_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::uintmax_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

// Looks `name` up in PATH (as execvp would) so the child can call execv.
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin";  // mariadbd lives in /usr/sbin
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  throw std::runtime_error("program not found in PATH: " + name);
}

// Connects to 127.0.0.1:port within `timeout`; -1 on failure. The socket is non-blocking.
int connect_loopback(int port, milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

// Sends `request` and reads until EOF, `done(reply)` or the timeout. "" if it cannot connect.
std::string tcp_exchange(int port, const std::string& request,
                         const std::function<bool(const std::string&)>& done) {
  auto deadline = Clock::now() + kProbeTimeout;
  int fd = connect_loopback(port, kProbeTimeout);
  if (fd < 0) return {};
  std::string reply;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buf[4096];
    while (!done(reply)) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

bool redis_answers_ping(int port) {
  auto reply = tcp_exchange(
      port, "PING\r\n", [](const std::string& r) { return r.find("\r\n") != std::string::npos; });
  return reply.rfind("+PONG", 0) == 0;
}

bool zookeeper_serving(int port) {
  // The server closes the connection after answering; "Mode:" is absent until it serves.
  auto reply = tcp_exchange(port, "srvr", [](const std::string&) { return false; });
  return reply.find("Mode:") != std::string::npos;
}

bool mariadb_accepts_root(int port) {
  int fd = connect_loopback(port, kProbeTimeout);
  if (fd < 0) return false;
  ::close(fd);
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
  MYSQL* m = mysql_init(nullptr);
  if (!m) return false;
  unsigned timeout_s = 2;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout_s);
  bool ok = mysql_real_connect(m, "127.0.0.1", "root", "", nullptr, static_cast<unsigned>(port),
                               nullptr, 0) != nullptr;
  mysql_close(m);
  return ok;
}

// Waits until probe() holds, the child exits, or the deadline passes (then stops the child).
void wait_ready(ChildProcess& proc, const std::string& what, const std::string& log,
                seconds timeout, const std::function<bool()>& probe) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!proc.running()) {
      throw std::runtime_error(what + " exited during start-up (wait status " +
                               std::to_string(proc.exit_status()) + "); log " + log +
                               " ends with:\n" + tail_file(log));
    }
    if (probe()) return;
    if (Clock::now() >= deadline) {
      proc.stop();
      throw std::runtime_error(what + " not ready after " + std::to_string(timeout.count()) +
                               " s; log " + log + " ends with:\n" + tail_file(log));
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// Runs launch() (which spawns with the current port) and waits for readiness. On the very first
// start a bind conflict (another process took our free port) is retried on a fresh port; a
// restart must keep its port, so it is not retried.
void start_server(ChildProcess& proc, bool& started_once, int& port, const std::string& name,
                  const std::string& log, seconds timeout, const std::function<void()>& launch,
                  const std::function<bool()>& probe) {
  if (proc.running()) return;
  for (int attempt = 1;; ++attempt) {
    auto offset = file_size_or_zero(log);
    launch();
    try {
      wait_ready(proc, name + " on 127.0.0.1:" + std::to_string(port), log, timeout, probe);
      started_once = true;
      return;
    } catch (const std::runtime_error&) {
      bool bind_conflict =
          log_since(log, offset).find("Address already in use") != std::string::npos;
      if (started_once || !bind_conflict || attempt >= kBindAttempts) throw;
      proc.stop();
      port = free_port();
    }
  }
}

}  // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    throw_errno("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---- TempDir ----

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/appmsg-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw_errno("mkdtemp " + tmpl);
  path_ = buf.data();
}

TempDir::~TempDir() {
  const char* keep = std::getenv("APPMSG_KEEP_TEMP");
  if (keep && *keep && std::string(keep) != "0") return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string tail_file(const std::string& path, size_t max_bytes) {
  auto size = file_size_or_zero(path);
  return log_since(path, size > max_bytes ? size - max_bytes : 0);
}

// ---- ChildProcess ----

ChildProcess::~ChildProcess() {
  stop();
}

void ChildProcess::spawn(const std::vector<std::string>& argv, const std::string& log_path,
                         const std::string& cwd) {
  if (running()) throw std::logic_error("ChildProcess::spawn: already running");
  if (argv.empty()) throw std::invalid_argument("ChildProcess::spawn: empty argv");
  // Everything the child needs is prepared here: after fork only async-signal-safe calls.
  std::string program = resolve_program(argv[0]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw_errno("open " + log_path);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    ::close(log_fd);
    throw_errno("open /dev/null");
  }
  const char* dir = cwd.empty() ? nullptr : cwd.c_str();
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(null_fd);
    throw_errno("fork");
  }
  if (pid == 0) {
    // Child. Die with the parent (thread), even if it is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // parent already gone
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    // Do not leak the test's sockets (listeners, client connections) into the server.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 65536; ++fd) ::close(fd);
    }
    if (dir && ::chdir(dir) != 0) {
      static const char msg[] = "ChildProcess: chdir failed\n";
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      ::_exit(127);
    }
    ::execv(program.c_str(), args.data());
    static const char msg[] = "ChildProcess: exec failed\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  pid_ = pid;
  status_ = 0;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) status_ = status;
  pid_ = -1;  // exited and reaped (or not our child any more)
  return false;
}

int ChildProcess::wait_exit(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return status_;
}

void ChildProcess::stop(milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  if (wait_exit(grace) != -1) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
  pid_ = -1;
}

// ---- RedisServer ----

RedisServer::RedisServer() : log_(dir_.path() + "/redis.log"), port_(free_port()) {}

RedisServer::~RedisServer() {
  stop();
}

void RedisServer::start() {
  start_server(
      proc_, started_once_, port_, "redis-server", log_, kRedisReadyTimeout,
      [this] {
        proc_.spawn(
            {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", appendonly_ ? "yes" : "no", "--dir", dir_.path()},
            log_, dir_.path());
      },
      [this] { return redis_answers_ping(port_); });
}

void RedisServer::stop() {
  proc_.stop(seconds(10));
}

void RedisServer::restart() {
  stop();
  start();
}

std::string RedisServer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

// ---- ZooKeeperServer ----

ZooKeeperServer::ZooKeeperServer() : log_(dir_.path() + "/zookeeper.log"), port_(free_port()) {
  fs::create_directories(dir_.path() + "/data");
}

ZooKeeperServer::~ZooKeeperServer() {
  stop();
}

void ZooKeeperServer::write_config() const {
  std::ofstream cfg(dir_.path() + "/zoo.cfg", std::ios::trunc);
  cfg << "tickTime=2000\n"
      << "dataDir=" << dir_.path() << "/data\n"
      << "clientPort=" << port_ << "\n"
      << "clientPortAddress=127.0.0.1\n"
      << "admin.enableServer=false\n"
      << "4lw.commands.whitelist=*\n"
      << "minSessionTimeout=2000\n"
      << "forceSync=no\n";  // tests need no fsync per write; data survives a process restart
  if (!cfg) throw std::runtime_error("cannot write " + dir_.path() + "/zoo.cfg");
}

void ZooKeeperServer::start() {
  start_server(
      proc_, started_once_, port_, "zookeeper", log_, kZooKeeperReadyTimeout,
      [this] {
        write_config();
        // slf4j-simple first on the class path so the server logs to stderr (the log file);
        // otherwise SLF4J may bind its no-op logger and the log stays empty.
        proc_.spawn({"java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
                     "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar:"
                     "/usr/share/java/*",
                     "org.apache.zookeeper.server.quorum.QuorumPeerMain", dir_.path() + "/zoo.cfg"},
                    log_, dir_.path());
      },
      [this] { return zookeeper_serving(port_); });
}

void ZooKeeperServer::stop() {
  proc_.stop(seconds(15));
}

void ZooKeeperServer::restart() {
  stop();
  start();
}

std::string ZooKeeperServer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string ZooKeeperServer::connect_string() const {
  return address();
}

// ---- MariaDbServer ----

MariaDbServer::MariaDbServer()
    : data_dir_(dir_.path() + "/data"), log_(dir_.path() + "/mariadb.log"), port_(free_port()) {}

MariaDbServer::~MariaDbServer() {
  stop();
}

std::string MariaDbServer::socket_path() const {
  return data_dir_ + "/sock";
}

void MariaDbServer::install() {
  std::string install_log = dir_.path() + "/install.log";
  ChildProcess installer;
  installer.spawn({"mariadb-install-db", "--no-defaults", "--datadir=" + data_dir_, "--user=root",
                   "--auth-root-authentication-method=normal", "--skip-test-db",
                   "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M"},
                  install_log, dir_.path());
  int status = installer.wait_exit(kMariaDbInstallTimeout);
  if (status == -1) {
    installer.stop();
    throw std::runtime_error("mariadb-install-db did not finish in " +
                             std::to_string(kMariaDbInstallTimeout.count()) + " s; log:\n" +
                             tail_file(install_log));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("mariadb-install-db failed (wait status " + std::to_string(status) +
                             "); log:\n" + tail_file(install_log));
  }
  installed_ = true;
}

void MariaDbServer::start() {
  if (proc_.running()) return;
  if (!installed_) install();
  start_server(
      proc_, started_once_, port_, "mariadbd", log_, kMariaDbReadyTimeout,
      [this] {
        proc_.spawn(
            {"mariadbd", "--no-defaults", "--datadir=" + data_dir_, "--user=root",
             "--socket=" + socket_path(), "--port=" + std::to_string(port_),
             "--bind-address=127.0.0.1", "--skip-name-resolve", "--pid-file=" + data_dir_ + "/pid",
             "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M"},
            log_, dir_.path());
      },
      [this] { return mariadb_accepts_root(port_); });
}

void MariaDbServer::stop() {
  proc_.stop(seconds(30));
}

void MariaDbServer::restart() {
  stop();
  start();
}

std::string MariaDbServer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

}  // namespace appmsg::test
