// A small cache of values that expire after a fixed time, bounded in entries (when full, it is
// emptied: lookups then go to the source again). Single-threaded: web's event loop.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace appmsg::web::app {

template <class V>
class TtlCache {
 public:
  using Clock = std::chrono::steady_clock;
  TtlCache(std::chrono::seconds ttl, size_t max_entries) : ttl_(ttl), max_(max_entries) {}

  const V* find(const std::string& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (Clock::now() >= it->second.until) {
      map_.erase(it);
      return nullptr;
    }
    return &it->second.value;
  }
  void put(const std::string& key, V value) {
    if (ttl_.count() <= 0) return;
    if (map_.size() >= max_) map_.clear();
    map_.insert_or_assign(key, Entry{std::move(value), Clock::now() + ttl_});
  }
  void erase(const std::string& key) { map_.erase(key); }
  void clear() { map_.clear(); }
  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    V value;
    Clock::time_point until;
  };
  std::chrono::seconds ttl_;
  size_t max_;
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace appmsg::web::app
