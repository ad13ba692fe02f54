// /stat and /metrics for the comet.
#include "comet/comet_stats.hpp"

#include <unistd.h>

#include <climits>
#include <nlohmann/json.hpp>

#include "comet/channel_table.hpp"
#include "common/rpc.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

uint64_t get(const std::atomic<uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}

json server_info(std::chrono::steady_clock::time_point started) {
  char host[HOST_NAME_MAX + 1] = {};
  gethostname(host, sizeof(host) - 1);
  char wd[PATH_MAX] = {};
  if (!getcwd(wd, sizeof(wd))) wd[0] = '\0';
  auto uptime = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - started);
  return json{{"uptime", uptime.count()},
              {"hostname", host},
              {"wd", wd},
              {"pid", getpid()},
              {"ppid", getppid()},
              {"pagesize", getpagesize()},
              {"user", std::to_string(getuid())},
              {"group", std::to_string(getgid())}};
}

HttpResponse stat_json(const json& j) {
  HttpResponse r;
  r.body = j.dump(4);  // the original's indentation, keys sorted, no trailing newline
  return r;
}

std::string metrics(const ChannelTable& table, const CometStats& s) {
  std::string out;
  auto line = [&](const char* name, const char* type, const char* help, auto value,
                  const char* labels = "") {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += labels;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
  };
  out +=
      "# HELP appmsg_comet_connections Live client connections by protocol.\n"
      "# TYPE appmsg_comet_connections gauge\n";
  out += "appmsg_comet_connections{proto=\"tcp\"} " +
         std::to_string(s.tcp_current.load(std::memory_order_relaxed)) + "\n";
  out += "appmsg_comet_connections{proto=\"websocket\"} " +
         std::to_string(s.ws_current.load(std::memory_order_relaxed)) + "\n";
  line("appmsg_comet_subscribed", "gauge", "Connections subscribed to a channel.",
       table.connections());
  line("appmsg_comet_channels", "gauge", "Channels (keys with a live connection).",
       table.channels());
  line("appmsg_comet_pushes_total", "counter", "Messages pushed (one per key).", get(s.pushes));
  line("appmsg_comet_deliveries_total", "counter", "Messages queued to a connection.",
       get(s.deliveries));
  line("appmsg_comet_drops_total", "counter",
       "Messages dropped because a connection's queue was full.", get(s.drops));
  line("appmsg_comet_slow_closes_total", "counter",
       "Connections closed for not reading fast enough.", get(s.closed_slow));
  line("appmsg_comet_heartbeat_closes_total", "counter",
       "Connections closed for a missed heartbeat.", get(s.closed_heartbeat));
  line("appmsg_comet_write_timeout_closes_total", "counter",
       "Connections closed for a stalled write.", get(s.closed_write_timeout));
  line("appmsg_comet_protocol_closes_total", "counter", "Connections closed for bad input.",
       get(s.closed_protocol));
  line("appmsg_comet_rejected_full_total", "counter", "Subscribes refused at maxsubscriber.",
       get(s.sub_rejected_full));
  line("appmsg_comet_rejected_auth_total", "counter", "Subscribes refused for a bad token.",
       get(s.sub_rejected_auth));
  line("appmsg_comet_writes_total", "counter", "Messages written to clients.",
       get(s.message_succeed));
  line("appmsg_comet_write_failures_total", "counter", "Messages whose write failed.",
       get(s.message_failed));
  line("appmsg_comet_resumes_total", "counter", "Subscribes that resumed from a mid.",
       get(s.resumes));
  line("appmsg_comet_resumed_messages_total", "counter",
       "Stored messages replayed to resuming connections.", get(s.resumed_messages));
  line("appmsg_comet_resume_failures_total", "counter",
       "Resumes closed because the store could not be read.", get(s.resume_failures));
  line("appmsg_comet_migrated_closes_total", "counter",
       "Connections closed because their key moved to another node.", get(s.closed_migrated));
  line("appmsg_comet_auth_errors_total", "counter", "Token lookups in Redis that failed.",
       get(s.auth_errors));
  line("appmsg_comet_presence_errors_total", "counter", "Presence writes to Redis that failed.",
       get(s.presence_errors));
  line("appmsg_comet_presence_dropped_total", "counter",
       "Presence changes dropped while the pending set was full (a full rewrite follows).",
       get(s.presence_dropped));
  line("appmsg_comet_store_calls_total", "counter",
       "Calls to message nodes to store offline copies.", get(s.store_calls));
  line("appmsg_comet_store_errors_total", "counter", "Offline copies that could not be stored.",
       get(s.store_errors));
  static constexpr const char* bounds[CometStats::kLatencyBuckets] = {
      "0.0005", "0.001", "0.002", "0.005", "0.01", "0.05", "0.25", "+Inf"};
  out +=
      "# HELP appmsg_comet_store_seconds Latency of a store call to a message node.\n"
      "# TYPE appmsg_comet_store_seconds histogram\n";
  uint64_t cumulative = 0;
  for (int i = 0; i < CometStats::kLatencyBuckets; ++i) {
    cumulative += get(s.store_latency_bucket[i]);
    out += std::string("appmsg_comet_store_seconds_bucket{le=\"") + bounds[i] + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += "appmsg_comet_store_seconds_sum " +
         std::to_string(static_cast<double>(get(s.store_latency_us_sum)) / 1e6) + "\n";
  out += "appmsg_comet_store_seconds_count " + std::to_string(get(s.store_latency_count)) + "\n";
  return out;
}

}  // namespace

