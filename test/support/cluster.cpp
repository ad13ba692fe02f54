// End-to-end test harness: the cluster of daemons as child processes (TestCluster), a blocking
// HTTP/1.1 exchange and the comet's TCP and WebSocket clients (Subscriber). See cluster.hpp.
#include "support/cluster.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "common/http.hpp"
#include "support/async.hpp"

namespace appmsg::test {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = TestClient::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr seconds kServeTimeout{30};       // a daemon's stat listener answers
constexpr seconds kWebReadyTimeout{30};    // web routes to every comet (ZooKeeper watches)
constexpr seconds kStoreReadyTimeout{20};  // a comet stores through a message node
constexpr seconds kAppReadyTimeout{60};    // web applies its DB migrations, then serves /app
constexpr seconds kSqlTimeout{30};         // one mariadb client run
constexpr milliseconds kProbeTimeout{2000};
constexpr milliseconds kStopGrace{5000};
constexpr int kBindAttempts = 3;

milliseconds left(Clock::time_point until) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(until - Clock::now()));
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

uintmax_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

std::string read_from(const std::string& path, uintmax_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "1a\r\n<26 bytes>\r\n...0\r\n\r\n" -> the bytes; nullopt if malformed or cut short.
std::optional<std::string> dechunk(std::string_view in) {
  std::string out;
  for (;;) {
    auto eol = in.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    size_t size = 0;
    size_t digits = 0;
    for (char c : in.substr(0, eol)) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) break;  // ";ext" may follow
      size = size * 16 + static_cast<size_t>(std::isdigit(static_cast<unsigned char>(c))
                                                 ? c - '0'
                                                 : std::tolower(c) - 'a' + 10);
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    in.remove_prefix(eol + 2);
    if (size == 0) return out;  // trailers, if any, are ignored
    if (in.size() < size + 2 || in.substr(size, 2) != "\r\n") return std::nullopt;
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

std::string printable(std::string_view s, size_t max = 200) {
  return json(std::string(s.substr(0, max))).dump(-1, ' ', false, json::error_handler_t::replace);
}

struct Captured {
  int status = 0;  // wait status
  std::string out, err;
};

// Runs argv[0] (looked up in PATH, no shell) with stdin from /dev/null, collecting its stdout
// and stderr. Throws if it cannot start or does not exit within `timeout` (then it is killed).
Captured run_captured(const std::vector<std::string>& argv, milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(e));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);  // dup2 clears O_CLOEXEC
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  }

  Captured r;
  auto until = Clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open = 2;
  while (open > 0 && Clock::now() < until) {
    int n = ::poll(fds, 2, static_cast<int>(left(until).count()));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;  // poll skips it
        --open;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  bool exited = false;
  for (;;) {
    pid_t w = ::waitpid(pid, &r.status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) {
      exited = w == pid;
      break;
    }
    if (Clock::now() >= until) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error(argv[0] + " did not finish within " + std::to_string(timeout.count()) +
                             " ms (killed); stderr: " + r.err);
  }
  return r;
}

}  // namespace

// ---- HTTP ----

json HttpReply::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string HttpReply::header(const std::string& lowercase_name) const {
  for (auto& [k, v] : headers)
    if (k == lowercase_name) return v;
  return "";
}

