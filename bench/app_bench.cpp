// app_bench: /app device/push to one big qun through a running cluster. Subscribes one TCP
// session per member but the sender ("<uid>_bench-1@user", on the comet web names for that
// key), waits until a probe push reaches every one of them (web lists a session once the comet
// has written it to Redis), then --conns keep-alive HTTP clients POST
// /app/client/device/push from the sender to the qun for --seconds. Each message carries its
// send time ("t"), so the members measure push-to-receive latency of every delivery.
//
//   app_bench --public 127.0.0.1:8090 --app 127.0.0.1:8093 --token T --sender U --qun Q
//             --members-file FILE [--conns 8] [--rate 0] [--seconds 10]
// FILE lists the qun's member ids but the sender, one per line. --rate 0 pushes as fast as
// web answers; --rate N pushes N requests/s, and latency counts from each request's scheduled
// time (no coordinated omission). Prints a table and one JSON line; stops by itself.
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
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
  std::string pub = "127.0.0.1:8090", app = "127.0.0.1:8093", token, sender, qun, members_file;
  int conns = 8, rate = 0, seconds = 10;
};

struct Totals {
  uint64_t acked = 0, errors = 0;
  std::map<std::string, uint64_t> codes;
  std::vector<int64_t> ack_ns;
};

std::string push_request(const Options& o, int64_t t) {
  json body{{"baseRequest",
             {{"uid", o.sender}, {"deviceID", "bench"}, {"deviceType", "iOS"}, {"token", o.token}}},
            {"msg",
             {{"fromUserName", o.sender + "@user"},
              {"toUserName", o.qun + "@qun"},
              {"msgType", 1},
              {"content", "load"},
              {"t", t}}}};
  std::string text = body.dump();
  return "POST /app/client/device/push HTTP/1.1\r\nHost: b\r\nContent-Type: "
         "application/json\r\nContent-Length: " +
         std::to_string(text.size()) + "\r\n\r\n" + text;
}

// Pushes from `start` until `end` (and at most `limit` requests).
asio::awaitable<void> pusher(int id, const Options& o, int64_t start, int64_t end, Totals& t,
                             int64_t limit = INT64_MAX) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  co_await s.async_connect(bench::endpoint(o.app), asio::use_awaitable);
  s.set_option(tcp::no_delay(true));
  std::string buf;
  asio::steady_timer timer(ex);
  int64_t interval = o.rate > 0 ? 1'000'000'000LL * o.conns / o.rate : 0;
  int64_t offset = o.rate > 0 ? 1'000'000'000LL * id / o.rate : 0;
  for (int64_t i = 0; i < limit; ++i) {
    int64_t scheduled = start + offset + i * interval;
    if (o.rate > 0 && scheduled > now_ns()) {
      timer.expires_after(std::chrono::nanoseconds(scheduled - now_ns()));
      co_await timer.async_wait(asio::use_awaitable);
    }
    int64_t sent = now_ns();
    if (sent >= end) break;
    std::string answer;
    try {
      auto op = bench::exchange(s, buf, push_request(o, o.rate > 0 ? scheduled : sent));
      answer = co_await std::move(op);
    } catch (const std::exception& e) {
      ++t.errors;
      std::cerr << "pusher " << id << ": " << e.what() << "\n";
      co_return;
    }
    t.ack_ns.push_back(now_ns() - sent);
    std::string ret = bench::ret_of(answer);
    ++t.codes[ret];
    ++(ret == "0" ? t.acked : t.errors);
  }
}

Options parse(int argc, char** argv) {
  Options o;
  bench::Flags f(argc, argv);
  f.read("public", o.pub);
  f.read("app", o.app);
  f.read("token", o.token);
  f.read("sender", o.sender);
  f.read("qun", o.qun);
  f.read("members-file", o.members_file);
  f.read("conns", o.conns);
  f.read("rate", o.rate);
  f.read("seconds", o.seconds);
  f.check_all_known();
  if (o.token.empty() || o.sender.empty() || o.qun.empty() || o.members_file.empty()) {
    throw std::invalid_argument("--token, --sender, --qun and --members-file are required");
  }
  return o;
}

