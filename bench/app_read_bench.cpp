// /app read benchmark: CONNS keep-alive HTTP clients POST one request body to one /app route
// as fast as it answers, for SECONDS. Prints requests/s, answer latency percentiles and the
// answers by ret, as a table and one JSON line.
//
//   app_read_bench --app HOST:PORT --route device/getOrgInfo --body '{...}' [--conns 8]
//                  [--seconds 10] [--label NAME]
#include <boost/asio.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "http_util.hpp"

namespace asio = boost::asio;
using namespace appmsg;
using nlohmann::json;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Totals {
  uint64_t answered = 0, errors = 0, bytes = 0;
  std::map<std::string, uint64_t> codes;
  std::vector<int64_t> ns;
};

asio::awaitable<void> client(std::string app, std::string request, int64_t end, Totals& t) {
  auto ex = co_await asio::this_coro::executor;
  bench::tcp::socket s(ex);
  std::string buf;
  try {
    co_await s.async_connect(bench::endpoint(app), asio::use_awaitable);
    while (now_ns() < end) {
      int64_t sent = now_ns();
      std::string body = co_await bench::exchange(s, buf, request);
      t.ns.push_back(now_ns() - sent);
      ++t.answered;
      t.bytes += body.size();
      ++t.codes[bench::ret_of(body)];
    }
  } catch (const std::exception&) {
    ++t.errors;
  }
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Flags f(argc, argv);
  std::string app, route, body, label;
  int conns = 8, seconds = 10;
  f.read("app", app);
  f.read("route", route);
  f.read("body", body);
  f.read("label", label);
  f.read("conns", conns);
  f.read("seconds", seconds);
  f.check_all_known();
  if (app.empty() || route.empty() || body.empty()) {
    throw std::invalid_argument("--app, --route and --body are required");
  }
  const std::string request = "POST /app/client/" + route + " HTTP/1.1\r\nHost: b\r\n" +
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::io_context io(1);
  Totals t;
  const int64_t end = now_ns() + seconds * 1'000'000'000LL;
  for (int i = 0; i < conns; ++i) asio::co_spawn(io, client(app, request, end, t), asio::detached);
  io.run();
  json out{{"tool", "app_read_bench"},
           {"label", label.empty() ? route : label},
           {"conns", conns},
           {"requests_per_s", static_cast<double>(t.answered) / seconds},
           {"answer_bytes", t.answered ? t.bytes / t.answered : 0},
           {"errors", t.errors},
           {"codes", t.codes},
           {"p50_ms", bench::percentile_ms(t.ns, 0.5)},
           {"p99_ms", bench::percentile_ms(t.ns, 0.99)},
           {"max_ms", bench::percentile_ms(t.ns, 1.0)}};
  std::cout << out["label"].get<std::string>() << ": " << out["requests_per_s"]
            << " requests/s, answer " << out["answer_bytes"] << " B, ms p50 " << out["p50_ms"]
            << " p99 " << out["p99_ms"] << " max " << out["max_ms"] << ", by ret "
            << out["codes"].dump() << ", errors " << t.errors << "\n"
            << out.dump() << "\n";
  return t.errors == 0 && t.answered > 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "app_read_bench: " << e.what() << "\n";
  return 1;
}