HttpReply http_request(const std::string& address, const std::string& method,
                       const std::string& target, const std::string& body,
                       const std::string& content_type, milliseconds timeout,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpReply r;
  std::unique_ptr<TestClient> c;
  try {
    c = std::make_unique<TestClient>(address);
  } catch (const std::exception& e) {
    r.error = e.what();
    return r;
  }
  std::string req =
      method + " " + target + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n";
  for (auto& [name, value] : headers) req += name + ": " + value + "\r\n";
  if (method != "GET" || !body.empty()) {
    req += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n";
  }
  req += "\r\n";
  req += body;
  if (!c->send(req)) {
    r.error = "send to " + address + " failed";
    return r;
  }
  std::string raw = c->read_until_close(timeout);
  if (!c->closed()) {
    r.error = method + " " + target + ": no complete answer from " + address + " within " +
              std::to_string(timeout.count()) + " ms (got " + std::to_string(raw.size()) +
              " bytes)";
    return r;
  }
  auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) {
    r.error = "not an HTTP answer: " + printable(raw);
    return r;
  }
  int status = std::atoi(raw.substr(9, 3).c_str());
  bool chunked = false;
  std::optional<size_t> length;
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    pos = eol + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (name == "content-type") r.content_type = value;
    r.headers.emplace_back(name, value);
    if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) {
      chunked = true;
    }
    if (name == "content-length") length = static_cast<size_t>(std::stoull(value));
  }
  std::string_view rest = std::string_view(raw).substr(head_end + 4);
  if (chunked) {
    auto decoded = dechunk(rest);
    if (!decoded) {
      r.error = "malformed chunked body: " + printable(rest);
      return r;
    }
    r.body = std::move(*decoded);
  } else if (length) {
    if (rest.size() < *length) {
      r.error = "body cut short: " + printable(rest);
      return r;
    }
    r.body = std::string(rest.substr(0, *length));
  } else {
    r.body = std::string(rest);
  }
  r.status = status;
  return r;
}

// ---- Subscriber ----

