// The channel table: key -> the live connections subscribed to it (newest first).
//
// A channel exists exactly while it has a connection: add() creates it, the last remove()
// frees it, and looking a key up never creates one. The table is split into shards chosen by
// MurmurHash3 h1 & (shards - 1); each shard has its own mutex, held only to copy or edit one
// entry (never across I/O or a callback). The table owns the connections it holds
// (shared_ptr); a connection removes itself exactly once when it closes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "comet/subscriber.hpp"

namespace appmsg::comet {

class ChannelTable {
 public:
  using SubscriberPtr = std::shared_ptr<Subscriber>;

  // `shards` is rounded up to a power of two; `max_per_key` connections per key.
  ChannelTable(size_t shards, size_t max_per_key);

  enum class AddResult { added, full };
  AddResult add(const std::string& key, SubscriberPtr s);
  // Removes `s` from `key`; frees the channel when it was the last. False when not there.
  bool remove(const std::string& key, const Subscriber* s);
  // The connections of `key`, newest first (a copy: safe to use without the lock).
  std::vector<SubscriberPtr> find(std::string_view key) const;
  size_t count(std::string_view key) const;
  // Removes the whole channel and returns its connections (the caller closes them).
  std::vector<SubscriberPtr> take(std::string_view key);
  // Removes every channel whose key satisfies `pred` and returns their connections.
  std::vector<SubscriberPtr> take_if(const std::function<bool(const std::string&)>& pred);
  // A copy of every key (for the presence refresh), one shard lock at a time.
  std::vector<std::string> keys() const;
  size_t channels() const { return channels_.load(std::memory_order_relaxed); }
  size_t connections() const { return connections_.load(std::memory_order_relaxed); }
  size_t shard_count() const { return shards_.size(); }
  uint64_t created() const { return created_.load(std::memory_order_relaxed); }
  uint64_t deleted() const { return deleted_.load(std::memory_order_relaxed); }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<SubscriberPtr>, StringHash, std::equal_to<>> map;
  };
  Shard& shard_for(std::string_view key);
  const Shard& shard_for(std::string_view key) const;

  std::vector<Shard> shards_;
  size_t max_per_key_;
  std::atomic<size_t> channels_{0};
  std::atomic<size_t> connections_{0};
  std::atomic<uint64_t> created_{0}, deleted_{0};
};

}  // namespace appmsg::comet
