// Push: mids, fan-out to connections, offline copies through message nodes.
#include "comet/push_service.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "comet/tcp_protocol.hpp"
#include "common/message_nodes.hpp"
#include "common/rpc.hpp"
#include "common/timeid.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

PushService::PushService(ChannelTable& table, CometStats& stats, MessageNodes* store,
                         std::chrono::milliseconds store_timeout, size_t max_key_bytes)
    : table_(table),
      stats_(stats),
      store_(store),
      store_timeout_(store_timeout),
      max_key_bytes_(max_key_bytes) {}

int64_t PushService::next_mid() {
  int64_t now = now_micros();
  int64_t last = last_mid_.load(std::memory_order_relaxed);
  int64_t mid;
  do {
    mid = std::max(now, last + 1);
  } while (!last_mid_.compare_exchange_weak(last, mid, std::memory_order_relaxed));
  return mid;
}

asio::awaitable<std::vector<PushService::Result>> PushService::push(std::vector<Item> items) {
  std::vector<Result> results(items.size());
  json to_store = json::array();
  std::vector<size_t> stored_index;
  for (size_t i = 0; i < items.size(); ++i) {
    auto& item = items[i];
    auto& r = results[i];
    auto compact = compact_json(item.body);
    if (item.key.empty() || item.key.size() > max_key_bytes_ || !compact || item.expire < 0 ||
        item.expire > kMaxExpire) {
      r.code = push_error::param;
      r.error = item.key.empty() || item.key.size() > max_key_bytes_ ? "bad key"
                : !compact                                           ? "message is not JSON"
                                                                     : "expire out of range";
      continue;
    }
    r.mid = next_mid();
    stats_.pushes.fetch_add(1, std::memory_order_relaxed);
    auto subs = table_.find(item.key);
    if (!subs.empty()) {
      stats_.channel_access.fetch_add(1, std::memory_order_relaxed);
      auto msg = std::make_shared<Message>();
      msg->mid = r.mid;
      msg->new_payload = encode_new(*compact, r.mid);
      msg->old_payload = encode_old(item.body, r.mid);
      std::shared_ptr<const Message> shared = std::move(msg);
      for (auto& s : subs) s->deliver(shared);
    }
    if (item.expire > 0) {
      to_store.push_back({{"key", item.key},
                          {"msg", std::move(*compact)},
                          {"mid", r.mid},
                          {"expire", item.expire}});
      stored_index.push_back(i);
    }
  }
  if (stored_index.empty()) co_return results;

  auto fail_all = [&](const std::string& why) {
    for (size_t i : stored_index) {
      results[i].code = push_error::store;
      results[i].error = why;
    }
  };
  if (!store_) {
    fail_all("no message store configured");
    co_return results;
  }
  auto started = Clock::now();
  stats_.store_calls.fetch_add(1, std::memory_order_relaxed);
  json params{{"items", std::move(to_store)}};
  std::string failure;
  json reply;
  try {
    auto pending = store_->call("save_batch", params, store_timeout_);
    reply = co_await std::move(pending);
  } catch (const RpcError& e) {
    failure = e.what();
  }
  stats_.observe_store_latency(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count()));
  if (!failure.empty()) {
    stats_.store_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("push: storing {} offline copies failed: {}", stored_index.size(), failure);
    fail_all(failure);
    co_return results;
  }
  // {"errors":[{"index":i,"code":c,"message":m}]}: the items the node could not save.
  if (reply.is_object() && reply.contains("errors") && reply["errors"].is_array()) {
    for (auto& e : reply["errors"]) {
      size_t idx = e.value("index", static_cast<size_t>(-1));
      if (idx >= stored_index.size()) continue;
      auto& r = results[stored_index[idx]];
      r.code = push_error::store;
      r.error = e.value("message", std::string("not stored"));
      stats_.store_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  co_return results;
}

}  // namespace appmsg::comet