Subscriber::Subscriber(Proto proto, const std::string& address, const std::string& key,
                       std::optional<int64_t> resume_mid, milliseconds timeout, Format format)
    : proto_(proto) {
  const std::string version = format == Format::json ? "1" : "";
  auto until = Clock::now() + timeout;
  try {
    conn_ = std::make_unique<TestClient>(address);
  } catch (const std::exception& e) {
    error_ = e.what();
    return;
  }
  if (proto == Proto::tcp) {
    std::vector<std::string> args{"sub", key, "30", "", version};
    if (resume_mid) args.push_back(std::to_string(*resume_mid));
    conn_->send(multi_bulk(args));
    std::string line = conn_->read_line(left(until));
    if (line != kPlusH) {
      error_ = "sub " + key + " on " + address + ": expected +h, got " + printable(line) +
               (conn_->closed() ? " and the connection closed" : "");
      return;
    }
  } else {
    std::string target = "/sub?key=" + url_encode(key) + "&heartbeat=30";
    if (!version.empty()) target += "&ver=" + version;
    if (resume_mid) target += "&mid=" + std::to_string(*resume_mid);
    conn_->send("GET " + target + " HTTP/1.1\r\nHost: " + address +
                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    std::string status = conn_->read_line(left(until));
    std::string accept;
    for (std::string line = status; !line.empty() && line != "\r\n";) {
      line = conn_->read_line(left(until));
      if (lower(line).rfind("sec-websocket-accept:", 0) == 0) accept = line;
    }
    if (status.rfind("HTTP/1.1 101 ", 0) != 0 ||
        accept.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == std::string::npos) {
      error_ = "upgrade " + target + " on " + address + ": " + printable(status) + " accept " +
               printable(accept);
      return;
    }
    auto first = read_ws_frame(until);
    if (!first || first->opcode != 1 || first->payload != kPlusH) {
      error_ =
          "sub " + key + " on " + address + ": expected a +h text frame" +
          (first ? ", got opcode " + std::to_string(first->opcode) + " " + printable(first->payload)
                 : ": " + error_);
      return;
    }
  }
  subscribed_ = true;
}

Subscriber::~Subscriber() = default;

void Subscriber::close() {
  if (conn_) conn_->close();
}

std::optional<Subscriber::Frame> Subscriber::read_ws_frame(Clock::time_point until) {
  auto short_read = [&](const char* what) -> std::optional<Frame> {
    if (conn_->closed()) ended_ = true;
    error_ = std::string(what) + (conn_->closed() ? ": connection closed" : ": timed out");
    return std::nullopt;
  };
  // Nothing is consumed until the whole frame is in: a read that times out mid-frame leaves
  // the bytes for the next one.
  if (!conn_->fill(2, until)) return short_read("frame header");
  const std::string& buf = conn_->buffered();
  auto b0 = static_cast<uint8_t>(buf[0]), b1 = static_cast<uint8_t>(buf[1]);
  if (b1 & 0x80) {
    error_ = "the server masked its frame";
    return std::nullopt;
  }
  if (!(b0 & 0x80)) {
    error_ = "a fragmented frame (the comet sends whole messages)";
    return std::nullopt;
  }
  uint64_t len = b1 & 0x7f;
  size_t header = 2;
  if (len >= 126) {
    size_t n = len == 126 ? 2 : 8;
    if (!conn_->fill(2 + n, until)) return short_read("frame length");
    len = 0;
    for (size_t i = 0; i < n; ++i)
      len = (len << 8) | static_cast<uint8_t>(conn_->buffered()[2 + i]);
    header += n;
  }
  if (!conn_->fill(header + static_cast<size_t>(len), until)) return short_read("frame payload");
  std::string frame = conn_->read_exact(header + static_cast<size_t>(len), milliseconds(0));
  return Frame{b0 & 0x0f, frame.substr(header)};
}

std::optional<std::string> Subscriber::read_raw(Clock::time_point until) {
  if (!conn_ || ended_) {
    error_ = "no connection";
    return std::nullopt;
  }
  if (proto_ == Proto::tcp) {
    std::string why;
    auto payload = conn_->read_frame(left(until), &why);
    if (!payload) {
      if (conn_->closed()) ended_ = true;
      error_ = why + (conn_->closed() ? ": connection closed" : ": timed out");
    }
    return payload;
  }
  for (;;) {
    auto f = read_ws_frame(until);
    if (!f) return std::nullopt;
    if (f->opcode == 1) return std::move(f->payload);
    if (f->opcode == 8) {
      ended_ = true;
      if (f->payload.size() >= 2) {
        close_code_ =
            (static_cast<uint8_t>(f->payload[0]) << 8) | static_cast<uint8_t>(f->payload[1]);
      }
      error_ = "close frame, code " + std::to_string(close_code_);
      return std::nullopt;
    }
    if (f->opcode == 9 || f->opcode == 10) continue;  // ping, pong
    error_ = "unexpected frame opcode " + std::to_string(f->opcode);
    return std::nullopt;
  }
}

std::optional<std::string> Subscriber::next_raw(milliseconds timeout) {
  return read_raw(Clock::now() + timeout);
}

std::optional<json> Subscriber::next(milliseconds timeout) {
  auto raw = read_raw(Clock::now() + timeout);
  if (!raw) return std::nullopt;
  json m = json::parse(*raw, nullptr, false);
  if (!m.is_object() || !m.contains("mid") || !m["mid"].is_number_integer() || !m.contains("msg")) {
    error_ = "not a message: " + printable(*raw);
    return std::nullopt;
  }
  return m;
}

bool Subscriber::closed_by_server(milliseconds timeout) {
  if (!conn_) return false;
  auto until = Clock::now() + timeout;
  while (!ended_) {
    if (read_raw(until)) {
      ++skipped_;
      continue;
    }
    if (!ended_ && Clock::now() >= until) return false;
    if (!ended_ && !conn_->closed()) return false;  // not a message: a protocol error
  }
  return true;
}

// ---- TestCluster ----

TestCluster::TestCluster(ClusterBinaries bins, ConfigStyle style, bool with_app)
    : bins_(std::move(bins)), style_(style), with_app_(with_app) {
  if (with_app_) {
    db_conf_ = dir_.path() + "/db.conf";
    mariadb_ = std::make_unique<MariaDbServer>();
  }
  auto init = [&](Daemon& d, Kind kind, int number, std::string name, const std::string& bin) {
    d.kind = kind;
    d.number = number;
    d.name = std::move(name) + (number ? std::to_string(number) : "");
    d.bin = bin;
    d.conf = dir_.path() + "/" + d.name + ".conf";
    d.log = dir_.path() + "/" + d.name + ".log";
    d.pidfile = dir_.path() + "/" + d.name + ".pid";
    assign_ports(d);
  };
  for (int n = 1; n <= kComets; ++n) init(comet(n), Kind::comet, n, "comet", bins_.comet);
  for (int n = 1; n <= kMessageNodes; ++n)
    init(message(n), Kind::message, n, "message", bins_.message);
  init(web_, Kind::web, 0, "web", bins_.web);
}

TestCluster::~TestCluster() {
  // Web first (it stops calling the others), then the rest at once: one SIGTERM each (a second
  // one would start a second stop), a bounded wait, then ChildProcess::stop's SIGKILL.
  if (web_.proc.running()) ::kill(web_.proc.pid(), SIGCONT);
  web_.proc.stop(kStopGrace);
  std::vector<Daemon*> rest;
  for (auto& d : comets_) rest.push_back(&d);
  for (auto& d : messages_) rest.push_back(&d);
  for (auto* d : rest) {
    if (d->proc.running()) ::kill(d->proc.pid(), SIGCONT);  // a paused one must see SIGTERM
    if (d->proc.running()) ::kill(d->proc.pid(), SIGTERM);
  }
  for (auto* d : rest) {
    if (d->proc.wait_exit(kStopGrace) == -1) d->proc.stop(milliseconds(0));
  }
  if (mariadb_) mariadb_->stop();  // ZooKeeper and Redis stop with their members
}

MariaDbServer& TestCluster::mariadb() {
  if (!mariadb_) throw std::logic_error("TestCluster: mariadb() needs app mode (with_app)");
  return *mariadb_;
}

TestCluster::Daemon& TestCluster::comet(int n) {
  if (n < 1 || n > kComets) throw std::out_of_range("no comet " + std::to_string(n));
  return comets_[n - 1];
}
const TestCluster::Daemon& TestCluster::comet(int n) const {
  return const_cast<TestCluster*>(this)->comet(n);
}
TestCluster::Daemon& TestCluster::message(int n) {
  if (n < 1 || n > kMessageNodes) throw std::out_of_range("no message node " + std::to_string(n));
  return messages_[n - 1];
}
const TestCluster::Daemon& TestCluster::message(int n) const {
  return const_cast<TestCluster*>(this)->message(n);
}

void TestCluster::assign_ports(Daemon& d) {
  auto addr = [] { return "127.0.0.1:" + std::to_string(free_port()); };
  d.stat = addr();
  if (d.kind == Kind::comet) {
    d.tcp = addr();
    d.ws = addr();
    d.rpc = addr();
    d.pprof = addr();
  } else if (d.kind == Kind::message) {
    d.rpc = addr();
  } else {
    d.http = addr();
    d.admin = addr();
    if (with_app_) d.app = addr();
  }
}

void TestCluster::write_config(const Daemon& d) const {
  std::string text = style_ == ConfigStyle::ours ? config_text(d) : original_config_text(d);
  std::ofstream out(d.conf, std::ios::trunc);
  out << "# written by TestCluster (test/support/cluster.cpp)\n" << text;
  if (!out) throw std::runtime_error("cannot write " + d.conf);
}

std::string TestCluster::config_text(const Daemon& d) const {
  std::string zk = "[zookeeper]\naddr " + zk_.connect_string() + "\ntimeout 4s\n";
  std::string base = "[base]\npidfile " + d.pidfile + "\nstat.bind " + d.stat + "\n";
  std::string redis_source = "[redis.source]\nnode1:1 " + redis_.address() + "\n";
  std::string text;
  if (d.kind == Kind::comet) {
    text = base + "tcp.bind " + d.tcp + "\nwebsocket.bind " + d.ws + "\nrpc.bind " + d.rpc +
           "\n\n" + zk + "comet.path /gopush-cluster-comet\ncomet.node " + comet_name(d.number) +
           "\nmessage.path /gopush-cluster-message\n\n"
           "[channel]\nproto tcp,websocket\n\n[rpc]\nstore.timeout 2s\n";
    // App mode: presence and sessions in the cluster's Redis, refreshed every 3 s.
    if (with_app_) text += "\n" + redis_source + "\n[presence]\nttl 9s\n";
  } else if (d.kind == Kind::message) {
    // [redis] store: keep every message a test pushes to one key (the default keeps 20).
    text = base + "rpc.bind " + d.rpc +
           "\n\n[storage]\ntype redis\n\n[redis]\nstore 1000\n\n[redis.source]\nnode1:1 " +
           redis_.address() + "\n\n" + zk + "path /gopush-cluster-message\n";
  } else {
    text = base + "http.bind " + d.http + "\nadmin.bind " + d.admin + "\n" +
           (with_app_ ? "app.bind " + d.app + "\n" : "") + "\n" + zk +
           "comet.path /gopush-cluster-comet\nmessage.path /gopush-cluster-message\n\n"
           "[rpc]\ntimeout 2s\nretry 1s\nping 1s\n\n[comet]\nmigrate.grace 500ms\n";
    if (with_app_) {
      text += "\n[redis]\nketama.base 255\n\n" + redis_source +
              "\n[token]\nexpire 3600\n\n[msg]\nexpire 604800\n\n[presence]\nttl 9s\n\n"
              "[app]\nquota.reload 1s\nstats.flush 200ms\npassword.iterations 10000\n"
              "view.dir " APPMSG_SOURCE_DIR "/view\nstatic.dir " APPMSG_SOURCE_DIR "/static\n";
    }
    text += web_extra_;
    if (!admin_secret_.empty()) text += "\n[admin]\nsecret " + admin_secret_ + "\n";
  }
  return text + "\n" + extra_config_;
}

// The original's shipped files, section by section, with this cluster's addresses. Message
// nodes and web have no stat.bind there: their pprof.bind is the stats listener.
std::string TestCluster::original_config_text(const Daemon& d) const {
  std::string base = "[base]\nuser nobody\npidfile " + d.pidfile + "\ndir ./\n";
  std::string zk = "[zookeeper]\naddr " + zk_.connect_string() + "\ntimeout 4s\n";
  std::string redis_source = "[redis.source]\nnode1:1 " + redis_.address() + "\n";
  if (d.kind == Kind::comet) {
    return base + "tcp.bind " + d.tcp + "\nwebsocket.bind " + d.ws + "\nrpc.bind " + d.rpc +
           "\npprof.bind " + d.pprof + "\nstat.bind " + d.stat + "\n\n" + zk +
           "comet.path /gopush-cluster-comet\ncomet.node " + comet_name(d.number) +
           "\nmessage.path /gopush-cluster-message\n\n[rpc]\nping 1s\nretry 1s\n\n"
           "[channel]\nsndbuf.size 2048\nrcvbuf.size 256\nproto tcp,websocket\n"
           "bufio.num 128\ntcp.keepalive no\nmaxsubscriber 64\nauth no\nmsgbuf.num 120\n" +
           (with_app_ ? "\n" + redis_source : "");
  }
  if (d.kind == Kind::message) {
    return base + "rpc.bind " + d.rpc + "\npprof.bind " + d.stat +
           "\n\n[storage]\ntype redis\n\n[redis]\ntimeout 28800s\nidle 100\nactive 300\n"
           "store 1000\nketama.base 255\n\n[redis.source]\nnode1:1 " +
           redis_.address() + "\n\n" + zk + "path /gopush-cluster-message\n";
  }
  // App mode: app.bind, and [redis], [redis.source] and [token] before the shipped [msg].
  return base + "http.bind " + d.http + "\nadmin.bind " + d.admin +
         (with_app_ ? "\napp.bind " + d.app : "") + "\npprof.bind " + d.stat + "\n\n" + zk +
         "comet.path /gopush-cluster-comet\nmessage.path /gopush-cluster-message\n\n"
         "[rpc]\nping 1s\nretry 3s\n\n" +
         (with_app_ ? "[redis]\nketama.base 255\n\n" + redis_source + "\n[token]\nexpire 3600\n\n"
                    : "") +
         "[msg]\nexpire 604800\n";
}

void TestCluster::write_db_config() const {
  std::ofstream out(db_conf_, std::ios::trunc);
  out << "# written by TestCluster (test/support/cluster.cpp)\n"
      << "[base]\napp.dbURL root:@tcp(" << mariadb_->address()
      << ")/appmsgsrv?parseTime=true\napp.dbMaxIdleConns 10\napp.dbMaxOpenConns 100\n";
  if (!out) throw std::runtime_error("cannot write " + db_conf_);
}

void TestCluster::spawn(Daemon& d) {
  write_config(d);
  std::ofstream(d.log, std::ios::app) << "---- TestCluster: starting " << d.name << " ----\n";
  d.log_offset = file_size_or_zero(d.log);
  std::vector<std::string> argv{d.bin, "-c", d.conf};
  if (open_file_limit_ > 0 && d.kind != Kind::message) {
    const std::string n = std::to_string(open_file_limit_);
    argv.insert(argv.begin(), {"prlimit", "--nofile=" + n + ":" + n, "--"});
  }
  if (with_app_ && d.kind == Kind::web) {
    write_db_config();  // MariaDB's port is final once it has started
    argv.insert(argv.end(), {"-dbc", db_conf_});
  }
  d.proc.spawn(argv, d.log, dir_.path());
}

bool TestCluster::wait_serving(Daemon& d, seconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!d.proc.running()) {
      if (!d.started_once &&
          read_from(d.log, d.log_offset).find("Address already in use") != std::string::npos) {
        return false;
      }
      fail(d, "exited during start-up (wait status " + std::to_string(d.proc.exit_status()) + ")");
    }
    if (http_request(d.stat, "GET", "/metrics", "", "", kProbeTimeout).status == 200) {
      d.started_once = true;
      return true;
    }
    if (Clock::now() >= deadline) {
      d.proc.stop(milliseconds(0));
      fail(d, "not serving GET /metrics on " + d.stat + " after " +
                  std::to_string(timeout.count()) + " s");
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

void TestCluster::start_daemons(const std::vector<Daemon*>& ds) {
  std::vector<Daemon*> todo = ds;
  for (int attempt = 1; !todo.empty(); ++attempt) {
    for (auto* d : todo) {
      if (!d->proc.running()) spawn(*d);
    }
    std::vector<Daemon*> again;
    for (auto* d : todo) {
      if (wait_serving(*d, kServeTimeout)) continue;
      // Another process took one of its free ports before it bound them (first start only:
      // a restart must keep its ports).
      if (attempt >= kBindAttempts) fail(*d, "could not bind its ports");
      assign_ports(*d);
      again.push_back(d);
    }
    todo = std::move(again);
  }
}

std::vector<std::string> TestCluster::running_comet_names() {
  std::vector<std::string> names;
  for (int n = 1; n <= kComets; ++n) {
    if (comet(n).proc.running()) names.push_back(comet_name(n));
  }
  return names;
}

size_t TestCluster::running_message_nodes() {
  size_t count = 0;
  for (auto& d : messages_) count += d.proc.running() ? 1 : 0;
  return count;
}

void TestCluster::wait_web_ready(seconds timeout) {
  auto ring = running_comet_names();
  auto nodes = running_message_nodes();
  json last;
  bool ok = eventually(
      [&] {
        last = stat();
        return last.is_object() && last.value("ring", json()) == json(ring) &&
               last.value("message_nodes", json()).size() == nodes;
      },
      timeout);
  if (!ok) {
    fail(web_, "does not route to every comet (" + json(ring).dump() + ") and know " +
                   std::to_string(nodes) + " message nodes after " +
                   std::to_string(timeout.count()) + " s; last /stat: " + last.dump());
  }
}

void TestCluster::wait_comet_stores(int n, seconds timeout) {
  std::string key = key_on(n, "cluster-ready-" + comet_name(n));
  std::string error;
  bool ok = eventually([&] { return push(key, R"({"probe":1})", 1, &error).has_value(); }, timeout);
  if (!ok) {
    fail(comet(n), "cannot store a push through a message node after " +
                       std::to_string(timeout.count()) + " s: " + error);
  }
}

void TestCluster::wait_app_ready(seconds timeout) {
  HttpReply last;
  bool ok = eventually(
      [&] {
        if (!web_.proc.running()) return true;
        last = http_request(web_.app, "POST", "/app/client/device/validateToken", "{}",
                            "application/json", kProbeTimeout);
        return last.status == 200;
      },
      timeout);
  if (!web_.proc.running()) {
    fail(web_, "exited before serving /app (wait status " +
                   std::to_string(web_.proc.exit_status()) + ")");
  }
  if (!ok) {
    fail(web_, "does not answer POST /app/client/device/validateToken on " + web_.app +
                   " with 200 after " + std::to_string(timeout.count()) + " s; last: " +
                   (last.status == 0 ? last.error
                                     : "HTTP " + std::to_string(last.status) + " " + last.body));
  }
}

void TestCluster::start() {
  zk_.start();
  redis_.start();
  if (with_app_) {
    mariadb_->start();
    run_sql("", "CREATE DATABASE IF NOT EXISTS appmsgsrv CHARACTER SET utf8mb4");
  }
  std::vector<Daemon*> all;
  for (auto& d : messages_) all.push_back(&d);
  for (auto& d : comets_) all.push_back(&d);
  all.push_back(&web_);
  start_daemons(all);
  wait_web_ready(kWebReadyTimeout);
  for (int n = 1; n <= kComets; ++n) wait_comet_stores(n, kStoreReadyTimeout);
  for (int attempt = 1; with_app_; ++attempt) {
    try {
      wait_app_ready(kAppReadyTimeout);
      break;
    } catch (const std::exception&) {
      // The /app listener binds after the migrations, so another process (a test's outgoing
      // connection) may have taken its free port meanwhile: pick new ports and start again.
      if (attempt >= kBindAttempts || web_.proc.running() ||
          read_from(web_.log, web_.log_offset).find("Address already in use") ==
              std::string::npos) {
        throw;
      }
      assign_ports(web_);
      start_daemons({&web_});
      wait_web_ready(kWebReadyTimeout);
    }
  }
}

void TestCluster::kill_daemon(Daemon& d) {
  if (!d.proc.running()) return;
  ::kill(d.proc.pid(), SIGKILL);
  if (d.proc.wait_exit(milliseconds(10000)) == -1) fail(d, "survived SIGKILL for 10 s");
}

pid_t TestCluster::comet_pid(int n) {
  return comet(n).proc.running() ? comet(n).proc.pid() : -1;
}

pid_t TestCluster::message_pid(int n) {
  return message(n).proc.running() ? message(n).proc.pid() : -1;
}

pid_t TestCluster::web_pid() {
  return web_.proc.running() ? web_.proc.pid() : -1;
}

void TestCluster::kill_comet(int n) {
  kill_daemon(comet(n));
}

void TestCluster::stop_comet(int n) {
  comet(n).proc.stop(kStopGrace);
}

void TestCluster::start_comet(int n) {
  start_daemons({&comet(n)});
  wait_web_ready(kWebReadyTimeout);
  wait_comet_stores(n, kStoreReadyTimeout);
}

void TestCluster::kill_message(int n) {
  kill_daemon(message(n));
}

void TestCluster::stop_message(int n) {
  message(n).proc.stop(kStopGrace);
}

void TestCluster::pause_message(int n) {
  if (message(n).proc.running()) ::kill(message(n).proc.pid(), SIGSTOP);
}

void TestCluster::resume_message(int n) {
  if (message(n).proc.running()) ::kill(message(n).proc.pid(), SIGCONT);
}

void TestCluster::pause_comet(int n) {
  if (comet(n).proc.running()) ::kill(comet(n).proc.pid(), SIGSTOP);
}

void TestCluster::resume_comet(int n) {
  if (comet(n).proc.running()) ::kill(comet(n).proc.pid(), SIGCONT);
}

void TestCluster::pause_web() {
  if (web_.proc.running()) ::kill(web_.proc.pid(), SIGSTOP);
}

void TestCluster::resume_web() {
  if (web_.proc.running()) ::kill(web_.proc.pid(), SIGCONT);
}

void TestCluster::kill_web() {
  kill_daemon(web_);
}

void TestCluster::start_web() {
  start_daemons({&web_});
  wait_web_ready(kWebReadyTimeout);
}

void TestCluster::start_message(int n) {
  start_daemons({&message(n)});
  wait_web_ready(kWebReadyTimeout);
}

void TestCluster::restart_zookeeper() {
  zk_.restart();
}

HttpReply TestCluster::get(const std::string& target) const {
  return http_request(web_.http, "GET", target);
}

HttpReply TestCluster::admin_post(const std::string& target, const std::string& body,
                                  const std::string& content_type) const {
  return http_request(web_.admin, "POST", target, body, content_type, milliseconds(5000),
                      admin_headers());
}

std::vector<std::pair<std::string, std::string>> TestCluster::admin_headers() const {
  if (admin_secret_.empty()) return {};
  return {{"X-Appmsg-Secret", admin_secret_}};
}

HttpReply TestCluster::admin_get(const std::string& target) const {
  return http_request(web_.admin, "GET", target, "", "", milliseconds(5000), admin_headers());
}

HttpReply TestCluster::app_post(const std::string& path, const std::string& body) const {
  return http_request(web_.app, "POST", path, body);
}

HttpReply TestCluster::app_get(const std::string& target) const {
  return http_request(web_.app, "GET", target);
}

std::string TestCluster::sql(const std::string& statements) const {
  return run_sql("appmsgsrv", statements);
}

std::string TestCluster::run_sql(const std::string& database, const std::string& statements) const {
  if (!mariadb_) throw std::logic_error("TestCluster: sql() needs app mode (with_app)");
  // --no-defaults: no option file of the user's (a [client] password) changes the login.
  std::vector<std::string> argv{"mariadb", "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1"};
  argv.insert(argv.end(), {"-P", std::to_string(mariadb_->port()), "-u", "root", "-N", "-B"});
  if (!database.empty()) argv.push_back(database);
  argv.insert(argv.end(), {"-e", statements});
  Captured r = run_captured(argv, kSqlTimeout);
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
    throw std::runtime_error("mariadb -e " + printable(statements) + " failed (wait status " +
                             std::to_string(r.status) + "): " + r.err);
  }
  return r.out;
}

json TestCluster::stat() const {
  return http_request(web_.stat, "GET", "/stat", "", "", kProbeTimeout).json();
}

std::optional<int64_t> TestCluster::push(const std::string& key, const std::string& msg_json,
                                         int64_t expire, std::string* error) const {
  auto r = admin_post(
      "/1/admin/push/private?key=" + url_encode(key) + "&expire=" + std::to_string(expire),
      msg_json);
  json j = r.json();
  if (r.status == 200 && j.is_object() && j.value("ret", -1) == 0 && j.contains("data") &&
      j["data"].contains("mid") && j["data"]["mid"].is_number_integer()) {
    return j["data"]["mid"].get<int64_t>();
  }
  if (error) {
    *error = r.status == 0 ? r.error : "HTTP " + std::to_string(r.status) + " " + r.body;
  }
  return std::nullopt;
}

std::string TestCluster::server_for(const std::string& key, Proto proto) const {
  json j =
      get("/1/server/get?k=" + url_encode(key) + "&p=" + (proto == Proto::tcp ? "2" : "1")).json();
  if (!j.is_object() || j.value("ret", -1) != 0) return {};
  return j["data"].value("server", std::string());
}

std::string TestCluster::key_on(int n, const std::string& prefix) const {
  const std::string& want = comet_tcp(n);
  for (int i = 0; i < 2000; ++i) {
    std::string key = prefix + "-" + std::to_string(i);
    if (server_for(key, Proto::tcp) == want) return key;
  }
  throw std::runtime_error("web routes no key " + prefix + "-<i> to " + comet_name(n) + " (" +
                           want + "); /stat: " + stat().dump());
}

bool TestCluster::wait_ring(const std::vector<std::string>& names, milliseconds timeout) const {
  return eventually(
      [&] {
        json s = stat();
        return s.is_object() && s.value("ring", json()) == json(names);
      },
      timeout);
}

std::string TestCluster::log_tails(size_t bytes_each) const {
  std::string out;
  auto add = [&](const std::string& name, const std::string& log) {
    out += "==== " + name + " (" + log + ") ====\n" + tail_file(log, bytes_each) + "\n";
  };
  add("web", web_.log);
  for (auto& d : comets_) add(d.name, d.log);
  for (auto& d : messages_) add(d.name, d.log);
  add("zookeeper", zk_.log_path());
  if (mariadb_) add("mariadb", mariadb_->log_path());
  return out;
}

void TestCluster::fail(const Daemon& d, const std::string& why) const {
  throw std::runtime_error(d.name + " " + why + "; log " + d.log + " ends with:\n" +
                           tail_file(d.log));
}

}  // namespace appmsg::test
