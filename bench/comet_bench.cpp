// comet_bench: a load tool for appmsg-comet. Opens N client connections (TCP text protocol or
// WebSocket) from several loopback source addresses, keeps their heartbeats, pushes through
// the comet's RPC and measures what arrives.
//
//   comet_bench --mode idle       --conns 19000 --comet-pid PID      RSS growth per connection
//   comet_bench --mode throughput --conns 1000  --seconds 10         deliveries/s via push_batch
//   comet_bench --mode latency    --conns 1000  --rate 10000         push-to-receive percentiles
//   comet_bench --mode batch      --conns 1000  --batch 1000         one push_batch to K keys
// Common: --proto tcp|ws --client HOST:PORT --rpc HOST:PORT --secret S --sources
// 127.0.0.2-127.0.0.9 Prints a table and one JSON line. Bounded: every mode stops by itself.
#include <netinet/in.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "common/http_server.hpp"
#include "common/rpc.hpp"
#include "tcp_subscriber.hpp"

namespace asio = boost::asio;
namespace bench = appmsg::bench;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

using bench::now_ns;
using bench::on_payload;
using bench::Stats;
using bench::TcpClient;

struct Options {
  std::string mode = "throughput", proto = "tcp", client = "127.0.0.1:6969", rpc = "127.0.0.1:6970",
              secret, sources = "127.0.0.2-127.0.0.9";
  int conns = 1000, seconds = 10, rate = 10000, batch = 1000, comet_pid = 0, senders = 4;
  int body_bytes = 32;
};

long rss_kib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::vector<std::string> source_addresses(const std::string& spec) {
  // "127.0.0.2-127.0.0.9": the last octet ranges
  auto dash = spec.find('-');
  std::string first = spec.substr(0, dash);
  std::string prefix = first.substr(0, first.rfind('.') + 1);
  int lo = std::stoi(first.substr(first.rfind('.') + 1));
  int hi = dash == std::string::npos ? lo : std::stoi(spec.substr(spec.rfind('.') + 1));
  std::vector<std::string> out;
  for (int i = lo; i <= hi; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

class WsClient : public std::enable_shared_from_this<WsClient> {
 public:
  WsClient(asio::io_context& io, Stats& st, std::string key)
      : ws_(io), st_(st), key_(std::move(key)) {}
  void start(const tcp::endpoint& server, const std::string& source, const std::string& host) {
    auto& s = beast::get_lowest_layer(ws_).socket();
    s.open(tcp::v4());
    int one = 1;
    setsockopt(s.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    s.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    s.async_connect(server, [self = shared_from_this(), host](error_code ec) {
      if (ec) return self->fail();
      self->ws_.async_handshake(host, "/sub?key=" + self->key_ + "&heartbeat=60&ver=1",
                                [self](error_code ec) {
                                  if (ec) return self->fail();
                                  self->read();
                                });
    });
  }
  void heartbeat() {
    if (writing_) return;
    writing_ = true;
    static const char h = 'h';
    ws_.async_write(asio::buffer(&h, 1),
                    [self = shared_from_this()](error_code, size_t) { self->writing_ = false; });
  }

 private:
  void fail() { ++st_.closed; }
  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->fail();
      auto data = beast::buffers_to_string(self->buf_.data());
      self->buf_.clear();
      if (data == "+h\r\n") {
        if (!self->ready_) {
          self->ready_ = true;
          ++self->st_.ready;
        }
      } else {
        on_payload(self->st_, data);
      }
      self->read();
    });
  }
  beast::websocket::stream<beast::tcp_stream> ws_;
  Stats& st_;
  std::string key_;
  beast::flat_buffer buf_;
  bool ready_ = false, writing_ = false;
};

std::string key_of(int i) {
  return "bench-" + std::to_string(i) + "@user";
}

std::string body(int64_t t, int pad) {
  return "{\"t\":" + std::to_string(t) + ",\"p\":\"" + std::string(std::max(pad, 0), 'x') + "\"}";
}