// Runs `io` until `done` holds or `limit` passes.
template <class F>
bool run_until(asio::io_context& io, F done, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until) {
    io.run_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace

int main(int argc, char** argv) try {
  Options o = parse(argc, argv);
  std::vector<std::string> members;
  std::ifstream in(o.members_file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) members.push_back(line);
  }
  if (members.empty()) throw std::runtime_error("no members in " + o.members_file);
  asio::io_context io(1);
  bench::Stats st;
  std::vector<std::shared_ptr<bench::TcpClient>> clients;
  for (auto& m : members) {
    std::string key = m + "_bench-1@user";
    auto c = std::make_shared<bench::TcpClient>(io, st, key);
    c->start(bench::endpoint(bench::server_for(io, o.pub, key)), "127.0.0.1");
    clients.push_back(std::move(c));
  }
  if (!run_until(
          io, [&] { return st.ready + st.closed >= clients.size(); }, std::chrono::seconds(30)) ||
      st.ready != clients.size()) {
    throw std::runtime_error("subscribers not ready");
  }
  // Probes until one reaches every member: then web lists every session.
  bool listed = false;
  Options once = o;  // outlive the probes, which may still be running
  once.conns = 1;
  Totals probes;
  for (int probe = 0; probe < 100 && !listed; ++probe) {
    uint64_t before = st.received;
    int64_t s = now_ns();
    asio::co_spawn(io, pusher(0, once, s, s + 10'000'000'000LL, probes, 1), asio::detached);
    listed = run_until(
        io, [&] { return st.received - before >= members.size(); }, std::chrono::seconds(1));
  }
  if (!listed) throw std::runtime_error("the probe push never reached every member");
  run_until(
      io, [] { return false; }, std::chrono::seconds(1));  // late probe copies drain
  st.received = 0;
  st.record_latency = true;

  Totals t;
  int64_t start = now_ns() + 100'000'000, end = start + o.seconds * 1'000'000'000LL;
  for (int i = 0; i < o.conns; ++i) {
    asio::co_spawn(io, pusher(i, o, start, end, t), asio::detached);
  }
  io.run_for(std::chrono::nanoseconds(end - now_ns()) + std::chrono::seconds(3));

  double secs = o.seconds;
  auto& lat = st.latencies_ns;
  uint64_t expected = t.acked * members.size();
  json out{{"tool", "app_bench"},
           {"rate", o.rate},
           {"conns", o.conns},
           {"members_online", members.size()},
           {"pushes_per_s", static_cast<double>(t.acked) / secs},
           {"deliveries_per_s", static_cast<double>(st.received) / secs},
           {"errors", t.errors},
           {"codes", t.codes},
           {"received", st.received},
           {"lost", static_cast<int64_t>(expected) - static_cast<int64_t>(st.received)},
           {"ack_p50_ms", bench::percentile_ms(t.ack_ns, 0.5)},
           {"ack_p99_ms", bench::percentile_ms(t.ack_ns, 0.99)},
           {"p50_ms", bench::percentile_ms(lat, 0.5)},
           {"p90_ms", bench::percentile_ms(lat, 0.9)},
           {"p99_ms", bench::percentile_ms(lat, 0.99)},
           {"max_ms", bench::percentile_ms(lat, 1.0)}};
  std::cout << "qun pushes acked/s     " << out["pushes_per_s"] << "  (errors " << t.errors
            << ", answers by ret " << out["codes"].dump() << ")\ndeliveries/s           "
            << out["deliveries_per_s"] << "  (" << st.received << " of " << expected
            << " expected)\npush->receive ms       p50 " << out["p50_ms"] << "  p90 "
            << out["p90_ms"] << "  p99 " << out["p99_ms"] << "  max " << out["max_ms"]
            << "\nHTTP answer ms         p50 " << out["ack_p50_ms"] << "  p99 " << out["ack_p99_ms"]
            << "\n"
            << out.dump() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "app_bench: " << e.what() << "\n";
  return 1;
}
