// Push: mids, fan-out to connections, offline copies through message nodes.
#include "comet/push_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "comet/tcp_protocol.hpp"
#include "common/limits.hpp"
#include "common/message_nodes.hpp"
#include "common/rpc.hpp"
#include "common/timeid.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

PushService::PushService(ChannelTable& table, CometStats& stats, MessageNodes* store,
                         std::chrono::milliseconds store_timeout)
    : table_(table), stats_(stats), store_(store), store_timeout_(store_timeout) {}

int64_t PushService::next_mid() {
  return mids_.next();
}

namespace {

// A body checked and encoded once: the payloads of every message carrying it differ only in
// the mid ({"msg":...,"mid":N,"gid":0}), so a batch of one message to many keys pays for the
// JSON work once. The body's bytes are never rewritten (common/json_text.hpp).
struct PreparedBody {
  std::shared_ptr<const std::string> raw;
  bool valid = false;
  std::string new_head, old_head;  // payload up to the mid's digits (old: only when needed)
};

constexpr std::string_view kPayloadTail = ",\"gid\":0}";

std::string head_of(std::string payload_with_mid_0) {
  // "...,"mid":0,"gid":0}" -> "...,"mid":"
  payload_with_mid_0.resize(payload_with_mid_0.size() - kPayloadTail.size() - 1);
  return payload_with_mid_0;
}

void prepare(PreparedBody& p, const std::shared_ptr<const std::string>& raw) {
  if (p.raw && (p.raw == raw || *p.raw == *raw)) return;
  p.raw = raw;
  p.valid = is_json(*raw);
  p.old_head.clear();  // encoded when a recipient wants the old format
  if (p.valid) p.new_head = head_of(encode_new(*raw, 0));
}

std::string payload(const std::string& head, int64_t mid) {
  std::string out;
  out.reserve(head.size() + 20 + kPayloadTail.size());
  out += head;
  out += std::to_string(mid);
  out += kPayloadTail;
  return out;
}

// Deliveries grouped by the executor their connections live on: one job per executor.
struct DeliveryGroup {
  asio::any_io_executor ex;
  std::vector<std::pair<ChannelTable::SubscriberPtr, std::shared_ptr<const Message>>> items;
};

void add_delivery(std::vector<DeliveryGroup>& groups, ChannelTable::SubscriberPtr s,
                  std::shared_ptr<const Message> m) {
  auto ex = s->executor();
  for (auto& g : groups) {
    if (g.ex == ex) {
      g.items.emplace_back(std::move(s), std::move(m));
      return;
    }
  }
  groups.push_back({ex, {}});
  groups.back().items.emplace_back(std::move(s), std::move(m));
}

// Runs `fn` on `ex` and resumes the caller (on its own executor) once it has run.
template <class F>
asio::awaitable<void> run_on(asio::any_io_executor ex, F fn) {
  auto init = [ex, fn = std::move(fn)](auto handler) mutable {
    asio::post(ex, [fn = std::move(fn), handler = std::move(handler)]() mutable {
      fn();
      auto home = asio::get_associated_executor(handler);
      asio::post(home, std::move(handler));
    });
  };
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(init, asio::use_awaitable);
}

}  // namespace

void PushService::after_earlier_pushes(std::function<void(bool)> done) {
  if (in_flight_.empty()) return done(true);
  if (fence_waiters_.size() >= kMaxFenceWaiters) return done(false);
  fence_waiters_.emplace_back(started_, std::move(done));
}

void PushService::push_finished(uint64_t seq) {
  in_flight_.erase(seq);
  uint64_t oldest = in_flight_.empty() ? UINT64_MAX : *in_flight_.begin();
  std::vector<std::function<void(bool)>> ready;
  std::erase_if(fence_waiters_, [&](auto& w) {
    if (w.first >= oldest) return false;
    ready.push_back(std::move(w.second));
    return true;
  });
  for (auto& done : ready) done(true);
}

asio::awaitable<std::vector<PushService::Result>> PushService::push(std::vector<Item> items) {
  uint64_t seq = ++started_;
  in_flight_.insert(seq);
  struct Finish {  // every way out of this coroutine, its destruction included, ends the push
    PushService* self;
    uint64_t seq;
    std::shared_ptr<const bool> alive;
    ~Finish() {
      if (*alive) self->push_finished(seq);
    }
  } finish{this, seq, lifeline_.token()};
  std::vector<Result> results(items.size());
  json to_store = json::array();
  std::vector<size_t> stored_index;
  std::vector<DeliveryGroup> groups;
  PreparedBody body;
  for (size_t i = 0; i < items.size(); ++i) {
    auto& item = items[i];
    auto& r = results[i];
    bool bad_key = item.key.empty() || item.key.size() > limits::kMaxKeyBytes;
    if (!item.body) item.body = std::make_shared<const std::string>();
    bool too_large = item.body->size() > limits::kMaxBodyBytes;
    if (!too_large) prepare(body, item.body);
    if (bad_key || too_large || !body.valid || item.expire < 0 ||
        item.expire > limits::kMaxExpireSeconds) {
      r.code = push_error::param;
      r.error = bad_key       ? "bad key"
                : too_large   ? "message too large"
                : !body.valid ? "message is not JSON"
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
      msg->new_payload = payload(body.new_head, r.mid);
      if (std::any_of(subs.begin(), subs.end(), [](auto& s) { return s->old_format(); })) {
        if (body.old_head.empty()) body.old_head = head_of(encode_old(*body.raw, 0));
        msg->old_payload = payload(body.old_head, r.mid);
      }
      std::shared_ptr<const Message> shared = std::move(msg);
      for (auto& s : subs) add_delivery(groups, std::move(s), shared);
    }
    if (item.expire > 0) {
      to_store.push_back(
          {{"key", item.key}, {"msg", *item.body}, {"mid", r.mid}, {"expire", item.expire}});
      stored_index.push_back(i);
    }
  }
  // Online delivery first: one job per executor, and the call waits until each job has run, so
  // that pushes can never outrun delivery (no unbounded queue of posted jobs); the store comes
  // after, so delivery never waits for it.
  for (auto& g : groups) {
    auto op = run_on(g.ex, [items = std::move(g.items)] {
      for (auto& [s, m] : items) s->deliver_here(m);
    });
    co_await std::move(op);
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
