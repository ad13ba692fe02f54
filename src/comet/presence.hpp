// Presence: while a key has a live connection here, Redis holds "presence:<key>" = this node's
// name with a TTL, so web nodes can tell who is online without asking every comet.
//
// Connections report joins and leaves (any thread, never blocking: a mutex-guarded map of
// pending changes). Once a second the control context writes them in one pipeline per Redis
// shard; every ttl/3 it refreshes every live key. A leave deletes the key only when it still
// names this node (a client may already have moved to another comet). Redis being down costs
// log lines and a counter, never a stalled connection.
//
// Pending changes are bounded (max_pending keys): while Redis is slow and the map is full, a
// change to a further key is dropped and counted, and the next flush rewrites every live key
// instead (joins are then written; a dropped leave's key expires with its TTL).
//
// Session keys (<uid>_<type>-<device>@user) are also listed per user for the /app API
// (common/session_keys.hpp), in the same flush.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "comet/channel_table.hpp"
#include "common/lifeline.hpp"
#include "common/redis_shards.hpp"

namespace appmsg::comet {

class Presence {
 public:
  static constexpr std::string_view kPrefix = "presence:";
  static constexpr size_t kMaxPending = 100'000;  // keys with an unwritten change

  Presence(boost::asio::any_io_executor control, RedisShards& redis, ChannelTable& table,
           std::string node, std::chrono::seconds ttl, std::atomic<uint64_t>& errors,
           std::atomic<uint64_t>& dropped, size_t max_pending = kMaxPending);
  void changed(const std::string& key, bool joined);  // thread-safe
  void start();
  boost::asio::awaitable<void> flush();  // writes pending changes now (also used on stop)
  void stop();
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> write(std::vector<std::pair<std::string, bool>> changes);

  boost::asio::any_io_executor ex_;
  RedisShards& redis_;
  ChannelTable& table_;
  std::string node_;
  std::chrono::seconds ttl_;
  std::mutex mu_;                                  // guards pending_ and resync_
  std::unordered_map<std::string, bool> pending_;  // key -> joined (last change wins)
  size_t max_pending_;
  bool resync_ = false;  // a change was dropped: the next flush rewrites every live key
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  std::atomic<uint64_t>& errors_;  // the comet's counters
  std::atomic<uint64_t>& dropped_;
  Lifeline lifeline_;  // last member: the loop stops when presence is gone
};

}  // namespace appmsg::comet
