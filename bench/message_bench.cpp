// message_bench: a load tool for appmsg-message. Several concurrent RPC callers on one thread
// call the node's RPC, each mode for a bounded time, and the tool reports what the node did:
//
//   batch   save_batch of --batch items (100)   saves per second
//   single  save of one item                    saves per second
//   get     get of one key (limit --limit)      gets per second (and messages per second)
//
//   message_bench --rpc 127.0.0.1:8070 [--modes batch,single,get] [--seconds 10] [--callers 16]
//                 [--batch 100] [--keys 10000] [--body 32] [--limit 20] [--secret S]
//
// Items go to --keys distinct keys in turn, with rising mids, as the comet sends them (the
// message as JSON text, expire 600 s). The get mode reads keys the save modes filled. Prints a
// table and one JSON line. Bounded: each mode stops after --seconds, then waits at most for
// the calls in flight (each has a 10 s deadline).
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "common/rpc.hpp"

namespace asio = boost::asio;
namespace bench = appmsg::bench;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string rpc = "127.0.0.1:8070", secret, modes = "batch,single,get";
  int seconds = 10, callers = 16, batch = 100, keys = 10000, body_bytes = 32, limit = 20;
};

constexpr auto kCallDeadline = std::chrono::seconds(10);

struct ModeResult {
  std::string mode;
  uint64_t calls = 0, items = 0, errors = 0, messages = 0;  // messages: returned by gets
  double seconds = 0;
  std::vector<int64_t> latencies_ns;

  double per_second() const { return seconds > 0 ? static_cast<double>(items) / seconds : 0; }
};

Options parse(int argc, char** argv) {
  Options o;
  bench::Flags f(argc, argv);
  f.read("rpc", o.rpc);
  f.read("secret", o.secret);
  f.read("modes", o.modes);
  f.read("seconds", o.seconds);
  f.read("callers", o.callers);
  f.read("batch", o.batch);
  f.read("keys", o.keys);
  f.read("body", o.body_bytes);
  f.read("limit", o.limit);
  f.check_all_known();
  if (o.seconds <= 0 || o.callers <= 0 || o.batch <= 0 || o.keys <= 0 || o.limit <= 0) {
    throw std::invalid_argument("--seconds, --callers, --batch, --keys and --limit must be > 0");
  }
  return o;
}

class Bench {
 public:
  Bench(asio::io_context& io, const Options& o)
      : io_(io),
        o_(o),
        rpc_(io.get_executor(),
             appmsg::RpcClientOptions{o.rpc, o.secret, static_cast<size_t>(o.callers) + 4,
                                      static_cast<size_t>(o.callers) * 2 + 16}) {
    for (int i = 0; i < o.keys; ++i) keys_.push_back("bench-" + std::to_string(i) + "@user");
    body_ =
        "{\"text\":\"" + std::string(static_cast<size_t>(std::max(o.body_bytes, 0)), 'x') + "\"}";
    next_mid_ = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  }

  ModeResult run(const std::string& mode) {
    // Shared with the callers, so that a caller stuck past the wait below touches no dead frame.
    auto state = std::make_shared<State>();
    state->result.mode = mode;
    state->running = o_.callers;
    stop_ = false;
    io_.restart();  // the previous mode may have run the context out of work
    auto t0 = Clock::now();
    for (int c = 0; c < o_.callers; ++c) asio::co_spawn(io_, caller(mode, state), asio::detached);
    io_.run_for(std::chrono::seconds(o_.seconds));
    stop_ = true;
    // Calls in flight still finish (and are counted); each is bounded by its deadline.
    auto until = Clock::now() + kCallDeadline + std::chrono::seconds(1);
    while (state->running > 0 && Clock::now() < until) io_.run_for(std::chrono::milliseconds(10));
    state->result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return state->result;
  }

 private:
  struct State {
    ModeResult result;
    int running = 0;  // callers still looping
  };

  json save_item() {
    const std::string& key = keys_[next_key_++ % keys_.size()];
    return json{{"key", key}, {"msg", body_}, {"mid", ++next_mid_}, {"expire", 600}};
  }

  asio::awaitable<void> caller(std::string mode, std::shared_ptr<State> state) {
    ModeResult& r = state->result;
    while (!stop_) {
      std::string method;
      json params;
      size_t items = 1;
      if (mode == "batch") {
        method = "save_batch";
        json list = json::array();
        for (int i = 0; i < o_.batch; ++i) list.push_back(save_item());
        items = static_cast<size_t>(o_.batch);
        params = json{{"items", std::move(list)}};
      } else if (mode == "single") {
        method = "save";
        params = save_item();
      } else {
        method = "get";
        const std::string& key = keys_[next_key_++ % keys_.size()];
        params = json{{"key", key}, {"mid", 0}, {"limit", o_.limit}};
      }
      auto started = Clock::now();
      try {
        auto op = rpc_.call(method, std::move(params), kCallDeadline);
        json reply = co_await std::move(op);
        uint64_t failed = 0;
        if (mode == "batch") {
          failed = reply.at("errors").size();
          if (failed && ++error_lines_ <= 3) {
            std::cerr << "save_batch: " << reply["errors"][0].dump() << "\n";
          }
        } else if (mode == "get") {
          r.messages += reply.at("msgs").size();
        }
        r.items += items - failed;
        r.errors += failed;
      } catch (const std::exception& e) {
        r.errors += items;
        if (++error_lines_ <= 3) std::cerr << method << ": " << e.what() << "\n";
      }
      ++r.calls;
      r.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count());
    }
    --state->running;
  }

  asio::io_context& io_;
  const Options& o_;
  appmsg::RpcClient rpc_;
  std::vector<std::string> keys_;
  std::string body_;
  size_t next_key_ = 0;
  int64_t next_mid_ = 0;
  bool stop_ = false;
  int error_lines_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  std::vector<std::string> modes;
  std::stringstream list(o.modes);
  for (std::string m; std::getline(list, m, ',');) {
    if (m != "batch" && m != "single" && m != "get") {
      std::cerr << "unknown mode " << m << " (batch, single, get)\n";
      return 2;
    }
    modes.push_back(m);
  }

  asio::io_context io(1);
  Bench bench(io, o);
  json result{{"rpc", o.rpc},   {"callers", o.callers},       {"batch", o.batch},
              {"keys", o.keys}, {"body_bytes", o.body_bytes}, {"seconds", o.seconds}};
  std::printf("%-8s %10s %11s %8s %12s %8s %8s %8s\n", "mode", "calls", "items", "seconds",
              "items/s", "errors", "p50 ms", "p99 ms");
  for (auto& m : modes) {
    ModeResult r = bench.run(m);
    double p50 = bench::percentile_ms(r.latencies_ns, 0.50),
           p99 = bench::percentile_ms(r.latencies_ns, 0.99);
    std::printf("%-8s %10llu %11llu %8.2f %12.0f %8llu %8.2f %8.2f\n", m.c_str(),
                static_cast<unsigned long long>(r.calls), static_cast<unsigned long long>(r.items),
                r.seconds, r.per_second(), static_cast<unsigned long long>(r.errors), p50, p99);
    json j{{"calls", r.calls},     {"items", r.items},
           {"seconds", r.seconds}, {"per_second", r.per_second()},
           {"errors", r.errors},   {"p50_ms", p50},
           {"p99_ms", p99}};
    if (m == "get") {
      j["messages"] = r.messages;
      j["messages_per_second"] = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    }
    result[m] = j;
  }
  std::cout << "JSON " << result.dump() << std::endl;
  return 0;
}
