// The push path: validate, assign the mid, hand the message to the key's live connections at
// once, and store the offline copy (expire > 0) through a message node, in one call per batch.
//
// mids: one process-wide generator, max(now_us, last + 1), so mids are strictly increasing per
// key (and across keys) without per-key state: a key with no connection needs no channel.
// The online delivery never waits for the store; the caller's answer does.
//
// Fence (resume without gaps): after_earlier_pushes(done) calls `done` once every push that
// had started when it was called has finished storing. A resuming connection joins its
// channel first and reads the store after the fence, so each message reaches it live, from the
// store, or both (the connection drops the duplicate), never neither.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "comet/channel_table.hpp"
#include "comet/comet_stats.hpp"
#include "common/lifeline.hpp"
#include "common/timeid.hpp"

namespace appmsg {
class MessageNodes;
}

namespace appmsg::comet {

namespace push_error {
// empty or oversized key, body not JSON or over limits::kMaxBodyBytes, expire out of range
constexpr int param = 100;
constexpr int store = 101;  // delivered online, but the offline copy could not be stored
}  // namespace push_error

class PushService {
 public:
  struct Item {
    std::string key;
    // The message as JSON text, carried as the caller sent it; shared by the items of a batch
    // that pushes one message to many keys.
    std::shared_ptr<const std::string> body;
    int64_t expire = 0;  // seconds to keep the offline copy; 0 = online only
  };
  struct Result {
    int64_t mid = 0;
    int code = 0;  // 0 = ok, else push_error::*
    std::string error;
  };
  PushService(ChannelTable& table, CometStats& stats, MessageNodes* store,
              std::chrono::milliseconds store_timeout);

  // Results in the order of the items. Must run on the executor of `store`.
  boost::asio::awaitable<std::vector<Result>> push(std::vector<Item> items);

  int64_t next_mid();
  // See the fence above. Runs `done(true)` at once when no earlier push is in flight, later
  // when they have ended; `done(false)` at once when kMaxFenceWaiters already wait (the
  // resuming client is closed and retries). Same executor.
  static constexpr size_t kMaxFenceWaiters = 20000;  // one per resuming connection
  void after_earlier_pushes(std::function<void(bool)> done);
  // False once this object is gone: work it started checks this after every wait.
  std::shared_ptr<const bool> alive() const { return lifeline_.token(); }

 private:
  void push_finished(uint64_t seq);

  ChannelTable& table_;
  CometStats& stats_;
  MessageNodes* store_;
  std::chrono::milliseconds store_timeout_;
  TimeId mids_;           // one generator for the process: mids increase per key and across keys
  uint64_t started_ = 0;  // pushes begun, as a sequence
  std::set<uint64_t> in_flight_;  // their numbers, until they end
  std::vector<std::pair<uint64_t, std::function<void(bool)>>> fence_waiters_;  // (last seq, done)
  Lifeline lifeline_;  // a push frame destroyed after this object must not touch it
};

}  // namespace appmsg::comet