void add_stats_routes(HttpRouter& router, const ChannelTable& table, const CometStats& stats,
                      std::chrono::steady_clock::time_point started) {
  router.add(
      "/stat", {"GET"},
      [&table, &stats, started](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
        std::string type(req.param_or("type"));
        if (type == "channel") {
          if (auto key = req.param("key"); key && !key->empty()) {
            size_t n = table.count(*key);
            if (n == 0) co_return HttpResponse{200, "application/json;charset=utf-8", "", {}};
            co_return stat_json(json{{"channel", {{"conn", n}}}});
          }
          co_return stat_json(json{{"access", get(stats.channel_access)},
                                   {"create", table.created()},
                                   {"delete", table.deleted()},
                                   {"current", table.channels()}});
        }
        if (type == "message") {
          uint64_t ok = get(stats.message_succeed), failed = get(stats.message_failed);
          co_return stat_json(json{{"succeed", ok}, {"failed", failed}, {"total", ok + failed}});
        }
        if (type == "connection") {
          uint64_t add = get(stats.conn_add), remove = get(stats.conn_remove);
          co_return stat_json(json{{"add", add}, {"remove", remove}, {"current", add - remove}});
        }
        if (type == "server") co_return stat_json(server_info(started));
        co_return text_response(404, "Not Found\n");
      });
  router.add("/metrics", {"GET"},
             [&table, &stats](const HttpRequest&) -> asio::awaitable<HttpResponse> {
               HttpResponse r;
               r.content_type = "text/plain; version=0.0.4";
               r.body = metrics(table, stats);
               co_return r;
             });
}

void add_stat_rpc(HttpRouter& rpc_router, const std::string& secret, const ChannelTable& table,
                  const CometStats& stats, std::chrono::steady_clock::time_point started) {
  add_rpc_method(
      rpc_router, "stat", secret, [&table, &stats, started](const json&) -> asio::awaitable<json> {
        auto up = std::chrono::steady_clock::now() - started;
        co_return json{{"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(up).count()},
                       {"connections",
                        {{"tcp", stats.tcp_current.load(std::memory_order_relaxed)},
                         {"websocket", stats.ws_current.load(std::memory_order_relaxed)}}},
                       {"subscribed", table.connections()},
                       {"channels", table.channels()},
                       {"pushes", get(stats.pushes)},
                       {"deliveries", get(stats.deliveries)},
                       {"drops", get(stats.drops)},
                       {"store",
                        {{"calls", get(stats.store_calls)},
                         {"errors", get(stats.store_errors)},
                         {"latency_us_sum", get(stats.store_latency_us_sum)},
                         {"latency_count", get(stats.store_latency_count)}}}};
      });
}

}  // namespace appmsg::comet
