// Counters of the message node, read by /stat (JSON) and /metrics (Prometheus text).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace appmsg::message {

struct MessageStats {
  using Counter = std::atomic<uint64_t>;
  Counter saves{0}, save_errors{0}, gets{0}, get_errors{0}, deletes{0}, delete_errors{0};
  Counter param_errors{0};
  Counter latency_us_sum{0}, calls{0};
  // Per shard: storage calls, failures and time spent (the shard set is fixed at start).
  struct Shard {
    Counter calls{0}, errors{0}, latency_us_sum{0};
  };
  std::map<std::string, Shard> shards;
  void observe_shard(const std::string& name, uint64_t micros, bool ok);

  nlohmann::json summary() const;  // /stat and the RPC `stat`
  std::string json() const { return summary().dump(4); }
  std::string metrics(const std::string& backend) const;
};

}  // namespace appmsg::message
