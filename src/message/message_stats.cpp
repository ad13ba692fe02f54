// /stat and /metrics bodies of the message node.
#include "message/message_stats.hpp"

#include <nlohmann/json.hpp>

namespace appmsg::message {

namespace {
uint64_t get(const std::atomic<uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}
}  // namespace

std::string MessageStats::json() const {
  return nlohmann::json{{"save", {{"total", get(saves)}, {"failed", get(save_errors)}}},
                        {"get", {{"total", get(gets)}, {"failed", get(get_errors)}}},
                        {"delete", {{"total", get(deletes)}, {"failed", get(delete_errors)}}},
                        {"param_errors", get(param_errors)}}
      .dump(4);
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
  return out;
}

}  // namespace appmsg::message
