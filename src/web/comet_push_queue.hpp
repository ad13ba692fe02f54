// One comet's push queue on the web node: every push to a key of that comet (admin single and
// batch pushes, and later the /app pushes) waits here for its RPC call, bounded in count, and
// is answered by its own deadline.
//
// Lanes. A comet answers a call once each of its pushes is delivered to the live connections
// and, when it has an expire, stored (a message-node round trip, up to [rpc] store.timeout
// when a node stalls). So that a push waits only for its own work:
//   - live-only pushes (expire 0) travel in the live lane, whose calls the comet answers right
//     after delivery: they never wait behind a store;
//   - stored pushes travel in the stored lane, with up to kStoredCalls calls out at once, so
//     that a stalled store holds back only the calls already waiting on it. A further call
//     goes out only once the lane's latest call has been out for kSlowCall: a healthy comet
//     answers sooner, so its pushes keep gathering into large batches (many small concurrent
//     calls cost half the throughput), while a stalled store does not hold everything back.
// In each lane, what queued while the lane's calls were out leaves in one push_batch (at most
// kMaxBatch keys): an idle comet gets each push at once, a busy one gets batches.
//
// Deadline. Each push carries one deadline, set when its request reached web: it is answered
// by then whatever happens. Still queued at its deadline: 65535 (it was never sent; safe to
// retry). Sent but unanswered by then: 1005 (the comet has it; it may have been delivered).
// The call's own deadline is the latest of its pushes', so a comet that answers late is still
// heard by the pushes whose deadlines have not passed.
//
// Bounds. At kMaxQueued keys waiting (queued or out), new pushes answer 65535 at once.
// Threads: everything here runs on web's one event loop; a call in flight keeps the queue
// alive (shared_from_this), and a destroyed queue's handlers are never called.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace appmsg::web {

// The outcome of a push to one key: web's `ret` (0, 1004, 1005, 65534, 65535), the mid.
struct PushResult {
  int ret = 0;
  int64_t mid = 0;
  std::string error;
};

// One copy of a fan-out: its own key, message text and expire.
struct PushItem {
  std::string key;
  std::shared_ptr<const std::string> msg;
  int64_t expire = 0;
};

class CometPushQueue : public std::enable_shared_from_this<CometPushQueue> {
 public:
  using Clock = std::chrono::steady_clock;
  using Call = std::function<boost::asio::awaitable<nlohmann::json>(
      std::string method, nlohmann::json params, std::chrono::milliseconds deadline)>;
  static constexpr size_t kMaxBatch = 512;     // keys in one push_batch
  static constexpr size_t kMaxQueued = 10000;  // keys waiting, queued or out
  static constexpr int kLiveCalls = 1;         // enough: the comet answers these in µs
  static constexpr int kStoredCalls = 16;      // calls that may wait on a store at once
  static constexpr std::chrono::milliseconds kSlowCall{100};  // see Lanes above

  struct Counters {
    uint64_t pushes = 0, errors = 0, queue_full = 0, expired_queued = 0, expired_sent = 0;
    uint64_t push_calls = 0, batch_calls = 0;  // RPC calls made: push, push_batch
  };

  // `call` makes one RPC call to the comet; `name` is for logs.
  CometPushQueue(boost::asio::any_io_executor ex, std::string name, Call call);
  ~CometPushQueue();

  // `msg` is the body's JSON text, as pushed; results in the order of `keys`. By value: the
  // coroutine runs when awaited.
  boost::asio::awaitable<std::vector<PushResult>> push(std::vector<std::string> keys,
                                                       std::shared_ptr<const std::string> msg,
                                                       int64_t expire, Clock::time_point deadline);
  // Copies that differ per key (an /app fan-out): they leave together in one push_batch call of
  // their own (its items form), in the stored lane when any of them has an expire.
  boost::asio::awaitable<std::vector<PushResult>> push_items(std::vector<PushItem> items,
                                                             Clock::time_point deadline);
  size_t waiting() const { return waiting_keys_; }
  const Counters& counters() const { return counters_; }

 private:
  using Handler = boost::asio::any_completion_handler<void(std::vector<PushResult>)>;
  struct Entry;
  using EntryPtr = std::shared_ptr<Entry>;
  struct Lane {
    explicit Lane(const boost::asio::any_io_executor& ex) : wake(ex) {}
    std::deque<EntryPtr> queued;
    int in_flight = 0;
    int max_in_flight = 1;
    Clock::time_point last_sent{};
    boost::asio::steady_timer wake;  // pumps again when a further call may go out
    bool wake_armed = false;
  };

  boost::asio::awaitable<std::vector<PushResult>> submit(EntryPtr e);
  void enqueue(EntryPtr e);
  void pump(Lane& lane);
  boost::asio::awaitable<void> send(std::shared_ptr<CometPushQueue> self, Lane& lane,
                                    std::vector<EntryPtr> batch);
  void finish(const EntryPtr& e, std::vector<PushResult> results);
  void arm_timer();
  void on_deadlines();
  void log_failure(const std::string& what);  // at most once a second

  boost::asio::any_io_executor ex_;
  std::string name_;
  Call call_;
  Lane live_, stored_;
  std::multimap<Clock::time_point, EntryPtr> deadlines_;  // every unanswered entry
  boost::asio::steady_timer timer_;
  Clock::time_point timer_at_ = Clock::time_point::max();
  size_t waiting_keys_ = 0;
  Counters counters_;
  Clock::time_point last_failure_log_{};
};

}  // namespace appmsg::web
