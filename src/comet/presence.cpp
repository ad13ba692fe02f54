// Presence in Redis: batched writes, periodic refresh, guarded deletes.
#include "comet/presence.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

#include "common/session_keys.hpp"
#include "common/spawn.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
// Deletes KEYS[1] only while it still names this node.
constexpr const char* kDeleteIfMine =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";
}  // namespace

Presence::Presence(asio::any_io_executor control, RedisShards& redis, ChannelTable& table,
                   std::string node, std::chrono::seconds ttl, std::atomic<uint64_t>& errors,
                   std::atomic<uint64_t>& dropped, size_t max_pending)
    : ex_(control),
      redis_(redis),
      table_(table),
      node_(std::move(node)),
      ttl_(ttl),
      max_pending_(max_pending),
      timer_(control),
      errors_(errors),
      dropped_(dropped) {}

void Presence::changed(const std::string& key, bool joined) {
  std::lock_guard lock(mu_);
  if (auto it = pending_.find(key); it != pending_.end()) {
    it->second = joined;
  } else if (pending_.size() < max_pending_) {
    pending_.emplace(key, joined);
  } else {
    resync_ = true;
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Presence::start() {
  spawn(ex_, loop(), "presence loop");
}

void Presence::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> Presence::loop() {
  auto alive = lifeline_.token();
  auto refresh_every = std::max<Clock::duration>(ttl_ / 3, std::chrono::seconds(1));
  auto next_refresh = Clock::now() + refresh_every;
  while (!stopped_) {
    timer_.expires_after(std::chrono::seconds(1));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!*alive || stopped_) co_return;
    auto op = flush();
    co_await std::move(op);
    if (!*alive) co_return;
    if (Clock::now() >= next_refresh) {
      next_refresh = Clock::now() + refresh_every;
      std::vector<std::pair<std::string, bool>> all;
      for (auto& k : table_.keys()) all.emplace_back(std::move(k), true);
      auto w = write(std::move(all));
      co_await std::move(w);
      if (!*alive) co_return;
    }
  }
}

asio::awaitable<void> Presence::flush() {
  std::unordered_map<std::string, bool> changes;
  bool resync = false;
  {
    std::lock_guard lock(mu_);
    changes.swap(pending_);
    std::swap(resync, resync_);
  }
  std::vector<std::pair<std::string, bool>> list;
  for (auto& [k, joined] : changes) {
    // A leave while another connection of the key is still here is no leave.
    list.emplace_back(k, joined || table_.count(k) > 0);
  }
  if (resync) {
    for (auto& k : table_.keys()) {
      if (!changes.count(k)) list.emplace_back(std::move(k), true);
    }
  }
  auto w = write(std::move(list));
  co_await std::move(w);
}

asio::awaitable<void> Presence::write(std::vector<std::pair<std::string, bool>> changes) {
  if (changes.empty()) co_return;
  auto alive = lifeline_.token();
  std::map<RedisClient*, std::vector<std::vector<std::string>>> by_shard;
  const std::string ttl = std::to_string(ttl_.count());
  const std::string now = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  for (auto& [key, present] : changes) {
    std::string rkey = std::string(kPrefix) + key;
    auto& cmds = by_shard[&redis_.for_key(rkey)];
    if (present) {
      cmds.push_back({"SET", rkey, node_, "EX", ttl});
    } else {
      cmds.push_back({"EVAL", kDeleteIfMine, "1", rkey, node_});
    }
    // A session key (<uid>_<type>-<device>@user) is also listed under its user.
    if (auto s = sessions::parse_session_key(key)) {
      auto& scmds = by_shard[&redis_.for_key(sessions::shard_key(s->uid))];
      auto index = sessions::index_key(s->uid), info = sessions::info_key(s->uid);
      if (present) {
        scmds.push_back(
            {"EVAL", sessions::kJoinScript, "2", index, info, s->session_id, node_, now, ttl});
      } else {
        scmds.push_back({"EVAL", sessions::kLeaveScript, "2", index, info, s->session_id, node_});
      }
    }
  }
  for (auto& [client, cmds] : by_shard) {
    // In slices, so that one huge refresh does not hold a shard's connection for long.
    for (size_t i = 0; i < cmds.size(); i += 1000) {
      std::vector<std::vector<std::string>> slice(
          cmds.begin() + static_cast<long>(i),
          cmds.begin() + static_cast<long>(std::min(cmds.size(), i + 1000)));
      std::string failure;
      try {
        auto op = client->pipeline(std::move(slice));
        auto replies = co_await std::move(op);
        if (!*alive) co_return;
        for (auto& r : replies) {
          if (r.is_error()) failure = r.str;
        }
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!*alive) co_return;
      if (!failure.empty()) {
        if (errors_.fetch_add(1, std::memory_order_relaxed) % 100 == 0) {
          spdlog::warn("presence: writing to redis {} failed: {}", client->options().address,
                       failure);
        }
      }
    }
  }
}

}  // namespace appmsg::comet
