// What a storage backend offers the message RPC. Both backends (Redis shards, MySQL shards)
// keep the same semantics: messages of a key ordered by mid, each with an absolute expiry,
// at most `store` per key (Redis), reads strictly after a mid, oldest first, with a limit.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace appmsg::message {

struct StoredMessage {
  std::string key;
  std::string msg;  // compact JSON text
  int64_t mid = 0;
  int64_t expire_at = 0;  // absolute unix seconds
};

struct GetResult {
  std::vector<std::pair<int64_t, std::string>> messages;  // (mid, msg JSON), rising mid
  bool more = false;  // more messages remain after the last one returned
};

// Told of every storage call a backend makes to one shard: its name, how long it took, and
// whether it failed. Set before start(); called on the store's executor.
using ShardObserver = std::function<void(const std::string& shard, uint64_t micros, bool ok)>;

class MessageStore {
 public:
  virtual ~MessageStore() = default;
  void observe(ShardObserver o) { observer_ = std::move(o); }
  virtual void start() = 0;
  virtual void stop() = 0;
  // One error text per item: nullopt = saved. Throws only for a programming error.
  virtual boost::asio::awaitable<std::vector<std::optional<std::string>>> save(
      std::vector<StoredMessage> items) = 0;
  // Throws std::runtime_error (with a clear text) when the shard cannot answer in time.
  virtual boost::asio::awaitable<GetResult> get(std::string key, int64_t after_mid, int limit) = 0;
  virtual boost::asio::awaitable<void> remove(std::string key) = 0;
  // The shard name a key lives on (for stats and tests).
  virtual std::string shard_of(const std::string& key) const = 0;

 protected:
  void report(const std::string& shard, std::chrono::steady_clock::time_point started, bool ok) {
    if (!observer_) return;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    observer_(shard, static_cast<uint64_t>(us.count()), ok);
  }

 private:
  ShardObserver observer_;
};

}  // namespace appmsg::message
