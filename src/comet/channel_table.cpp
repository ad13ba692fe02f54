// The channel table: sharded map of key -> connections.
#include "comet/channel_table.hpp"

#include <algorithm>

#include "common/hash.hpp"

namespace appmsg::comet {

namespace {
size_t round_up_pow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}
}  // namespace

ChannelTable::ChannelTable(size_t shards, size_t max_per_key)
    : shards_(round_up_pow2(std::max<size_t>(shards, 1))), max_per_key_(max_per_key) {}

ChannelTable::Shard& ChannelTable::shard_for(std::string_view key) {
  return shards_[murmur3_h1(key) & (shards_.size() - 1)];
}

const ChannelTable::Shard& ChannelTable::shard_for(std::string_view key) const {
  return shards_[murmur3_h1(key) & (shards_.size() - 1)];
}

ChannelTable::AddResult ChannelTable::add(const std::string& key, SubscriberPtr s) {
  Shard& sh = shard_for(key);
  std::lock_guard lock(sh.mu);
  auto [it, created] = sh.map.try_emplace(key);
  if (it->second.size() >= max_per_key_) return AddResult::full;
  it->second.insert(it->second.begin(), std::move(s));  // newest first
  if (created) {
    channels_.fetch_add(1, std::memory_order_relaxed);
    created_.fetch_add(1, std::memory_order_relaxed);
  }
  connections_.fetch_add(1, std::memory_order_relaxed);
  return AddResult::added;
}

bool ChannelTable::remove(const std::string& key, const Subscriber* s) {
  Shard& sh = shard_for(key);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) return false;
  auto& subs = it->second;
  auto pos = std::find_if(subs.begin(), subs.end(), [s](auto& p) { return p.get() == s; });
  if (pos == subs.end()) return false;
  subs.erase(pos);
  connections_.fetch_sub(1, std::memory_order_relaxed);
  if (subs.empty()) {
    sh.map.erase(it);
    channels_.fetch_sub(1, std::memory_order_relaxed);
    deleted_.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

std::vector<ChannelTable::SubscriberPtr> ChannelTable::find(std::string_view key) const {
  const Shard& sh = shard_for(key);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(key);
  return it == sh.map.end() ? std::vector<SubscriberPtr>{} : it->second;
}

size_t ChannelTable::count(std::string_view key) const {
  const Shard& sh = shard_for(key);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(key);
  return it == sh.map.end() ? 0 : it->second.size();
}

std::vector<std::string> ChannelTable::keys() const {
  std::vector<std::string> out;
  out.reserve(channels());
  for (auto& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (auto& [k, v] : sh.map) out.push_back(k);
  }
  return out;
}

std::vector<ChannelTable::SubscriberPtr> ChannelTable::take(std::string_view key) {
  Shard& sh = shard_for(key);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) return {};
  auto subs = std::move(it->second);
  sh.map.erase(it);
  channels_.fetch_sub(1, std::memory_order_relaxed);
  deleted_.fetch_add(1, std::memory_order_relaxed);
  connections_.fetch_sub(subs.size(), std::memory_order_relaxed);
  return subs;
}

std::vector<ChannelTable::SubscriberPtr> ChannelTable::take_if(
    const std::function<bool(const std::string&)>& pred) {
  std::vector<SubscriberPtr> out;
  for (auto& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (auto it = sh.map.begin(); it != sh.map.end();) {
      if (!pred(it->first)) {
        ++it;
        continue;
      }
      connections_.fetch_sub(it->second.size(), std::memory_order_relaxed);
      channels_.fetch_sub(1, std::memory_order_relaxed);
      deleted_.fetch_add(1, std::memory_order_relaxed);
      for (auto& s : it->second) out.push_back(std::move(s));
      it = sh.map.erase(it);
    }
  }
  return out;
}

}  // namespace appmsg::comet
