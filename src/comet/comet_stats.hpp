// Process-lifetime counters of the comet, updated lock-free from any thread, the stats
// listener's pages and the RPC `stat` summary (comet_stats.cpp): GET /stat?type=... with the
// original's JSON (spec/comet.md section 7: channel, message, connection, server; golang, memory
// and config are Go-specific or expose topology and answer 404) and GET /metrics in Prometheus text
// format.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/http_server.hpp"

namespace appmsg::comet {

struct CometStats {
  using Counter = std::atomic<uint64_t>;
  // connections
  Counter conn_add{0}, conn_remove{0};  // original "connection" add/remove
  std::atomic<int64_t> tcp_current{0}, ws_current{0};
  Counter sub_rejected_param{0}, sub_rejected_auth{0}, sub_rejected_full{0};
  Counter closed_heartbeat{0}, closed_slow{0}, closed_write_timeout{0}, closed_protocol{0};
  // channels
  Counter channel_access{0};  // lookups by a push that found connections
  // messages
  Counter message_succeed{0}, message_failed{0};  // per-connection writes, as the original
  Counter pushes{0}, deliveries{0}, drops{0};     // deliveries queued; drops = queue overflow
  // offline store
  Counter store_calls{0}, store_errors{0};
  // resume from a mid: connections that asked, messages replayed, reads of the store that failed
  Counter resumes{0}, resumed_messages{0}, resume_failures{0};
  // migrate: connections closed because their key moved to another node
  Counter closed_migrated{0};
  // Redis: token lookups and presence writes that failed; presence changes dropped (bound)
  Counter auth_errors{0}, presence_errors{0}, presence_dropped{0};
  Counter store_latency_us_sum{0}, store_latency_count{0};
  static constexpr int kLatencyBuckets = 8;  // <= 0.5, 1, 2, 5, 10, 50, 250 ms, +Inf
  Counter store_latency_bucket[kLatencyBuckets] = {};
  void observe_store_latency(uint64_t us);
};

inline void CometStats::observe_store_latency(uint64_t us) {
  static constexpr uint64_t bounds[kLatencyBuckets - 1] = {500,   1000,  2000,  5000,
                                                           10000, 50000, 250000};
  int i = 0;
  while (i < kLatencyBuckets - 1 && us > bounds[i]) ++i;
  store_latency_bucket[i].fetch_add(1, std::memory_order_relaxed);
  store_latency_us_sum.fetch_add(us, std::memory_order_relaxed);
  store_latency_count.fetch_add(1, std::memory_order_relaxed);
}

class ChannelTable;

void add_stats_routes(HttpRouter& router, const ChannelTable& table, const CometStats& stats,
                      std::chrono::steady_clock::time_point started);
// RPC `stat` (web's admin overview): {"uptime_s","connections":{"tcp","websocket"},
// "subscribed","channels","pushes","deliveries","drops","store":{"calls","errors",
// "latency_us_sum","latency_count"}}, counters since start.
void add_stat_rpc(HttpRouter& rpc_router, const std::string& secret, const ChannelTable& table,
                  const CometStats& stats, std::chrono::steady_clock::time_point started);

}  // namespace appmsg::comet
