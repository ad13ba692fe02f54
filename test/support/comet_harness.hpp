// Shared harness for the in-process comet integration tests (comet_test, comet_ws_test,
// comet_auth_presence_test, comet_store_test). It owns:
//  - TestClient: a blocking TCP client with deadlines for the comet's text protocol (and for
//    one-off Redis commands): raw bytes out, exact bytes / lines / "$<len>" frames in, close
//    detection. Bytes read ahead are kept for the next read.
//  - multi_bulk(): the Redis multi-bulk framing the comet's commands also use; kPlusH.
//  - unique_test_id(), comet_test_config(), start_comet(), stop_comet(), rpc_client() and
//    http_client(): building a CometConfig on loopback ports and running a CometService (and
//    the clients that talk to it) on an IoThread, where each is created, started, stopped and
//    destroyed.
// Each test keeps its own fixture; only these repeated pieces live here.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "comet/comet_config.hpp"
#include "comet/comet_service.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/rpc.hpp"
#include "support/async.hpp"

namespace appmsg::test {

// The comet's heartbeat answer (and first reply to a `sub`).
inline constexpr std::string_view kPlusH = "+h\r\n";

// Redis multi-bulk request from its arguments (also the comet's command framing).
inline std::string multi_bulk(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// "<pid>_<n>": unique within this process and across parallel test processes.
inline std::string unique_test_id() {
  static std::atomic<int> counter{0};
  return std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

// ---------------------------------------------------------------------------------------------

class TestClient {
 public:
  using Clock = std::chrono::steady_clock;

  // rcvbuf > 0 shrinks the receive buffer before connecting (a client that reads slowly).
  explicit TestClient(const std::string& address, int rcvbuf = 0) {
    auto [host, port] = split_host_port(address);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      int e = errno;
      ::close(fd_);
      throw std::system_error(e, std::generic_category(), "connect " + address);
    }
  }
  ~TestClient() { close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // False when the peer is gone.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Waits until n bytes are buffered (true), or the peer closes or `until` passes (false).
  // Consumes nothing: a frame cut by a timeout is read whole later. buffered() shows them.
  bool fill(size_t n, Clock::time_point until) {
    while (buf_.size() < n && recv_some(until)) {
    }
    return buf_.size() >= n;
  }
  const std::string& buffered() const { return buf_; }

  // Exactly n bytes, or fewer when the peer closes or the timeout passes first.
  std::string read_exact(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto until = Clock::now() + timeout;
    while (buf_.size() < n && recv_some(until)) {
    }
    return take(std::min(n, buf_.size()));
  }

  // Everything until the peer closes (or the timeout passes: then closed() is false).
  std::string read_until_close(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto until = Clock::now() + timeout;
    while (recv_some(until)) {
    }
    return take(buf_.size());
  }

  // Up to and including the first CRLF ("" if none arrives in time).
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto until = Clock::now() + timeout;
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos && recv_some(until)) {
    }
    return eol == std::string::npos ? std::string() : take(eol + 2);
  }

  // True when nothing arrives and the connection stays open for `d`.
  bool quiet_for(std::chrono::milliseconds d) { return read_exact(1, d).empty() && !closed_; }

  // One pushed message: "$<len>\r\n<payload>\r\n" with the framing checked byte for byte.
  // nullopt (and `why`) when the next bytes are not such a frame or do not arrive in time.
  std::optional<std::string> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                        std::string* why = nullptr) {
    using nlohmann::json;
    auto fail = [&](std::string reason) -> std::optional<std::string> {
      if (why)
        *why = reason + " (buffered: " +
               json(buf_.substr(0, 64)).dump(-1, ' ', false, json::error_handler_t::replace) + ")";
      return std::nullopt;
    };
    auto until = Clock::now() + timeout;
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos && buf_.size() < 32 && recv_some(until)) {
    }
    if (eol == std::string::npos) return fail("no frame header");
    if (buf_[0] != '$' || eol < 2) return fail("header does not start with $");
    size_t len = 0;
    for (size_t i = 1; i < eol; ++i) {
      if (buf_[i] < '0' || buf_[i] > '9') return fail("header length is not decimal");
      len = len * 10 + static_cast<size_t>(buf_[i] - '0');
    }
    if (buf_.substr(0, eol + 2) != "$" + std::to_string(len) + "\r\n") {
      return fail("header length not canonical");
    }
    size_t need = eol + 2 + len + 2;
    while (buf_.size() < need && recv_some(until)) {
    }
    if (buf_.size() < need) return fail("frame cut short");
    if (buf_.compare(eol + 2 + len, 2, "\r\n") != 0) return fail("payload not followed by CRLF");
    std::string payload = buf_.substr(eol + 2, len);
    buf_.erase(0, need);
    return payload;
  }

  bool closed() const { return closed_; }

 private:
  // Waits for bytes until `until`; false on timeout or once the peer has closed.
  bool recv_some(Clock::time_point until) {
    if (closed_ || fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (r < 0 && errno == EINTR) return Clock::now() < until;
    if (r <= 0) return false;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buf_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    closed_ = true;  // EOF, or a reset
    return false;
  }
  std::string take(size_t n) {
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string buf_;
};

// ---------------------------------------------------------------------------------------------

// A comet on loopback ports (port 0: the kernel picks) registered under `root`/comet as `node`,
// looking for message nodes under `root`/message. WebSocket is bound but disabled.
inline comet::CometConfig comet_test_config(const std::string& zk_connect, const std::string& root,
                                            const std::string& node) {
  comet::CometConfig c;
  c.tcp_bind = {"127.0.0.1:0"};
  c.websocket_bind = {"127.0.0.1:0"};
  c.websocket_enabled = false;
  c.rpc_bind = {"127.0.0.1:0"};
  c.stat_bind = {"127.0.0.1:0"};
  c.zk_addr = zk_connect;
  c.zk_timeout = std::chrono::milliseconds(10000);
  c.comet_path = root + "/comet";
  c.comet_node = node;
  c.message_path = root + "/message";
  return c;
}

// Creates a CometService on io's thread and starts it.
inline std::unique_ptr<comet::CometService> start_comet(IoThread& io, const comet::CometConfig& c,
                                                        size_t io_threads) {
  auto comet =
      io.call([&] { return std::make_unique<comet::CometService>(io.io(), c, io_threads); });
  io.run(comet->start());
  return comet;
}

// Stops the comet (unless `stopped` says it already was) and destroys it on io's thread.
// No-op when there is none.
inline void stop_comet(IoThread& io, std::unique_ptr<comet::CometService>& comet,
                       bool stopped = false) {
  if (!comet) return;
  if (!stopped) io.run(comet->stop());
  io.call([&] { comet.reset(); });
}

// Clients created on io's thread (destroy them there too).
inline std::unique_ptr<RpcClient> rpc_client(IoThread& io, const std::string& address,
                                             const std::string& secret = "") {
  return io.call([&] {
    return std::make_unique<RpcClient>(io.executor(), RpcClientOptions{address, secret});
  });
}
inline std::unique_ptr<HttpClient> http_client(IoThread& io, const std::string& address) {
  return io.call(
      [&] { return std::make_unique<HttpClient>(io.executor(), HttpClientOptions{address}); });
}

}  // namespace appmsg::test
