// /stat and /metrics bodies of the message node.
#include "message/message_stats.hpp"

#include <nlohmann/json.hpp>

namespace appmsg::message {

namespace {
uint64_t get(const std::atomic<uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}
}  // namespace

void MessageStats::observe_shard(const std::string& name, uint64_t micros, bool ok) {
  auto it = shards.find(name);
  if (it == shards.end()) return;
  it->second.calls.fetch_add(1, std::memory_order_relaxed);
  if (!ok) it->second.errors.fetch_add(1, std::memory_order_relaxed);
  it->second.latency_us_sum.fetch_add(micros, std::memory_order_relaxed);
}

nlohmann::json MessageStats::summary() const {
  nlohmann::json per_shard = nlohmann::json::object();
  for (auto& [name, sh] : shards) {
    per_shard[name] = {{"calls", get(sh.calls)},
                       {"failed", get(sh.errors)},
                       {"latency_us_sum", get(sh.latency_us_sum)}};
  }
  return nlohmann::json{{"shards", std::move(per_shard)},
                        {"save", {{"total", get(saves)}, {"failed", get(save_errors)}}},
                        {"get", {{"total", get(gets)}, {"failed", get(get_errors)}}},
                        {"delete", {{"total", get(deletes)}, {"failed", get(delete_errors)}}},
                        {"param_errors", get(param_errors)},
                        {"calls", get(calls)},
                        {"latency_us_sum", get(latency_us_sum)}};
}

std::string MessageStats::metrics(const std::string& backend) const {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           "{backend=\"" + backend + "\"} " + std::to_string(v) + "\n";
  };
  counter("appmsg_message_saves_total", "Messages saved.", get(saves));
  counter("appmsg_message_save_errors_total", "Messages that could not be saved.",
          get(save_errors));
  counter("appmsg_message_gets_total", "Reads of a key.", get(gets));
  counter("appmsg_message_get_errors_total", "Reads that failed.", get(get_errors));
  counter("appmsg_message_deletes_total", "Deletes of a key.", get(deletes));
  counter("appmsg_message_delete_errors_total", "Deletes that failed.", get(delete_errors));
  counter("appmsg_message_param_errors_total", "Calls refused for bad parameters.",
          get(param_errors));
  counter("appmsg_message_call_seconds_us_sum", "Microseconds spent in storage calls.",
          get(latency_us_sum));
  counter("appmsg_message_calls_total", "Storage calls.", get(calls));
  auto shard_counter = [&](const char* name, const char* help, auto field) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (auto& [shard, sh] : shards) {
      out += std::string(name) + "{backend=\"" + backend + "\",shard=\"" + shard + "\"} " +
             std::to_string(get(sh.*field)) + "\n";
    }
  };
  shard_counter("appmsg_message_shard_calls_total", "Storage calls per shard.", &Shard::calls);
  shard_counter("appmsg_message_shard_errors_total", "Failed storage calls per shard.",
                &Shard::errors);
  shard_counter("appmsg_message_shard_seconds_us_sum", "Microseconds spent per shard.",
                &Shard::latency_us_sum);
  return out;
}

}  // namespace appmsg::message
