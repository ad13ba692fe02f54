// A comet's push queue: lanes, batching, one deadline per push, bounded waiting.
#include "web/comet_push_queue.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "common/rpc.hpp"
#include "common/spawn.hpp"
#include "web/api_codes.hpp"

namespace appmsg::web {

namespace asio = boost::asio;
using nlohmann::json;

struct CometPushQueue::Entry {
  std::vector<std::string> keys;
  std::shared_ptr<const std::string> msg;
  int64_t expire = 0;
  std::vector<PushItem> items;  // per-key copies (push_items); keys holds their keys too
  Clock::time_point deadline;
  std::optional<Handler> handler;  // emplaced: Boost 1.81's move assignment recurses
  bool sent = false, answered = false;
  std::multimap<Clock::time_point, EntryPtr>::iterator where;
};

namespace {

std::vector<PushResult> all(size_t n, int ret, const std::string& why) {
  return std::vector<PushResult>(n, PushResult{ret, 0, why});
}

// A comet's code for one push as web's `ret`.
int ret_for_comet_code(int code) {
  if (code == kCometParamError) return kParamErr;
  if (code == kCometStoreError) return kNotStored;
  return kInternalErr;
}

// A failed call: nothing reached the comet (65535), or it may have (1005: the deadline passed
// with the request sent), or the comet refused the call (its code).
int ret_for_call_error(const RpcError& e) {
  if (e.code() == rpc_code::timeout) return kOutcomeUnknown;
  if (e.transport()) return kInternalErr;
  return ret_for_comet_code(e.code());
}

}  // namespace

CometPushQueue::CometPushQueue(asio::any_io_executor ex, std::string name, Call call)
    : ex_(ex), name_(std::move(name)), call_(std::move(call)), live_(ex), stored_(ex), timer_(ex) {
  live_.max_in_flight = kLiveCalls;
  stored_.max_in_flight = kStoredCalls;
}

CometPushQueue::~CometPushQueue() {
  // Only reached when nothing awaits a push (each waiter and each call holds the queue), but
  // a handler must never be dropped unanswered.
  for (auto& [at, e] : deadlines_) {
    if (e->answered) continue;
    e->answered = true;
    asio::post(ex_, [h = std::move(*e->handler), n = e->keys.size()]() mutable {
      std::move(h)(all(n, kInternalErr, "comet gone"));
    });
  }
}

asio::awaitable<std::vector<PushResult>> CometPushQueue::push(
    std::vector<std::string> keys, std::shared_ptr<const std::string> msg, int64_t expire,
    Clock::time_point deadline) {
  auto e = std::make_shared<Entry>();
  e->keys = std::move(keys);
  e->msg = std::move(msg);
  e->expire = expire;
  e->deadline = deadline;
  auto op = submit(std::move(e));
  co_return co_await std::move(op);
}

asio::awaitable<std::vector<PushResult>> CometPushQueue::push_items(std::vector<PushItem> items,
                                                                    Clock::time_point deadline) {
  if (items.empty()) co_return std::vector<PushResult>{};
  if (items.size() == 1) {
    auto op = push({items[0].key}, items[0].msg, items[0].expire, deadline);
    co_return co_await std::move(op);
  }
  auto e = std::make_shared<Entry>();
  for (auto& it : items) {
    e->keys.push_back(it.key);
    e->expire = std::max(e->expire, it.expire);
  }
  e->items = std::move(items);
  e->deadline = deadline;
  auto op = submit(std::move(e));
  co_return co_await std::move(op);
}

asio::awaitable<std::vector<PushResult>> CometPushQueue::submit(EntryPtr e) {
  const size_t n = e->keys.size();
  counters_.pushes += n;
  if (waiting_keys_ + n > kMaxQueued) {
    ++counters_.queue_full;
    counters_.errors += n;
    log_failure(std::to_string(waiting_keys_) + " pushes waiting; refusing more");
    co_return all(n, kInternalErr, "comet queue full");
  }
  if (e->deadline <= Clock::now()) {
    counters_.errors += n;
    co_return all(n, kInternalErr, "deadline passed before sending");
  }
  auto init = [this, &e](auto handler) {
    e->handler.emplace(std::move(handler));
    enqueue(std::move(e));
  };
  auto op = asio::async_initiate<const asio::use_awaitable_t<>&, void(std::vector<PushResult>)>(
      init, asio::use_awaitable);
  co_return co_await std::move(op);
}

void CometPushQueue::enqueue(EntryPtr e) {
  waiting_keys_ += e->keys.size();
  e->where = deadlines_.emplace(e->deadline, e);
  Lane& lane = e->expire > 0 ? stored_ : live_;
  lane.queued.push_back(std::move(e));
  arm_timer();
  pump(lane);
}

void CometPushQueue::pump(Lane& lane) {
  while (lane.in_flight < lane.max_in_flight && !lane.queued.empty()) {
    if (lane.in_flight > 0 && Clock::now() < lane.last_sent + kSlowCall) {
      if (!lane.wake_armed) {
        lane.wake_armed = true;
        lane.wake.expires_at(lane.last_sent + kSlowCall);
        lane.wake.async_wait([weak = weak_from_this(), &lane](boost::system::error_code) {
          auto self = weak.lock();
          if (!self) return;
          lane.wake_armed = false;
          self->pump(lane);
        });
      }
      return;
    }
    std::vector<EntryPtr> batch;
    size_t keys = 0;
    while (!lane.queued.empty()) {
      auto& next = lane.queued.front();
      if (next->answered) {  // answered at its deadline while queued
        lane.queued.pop_front();
        continue;
      }
      // A push of one message to many keys leaves in a call of its own (the keys form).
      bool many = next->keys.size() > 1;
      if (!batch.empty() && (many || keys + 1 > kMaxBatch)) break;
      keys += next->keys.size();
      next->sent = true;
      batch.push_back(std::move(next));
      lane.queued.pop_front();
      if (many) break;
    }
    if (batch.empty()) return;
    ++lane.in_flight;
    lane.last_sent = Clock::now();
    spawn(ex_, send(shared_from_this(), lane, std::move(batch)), "comet " + name_ + ": push");
  }
}

asio::awaitable<void> CometPushQueue::send(std::shared_ptr<CometPushQueue> self, Lane& lane,
                                           std::vector<EntryPtr> batch) {
  (void)self;  // keeps this queue, and so `lane`, alive until the call is over
  auto latest = batch.front()->deadline;
  size_t keys = 0;
  for (auto& e : batch) {
    latest = std::max(latest, e->deadline);
    keys += e->keys.size();
  }
  std::string method = "push_batch";
  json params;
  if (batch.size() == 1 && !batch[0]->items.empty()) {
    json items = json::array();
    for (auto& it : batch[0]->items)
      items.push_back({{"key", it.key}, {"msg", *it.msg}, {"expire", it.expire}});
    params = {{"items", std::move(items)}};
  } else if (batch.size() == 1 && batch[0]->keys.size() > 1) {
    auto& e = *batch[0];
    params = {{"keys", e.keys}, {"msg", *e.msg}, {"expire", e.expire}};
  } else if (batch.size() == 1) {
    auto& e = *batch[0];
    method = "push";
    params = {{"key", e.keys[0]}, {"msg", *e.msg}, {"expire", e.expire}};
  } else {
    json items = json::array();
    for (auto& e : batch)
      items.push_back({{"key", e->keys[0]}, {"msg", *e->msg}, {"expire", e->expire}});
    params = {{"items", std::move(items)}};
  }
  ++(method == "push" ? counters_.push_calls : counters_.batch_calls);
  std::vector<PushResult> results(keys);
  try {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(latest - Clock::now());
    auto op = call_(method, std::move(params), std::max(left, std::chrono::milliseconds(1)));
    json reply = co_await std::move(op);
    // `push` answers one result ({"mid":N} or with "code" 101); `push_batch` a list of them.
    const json rs = method == "push" ? json::array({reply}) : reply.at("results");
    if (rs.size() < results.size()) throw std::runtime_error("too few results");
    for (size_t i = 0; i < results.size(); ++i) {
      results[i].mid = rs[i].at("mid").get<int64_t>();
      if (int code = rs[i].value("code", 0)) {
        results[i].ret = ret_for_comet_code(code);
        results[i].error = rs[i].value("error", std::string());
      }
    }
  } catch (const RpcError& e) {
    results = all(keys, ret_for_call_error(e), e.what());
    log_failure(method + ": " + e.what());
  } catch (const std::exception& e) {  // an answer of the wrong shape: the comet had the push
    results = all(keys, kOutcomeUnknown, e.what());
    log_failure(method + " answer: " + e.what());
  }
  --lane.in_flight;
  size_t at = 0;
  for (auto& e : batch) {
    auto first = results.begin() + static_cast<std::ptrdiff_t>(at);
    at += e->keys.size();
    finish(e, std::vector<PushResult>(first, results.begin() + static_cast<std::ptrdiff_t>(at)));
  }
  pump(lane);
}

void CometPushQueue::finish(const EntryPtr& e, std::vector<PushResult> results) {
  if (e->answered) return;  // its deadline came first
  e->answered = true;
  deadlines_.erase(e->where);
  waiting_keys_ -= e->keys.size();
  for (auto& r : results) counters_.errors += r.ret != 0;
  // Posted: the waiting requests resume after the caller's loop, not inside it.
  asio::post(ex_, [h = std::move(*e->handler), r = std::move(results)]() mutable {
    std::move(h)(std::move(r));
  });
}

void CometPushQueue::arm_timer() {
  if (deadlines_.empty()) return;
  auto at = deadlines_.begin()->first;
  if (at >= timer_at_) return;  // the timer already wakes earlier; it re-arms then
  timer_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->timer_at_ = Clock::time_point::max();
    self->on_deadlines();
  });
}

void CometPushQueue::on_deadlines() {
  const auto now = Clock::now();
  bool expired_queued = false;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    EntryPtr e = deadlines_.begin()->second;
    const size_t n = e->keys.size();
    if (e->sent) {
      counters_.expired_sent += n;
      finish(e, all(n, kOutcomeUnknown, "deadline passed; the comet has not answered"));
    } else {
      counters_.expired_queued += n;
      expired_queued = true;
      finish(e, all(n, kInternalErr, "deadline passed while queued; not sent"));
    }
  }
  if (expired_queued) {
    log_failure("pushes reached their deadline while queued");
    for (Lane* lane : {&live_, &stored_}) {
      std::erase_if(lane->queued, [](const EntryPtr& e) { return e->answered; });
    }
  }
  arm_timer();
}

void CometPushQueue::log_failure(const std::string& what) {
  auto now = Clock::now();
  if (now - last_failure_log_ < std::chrono::seconds(1)) return;
  last_failure_log_ = now;
  spdlog::warn("comet {}: {} ({} failed pushes so far)", name_, what, counters_.errors);
}

}  // namespace appmsg::web
