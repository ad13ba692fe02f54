// A subscriber over the comet's TCP text protocol for the load tools: connects (optionally from
// a chosen loopback source address), subscribes with version 1, counts the frames and, when
// asked, records each message's latency from the send time the tool put in its body ("t").
#pragma once

#include <netinet/in.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace appmsg::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One subscribed client. Counts frames; for latency, reads the send time in the body.
struct Stats {
  uint64_t ready = 0, received = 0, closed = 0;
  std::vector<int64_t> latencies_ns;
  bool record_latency = false;
};

inline void on_payload(Stats& st, std::string_view payload) {
  ++st.received;
  if (!st.record_latency) return;
  // new format: {"msg":{"t":123,...},"mid":..}
  auto pos = payload.find("\"t\":");
  if (pos == std::string_view::npos) return;
  int64_t t = std::strtoll(payload.data() + pos + 4, nullptr, 10);
  st.latencies_ns.push_back(now_ns() - t);
}

class TcpClient : public std::enable_shared_from_this<TcpClient> {
 public:
  TcpClient(asio::io_context& io, Stats& st, std::string key)
      : sock_(io), st_(st), key_(std::move(key)) {}
  void start(const tcp::endpoint& server, const std::string& source) {
    sock_.open(tcp::v4());
    sock_.set_option(asio::socket_base::reuse_address(true));
    int one = 1;
    setsockopt(sock_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sock_.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    sock_.async_connect(server, [self = shared_from_this()](error_code ec) {
      if (ec) return self->fail();
      std::string cmd = "*5\r\n$3\r\nsub\r\n$" + std::to_string(self->key_.size()) + "\r\n" +
                        self->key_ + "\r\n$2\r\n60\r\n$0\r\n\r\n$1\r\n1\r\n";
      auto buf = std::make_shared<std::string>(std::move(cmd));
      asio::async_write(self->sock_, asio::buffer(*buf), [self, buf](error_code ec, size_t) {
        if (ec) return self->fail();
        self->read();
      });
    });
  }
  void heartbeat() {
    static const char h = 'h';
    asio::async_write(sock_, asio::buffer(&h, 1),
                      [self = shared_from_this()](error_code, size_t) {});
  }

 private:
  void fail() { ++st_.closed; }
  void read() {
    sock_.async_read_some(asio::buffer(buf_ + used_, sizeof(buf_) - used_),
                          [self = shared_from_this()](error_code ec, size_t n) {
                            if (ec) return self->fail();
                            self->used_ += n;
                            self->parse();
                            self->read();
                          });
  }
  void parse() {
    size_t pos = 0;
    for (;;) {
      std::string_view rest(buf_ + pos, used_ - pos);
      if (rest.size() < 4) break;
      if (rest.rfind("+h\r\n", 0) == 0) {
        if (!ready_) {
          ready_ = true;
          ++st_.ready;
        }
        pos += 4;
        continue;
      }
      if (rest[0] != '$') {
        ++st_.closed;
        used_ = 0;
        return;
      }
      auto crlf = rest.find("\r\n");
      if (crlf == std::string_view::npos) break;
      size_t len = std::strtoul(rest.data() + 1, nullptr, 10);
      if (rest.size() < crlf + 2 + len + 2) break;
      on_payload(st_, rest.substr(crlf + 2, len));
      pos += crlf + 2 + len + 2;
    }
    std::memmove(buf_, buf_ + pos, used_ - pos);
    used_ -= pos;
  }

  tcp::socket sock_;
  Stats& st_;
  std::string key_;
  bool ready_ = false;
  char buf_[8192];
  size_t used_ = 0;
};

}  // namespace appmsg::bench