Options parse(int argc, char** argv) {
  Options o;
  bench::Flags f(argc, argv);
  f.read("mode", o.mode);
  f.read("proto", o.proto);
  f.read("client", o.client);
  f.read("rpc", o.rpc);
  f.read("secret", o.secret);
  f.read("sources", o.sources);
  f.read("conns", o.conns);
  f.read("seconds", o.seconds);
  f.read("rate", o.rate);
  f.read("batch", o.batch);
  f.read("comet-pid", o.comet_pid);
  f.read("senders", o.senders);
  f.read("body", o.body_bytes);
  f.check_all_known();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (static_cast<rlim_t>(o.conns) + 100 > rl.rlim_cur) {
    std::cerr << "at most " << rl.rlim_cur - 100 << " connections per process here\n";
    return 2;
  }
  asio::io_context io(1);
  Stats st;
  st.record_latency = o.mode == "latency";
  auto [host, port] = appmsg::split_host_port(o.client);
  tcp::endpoint server(asio::ip::make_address(host), port);
  auto sources = source_addresses(o.sources);
  long rss_before = o.comet_pid ? rss_kib(o.comet_pid) : -1;

  std::vector<std::shared_ptr<TcpClient>> tcp_clients;
  std::vector<std::shared_ptr<WsClient>> ws_clients;
  auto started = Clock::now();
  for (int i = 0; i < o.conns; ++i) {
    const std::string& src = sources[static_cast<size_t>(i) % sources.size()];
    if (o.proto == "ws") {
      ws_clients.push_back(std::make_shared<WsClient>(io, st, key_of(i)));
      ws_clients.back()->start(server, src, o.client);
    } else {
      tcp_clients.push_back(std::make_shared<TcpClient>(io, st, key_of(i)));
      tcp_clients.back()->start(server, src);
    }
    if (i % 500 == 499) io.poll();  // let connects progress
  }
  auto until = Clock::now() + std::chrono::seconds(60);
  while (st.ready + st.closed < static_cast<uint64_t>(o.conns) && Clock::now() < until) {
    io.run_for(std::chrono::milliseconds(50));
  }
  double connect_s = std::chrono::duration<double>(Clock::now() - started).count();
  // Heartbeats every 30 s (the clients subscribe with heartbeat 60), for as long as the run lasts.
  asio::steady_timer hb_timer(io);
  std::function<void()> heartbeat_all = [&] {
    hb_timer.expires_after(std::chrono::seconds(30));
    hb_timer.async_wait([&](error_code ec) {
      if (ec) return;
      for (auto& c : tcp_clients) c->heartbeat();
      for (auto& c : ws_clients) c->heartbeat();
      heartbeat_all();
    });
  };
  heartbeat_all();
  json result{{"mode", o.mode},    {"proto", o.proto},    {"conns", o.conns},
              {"ready", st.ready}, {"failed", st.closed}, {"connect_seconds", connect_s}};
  std::cout << "connections ready     " << st.ready << " of " << o.conns << " in " << connect_s
            << " s (" << st.closed << " failed)\n";

  if (o.mode == "idle") {
    io.run_for(std::chrono::seconds(2));  // let the comet settle
    long rss_after = o.comet_pid ? rss_kib(o.comet_pid) : -1;
    double per = st.ready ? static_cast<double>(rss_after - rss_before) * 1024.0 / st.ready : 0;
    std::cout << "comet RSS before      " << rss_before << " KiB\n"
              << "comet RSS after       " << rss_after << " KiB\n"
              << "per connection        " << per << " bytes\n";
    result["rss_before_kib"] = rss_before;
    result["rss_after_kib"] = rss_after;
    result["bytes_per_connection"] = per;
    std::cout << "JSON " << result.dump() << "\n";
    return 0;
  }

  // Pushes through the RPC from `senders` coroutines on the same context.
  appmsg::RpcClient rpc(io.get_executor(), {o.rpc, o.secret, 64, 4096});
  uint64_t pushed = 0, rpc_errors = 0;
  bool stop = false;
  auto push_batch = [&](json params) -> asio::awaitable<void> {
    try {
      auto pending = rpc.call("push_batch", params, std::chrono::seconds(10));
      co_await std::move(pending);
    } catch (const std::exception& e) {
      if (++rpc_errors < 5) std::cerr << "rpc: " << e.what() << "\n";
    }
  };
  auto t0 = Clock::now();
  uint64_t received0 = st.received;
  if (o.mode == "throughput" || o.mode == "batch") {
    int k = std::min(o.batch, o.conns);
    std::vector<std::string> keys;
    for (int i = 0; i < k; ++i) keys.push_back(key_of(i));
    int rounds = o.mode == "batch" ? 1 : 1 << 30;
    auto sender = [&]() -> asio::awaitable<void> {
      for (int r = 0; r < rounds && !stop; ++r) {
        json params{{"keys", keys}, {"msg", body(now_ns(), o.body_bytes)}, {"expire", 0}};
        auto op = push_batch(std::move(params));
        co_await std::move(op);
        pushed += keys.size();
      }
    };
    int senders = o.mode == "batch" ? 1 : o.senders;
    for (int s = 0; s < senders; ++s) asio::co_spawn(io, sender(), asio::detached);
    auto end = Clock::now() + std::chrono::seconds(o.mode == "batch" ? 30 : o.seconds);
    while (Clock::now() < end) {
      io.run_for(std::chrono::milliseconds(20));
      if (o.mode == "batch" && st.received - received0 >= static_cast<uint64_t>(k)) break;
    }
    stop = true;
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    uint64_t got = st.received - received0;
    std::cout << "pushed (deliveries)   " << pushed << "\n"
              << "received              " << got << " in " << secs << " s\n"
              << "deliveries per second " << static_cast<double>(got) / secs << "\n"
              << "rpc errors            " << rpc_errors << "\n";
    result["pushed"] = pushed;
    result["received"] = got;
    result["seconds"] = secs;
    result["deliveries_per_second"] = static_cast<double>(got) / secs;
  } else if (o.mode == "latency") {
    // One key per push, spread over the keys, at a fixed rate.
    auto period = std::chrono::nanoseconds(1'000'000'000LL / std::max(o.rate, 1));
    auto next = Clock::now();
    auto end = next + std::chrono::seconds(o.seconds);
    int i = 0;
    auto pacer = [&]() -> asio::awaitable<void> {
      asio::steady_timer t(io);
      while (Clock::now() < end) {
        // Group the pushes due now into one call per millisecond tick.
        json items = json::array();
        while (next <= Clock::now() && items.size() < 1000) {
          items.push_back({{"key", key_of(i++ % o.conns)}, {"msg", body(now_ns(), o.body_bytes)}});
          next += period;
        }
        if (!items.empty()) {
          pushed += items.size();
          json params{{"items", std::move(items)}};
          asio::co_spawn(io, push_batch(std::move(params)), asio::detached);
        }
        t.expires_after(std::chrono::microseconds(500));
        co_await t.async_wait(asio::use_awaitable);
      }
    };
    asio::co_spawn(io, pacer(), asio::detached);
    io.run_until(end + std::chrono::seconds(1));
    auto& v = st.latencies_ns;
    std::cout << "pushes                " << pushed << " at " << o.rate << "/s\n"
              << "received              " << v.size() << "\n";
    double p50 = bench::percentile_ms(v, 0.50), p90 = bench::percentile_ms(v, 0.90),
           p99 = bench::percentile_ms(v, 0.99), p999 = bench::percentile_ms(v, 0.999);
    std::cout << "latency p50/p90/p99/p99.9 ms  " << p50 << " / " << p90 << " / " << p99 << " / "
              << p999 << "\n";
    result["pushed"] = pushed;
    result["received"] = v.size();
    result["p50_ms"] = p50;
    result["p90_ms"] = p90;
    result["p99_ms"] = p99;
    result["p999_ms"] = p999;
  }
  std::cout << "JSON " << result.dump() << "\n";
  return 0;
}
