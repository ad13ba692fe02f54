// web_bench: end-to-end admin pushes through a running cluster. Subscribes --keys TCP clients
// (each on the comet web names for its key), then --conns keep-alive HTTP clients POST
// /1/admin/push/private to web, round-robin over the keys, for --seconds; each message carries
// its send time, so the subscribers measure push-to-receive latency.
//
//   web_bench --public 127.0.0.1:8090 --admin 127.0.0.1:8091 --rate 0      as fast as acked
//   web_bench ... --rate 10000                                              fixed rate
// Other flags: --keys 1000 --conns 32 --seconds 10 --expire 600 --secret S --body 32.
// At a fixed rate the latency counts from each push's scheduled time (no coordinated
// omission). Prints a table and one JSON line; stops by itself.
#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "http_util.hpp"
#include "tcp_subscriber.hpp"

namespace asio = boost::asio;
namespace bench = appmsg::bench;
using tcp = asio::ip::tcp;
using bench::now_ns;
using nlohmann::json;

namespace {

struct Options {
  std::string pub = "127.0.0.1:8090", admin = "127.0.0.1:8091", secret;
  int keys = 1000, conns = 32, rate = 0, seconds = 10, expire = 600, body = 32;
};

struct Totals {
  uint64_t acked = 0, errors = 0;
  std::map<std::string, uint64_t> codes;  // answers by "ret" (0, 1004, 1005, 65535, ...)
  std::vector<int64_t> ack_ns;
};

asio::awaitable<void> pusher(int id, const Options& o, const std::vector<std::string>& keys,
                             int64_t start, int64_t end, Totals& t) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  co_await s.async_connect(bench::endpoint(o.admin), asio::use_awaitable);
  s.set_option(tcp::no_delay(true));
  std::string buf, pad(std::max(o.body, 0), 'x');
  asio::steady_timer timer(ex);
  // At a fixed rate each pusher owns every conns-th slot of the schedule.
  int64_t interval = o.rate > 0 ? 1'000'000'000LL * o.conns / o.rate : 0;
  int64_t offset = o.rate > 0 ? 1'000'000'000LL * id / o.rate : 0;
  for (int64_t i = 0;; ++i) {
    int64_t scheduled = start + offset + i * interval;
    if (o.rate > 0 && scheduled > now_ns()) {
      timer.expires_after(std::chrono::nanoseconds(scheduled - now_ns()));
      co_await timer.async_wait(asio::use_awaitable);
    }
    int64_t sent = now_ns();
    if (sent >= end) break;
    const std::string& key = keys[static_cast<size_t>(i * o.conns + id) % keys.size()];
    std::string body =
        "{\"t\":" + std::to_string(o.rate > 0 ? scheduled : sent) + ",\"p\":\"" + pad + "\"}";
    std::string req =
        "POST /1/admin/push/private?key=" + key + "&expire=" + std::to_string(o.expire) +
        " HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n" +
        (o.secret.empty() ? "" : "X-Appmsg-Secret: " + o.secret + "\r\n") + "\r\n" + body;
    std::string answer;
    try {
      auto op = bench::exchange(s, buf, std::move(req));  // g++ 12: no temporaries inside co_await
      answer = co_await std::move(op);
    } catch (const std::exception& e) {
      ++t.errors;
      std::cerr << "pusher " << id << ": " << e.what() << "\n";
      co_return;
    }
    t.ack_ns.push_back(now_ns() - sent);
    std::string ret = bench::ret_of(answer);
    ++t.codes[ret];
    if (ret == "0") {
      ++t.acked;
    } else {
      ++t.errors;
    }
  }
}

Options parse(int argc, char** argv) {
  Options o;
  bench::Flags f(argc, argv);
  f.read("public", o.pub);
  f.read("admin", o.admin);
  f.read("secret", o.secret);
  f.read("keys", o.keys);
  f.read("conns", o.conns);
  f.read("rate", o.rate);
  f.read("seconds", o.seconds);
  f.read("expire", o.expire);
  f.read("body", o.body);
  f.check_all_known();
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  Options o = parse(argc, argv);
  asio::io_context io(1);
  bench::Stats st;
  st.record_latency = true;
  std::vector<std::string> keys;
  std::vector<std::shared_ptr<bench::TcpClient>> clients;
  for (int i = 0; i < o.keys; ++i) {
    keys.push_back("wb-" + std::to_string(i) + "@user");
    auto c = std::make_shared<bench::TcpClient>(io, st, keys.back());
    c->start(bench::endpoint(bench::server_for(io, o.pub, keys.back())), "127.0.0.1");
    clients.push_back(std::move(c));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (st.ready + st.closed < clients.size() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(50));
  }
  if (st.ready != clients.size()) throw std::runtime_error("subscribers not ready");

  Totals t;
  int64_t start = now_ns() + 100'000'000, end = start + o.seconds * 1'000'000'000LL;
  for (int i = 0; i < o.conns; ++i) {
    asio::co_spawn(io, pusher(i, o, keys, start, end, t), asio::detached);
  }
  // Heartbeats every 30 s (the subscribers ask for 60 s), for runs longer than a minute.
  asio::steady_timer hb_timer(io);
  std::function<void()> heartbeat_all = [&] {
    hb_timer.expires_after(std::chrono::seconds(30));
    hb_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      for (auto& c : clients) c->heartbeat();
      heartbeat_all();
    });
  };
  heartbeat_all();
  io.run_for(std::chrono::nanoseconds(end - now_ns()) + std::chrono::seconds(2));
  hb_timer.cancel();

  double secs = o.seconds;
  uint64_t received = st.received;
  auto& lat = st.latencies_ns;
  json out{{"tool", "web_bench"},
           {"rate", o.rate},
           {"conns", o.conns},
           {"keys", o.keys},
           {"acked_per_s", static_cast<double>(t.acked) / secs},
           {"errors", t.errors},
           {"codes", t.codes},
           {"received", received},
           {"lost", static_cast<int64_t>(t.acked) - static_cast<int64_t>(received)},
           {"ack_p50_ms", bench::percentile_ms(t.ack_ns, 0.5)},
           {"ack_p99_ms", bench::percentile_ms(t.ack_ns, 0.99)},
           {"ack_max_ms", bench::percentile_ms(t.ack_ns, 1.0)},
           {"p50_ms", bench::percentile_ms(lat, 0.5)},
           {"p90_ms", bench::percentile_ms(lat, 0.9)},
           {"p99_ms", bench::percentile_ms(lat, 0.99)},
           {"p999_ms", bench::percentile_ms(lat, 0.999)}};
  std::cout << "admin pushes acked/s   " << out["acked_per_s"] << "  (errors " << t.errors
            << ", answers by ret " << out["codes"].dump() << ")\nmessages received      "
            << received << " of " << t.acked << "\npush->receive ms       p50 " << out["p50_ms"]
            << "  p90 " << out["p90_ms"] << "  p99 " << out["p99_ms"] << "  p99.9 "
            << out["p999_ms"] << "\nHTTP answer ms         p50 " << out["ack_p50_ms"] << "  p99 "
            << out["ack_p99_ms"] << "  max " << out["ack_max_ms"] << "\n"
            << out.dump() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "web_bench: " << e.what() << "\n";
  return 1;
}
