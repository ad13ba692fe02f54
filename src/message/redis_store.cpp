// Redis backend: pipelined saves per shard, reads with a limit, expiry on read and by sweep.
#include "message/redis_store.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "common/json_text.hpp"
#include "common/spawn.hpp"

namespace appmsg::message {

namespace asio = boost::asio;
using nlohmann::json;
using Command = std::vector<std::string>;

namespace {

std::vector<RedisShards::Shard> shard_list(const MessageConfig& cfg) {
  return redis_shards_of(cfg.redis_sources, cfg.redis_timeout);
}

int64_t now_unix() {
  return static_cast<int64_t>(std::time(nullptr));
}

// A member's expiry and its body's text, as stored; nullopt when it is not our layout
// ({"msg":<body>,"expire":N[,"mid":N]}, the original's first two fields in its order), which is
// then treated as garbage. The body is cut out of the member, not parsed and re-written, so its
// key order and escapes are the ones that were pushed.
std::optional<std::pair<int64_t, std::string>> parse_member(const std::string& member) {
  auto members = object_members(member);
  if (!members || members->size() < 2) return std::nullopt;
  std::string_view msg_key = (*members)[0].first;
  auto [expire_key, expire] = (*members)[1];
  if (msg_key != "\"msg\"" || expire_key != "\"expire\"") return std::nullopt;
  int64_t at = 0;
  auto [end, ec] = std::from_chars(expire.data(), expire.data() + expire.size(), at);
  if (ec != std::errc() || end != expire.data() + expire.size()) return std::nullopt;
  // The body with any whitespace the caller put around it: from after the colon to the comma.
  const char* from = member.data() + member.find(':') + 1;
  const char* to = member.data() + member.rfind(',', expire_key.data() - member.data());
  return std::make_pair(at, std::string(from, to));
}

}  // namespace

RedisStore::RedisStore(asio::any_io_executor ex, const MessageConfig& cfg)
    : ex_(ex),
      cfg_(cfg),
      shards_(ex, shard_list(cfg), cfg.redis_ketama_base),
      sweep_timer_(ex),
      cursors_(shards_.size(), "0") {}

void RedisStore::start() {
  shards_.start();
  spawn(ex_, sweep_loop(), "redis: expiry sweep");
}

void RedisStore::stop() {
  stopped_ = true;
  sweep_timer_.cancel();
  shards_.stop();
}

std::string RedisStore::shard_of(const std::string& key) const {
  return shards_.shard_name(key);
}

std::string RedisStore::member(const StoredMessage& m) {
  return "{\"msg\":" + m.msg + ",\"expire\":" + std::to_string(m.expire_at) +
         ",\"mid\":" + std::to_string(m.mid) + "}";
}

asio::awaitable<std::vector<std::optional<std::string>>> RedisStore::save(
    std::vector<StoredMessage> items) {
  std::vector<std::optional<std::string>> errors(items.size());
  // Five commands per item, grouped by shard, one pipeline per shard. A save of a mid the key
  // already holds replaces it (the member's expiry comes from the receiving node's clock, so a
  // retried save would otherwise add a second member for the same message).
  std::map<RedisClient*, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < items.size(); ++i) by_shard[&shards_.for_key(items[i].key)].push_back(i);
  const std::string keep_from = "-" + std::to_string(cfg_.store + 1);
  const int64_t now = now_unix();
  for (auto& [client, indexes] : by_shard) {
    std::vector<Command> cmds;
    cmds.reserve(indexes.size() * 5);
    for (size_t i : indexes) {
      auto& m = items[i];
      std::string ttl = std::to_string(std::max<int64_t>(m.expire_at - now, 1));
      std::string mid = std::to_string(m.mid);
      cmds.push_back({"ZREMRANGEBYSCORE", m.key, mid, mid});
      cmds.push_back({"ZADD", m.key, mid, member(m)});
      cmds.push_back({"ZREMRANGEBYRANK", m.key, "0", keep_from});
      cmds.push_back({"EXPIRE", m.key, ttl, "NX"});  // a TTL for a key that has none
      cmds.push_back({"EXPIRE", m.key, ttl, "GT"});  // and as far as its furthest message
    }
    std::string failure;
    std::vector<RedisReply> replies;
    const std::string& shard = shards_.shard_name(items[indexes[0]].key);
    auto started = std::chrono::steady_clock::now();
    try {
      auto op = client->pipeline(std::move(cmds));
      replies = co_await std::move(op);
    } catch (const std::exception& e) {
      failure = std::string("redis ") + client->options().address + ": " + e.what();
    }
    report(shard, started, failure.empty());
    for (size_t n = 0; n < indexes.size(); ++n) {
      if (!failure.empty()) {
        errors[indexes[n]] = failure;
        continue;
      }
      for (size_t c = 0; c < 5; ++c) {
        auto& r = replies[n * 5 + c];
        if (r.is_error()) errors[indexes[n]] = "redis: " + r.str;
      }
    }
  }
  co_return errors;
}

// Reads up to `limit` live messages after `after_mid`. Expired or foreign members are skipped
// (and removed in the background), and the read goes on past them, so that a key whose oldest
// entries have expired still returns its newer messages in one page.
asio::awaitable<GetResult> RedisStore::get(std::string key, int64_t after_mid, int limit) {
  auto alive = lifeline_.token();
  auto& client = shards_.for_key(key);
  const std::string shard = shards_.shard_name(key);
  GetResult out;
  std::vector<std::string> expired;
  std::string from = "(" + std::to_string(after_mid);
  // Each round asks for what is still missing plus one (to know whether more remain); members
  // skipped in a round are made up in the next. Bounded: a round that returns fewer than asked
  // has reached the end of the key.
  while (true) {
    const size_t want = static_cast<size_t>(limit) - out.messages.size() + 1;
    Command cmd{"ZRANGEBYSCORE", key,     from, "+inf",
                "WITHSCORES",    "LIMIT", "0",  std::to_string(want)};
    auto started = std::chrono::steady_clock::now();
    RedisReply reply;
    try {
      auto op = client.command(std::move(cmd));
      reply = co_await std::move(op);
    } catch (...) {
      if (*alive) report(shard, started, false);
      throw;
    }
    if (!*alive) throw std::runtime_error("message store stopping");
    report(shard, started, !reply.is_error());
    if (reply.is_error()) throw std::runtime_error("redis: " + reply.str);
    const int64_t now = now_unix();
    const size_t got = reply.elements.size() / 2;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      const std::string& mid_text = reply.elements[i + 1].str;
      from = "(" + mid_text;
      auto parsed = parse_member(reply.elements[i].str);
      if (!parsed || parsed->first < now) {  // visible while now <= expire
        expired.push_back(reply.elements[i].str);
        continue;
      }
      if (static_cast<int>(out.messages.size()) == limit) {
        out.more = true;
        break;
      }
      out.messages.emplace_back(std::stoll(mid_text), std::move(parsed->second));
    }
    if (out.more || got < want) break;
  }
  if (!expired.empty()) remove_members(client, shard, std::move(key), std::move(expired));
  co_return out;
}

void RedisStore::remove_members(RedisClient& client, std::string shard, std::string key,
                                std::vector<std::string> members) {
  // Removed in the background: the caller does not wait for the cleanup.
  Command zrem{"ZREM", std::move(key)};
  zrem.insert(zrem.end(), std::make_move_iterator(members.begin()),
              std::make_move_iterator(members.end()));
  spawn(
      ex_,
      [this, &client, shard = std::move(shard), zrem = std::move(zrem),
       alive = lifeline_.token()]() mutable -> asio::awaitable<void> {
        if (!*alive) co_return;  // the store (and its clients) are gone
        auto started = std::chrono::steady_clock::now();
        std::string failure;
        try {
          auto op = client.command(std::move(zrem));
          auto reply = co_await std::move(op);
          if (reply.is_error()) failure = reply.str;
        } catch (const std::exception& e) {
          failure = e.what();
        }
        if (!*alive) co_return;
        report(shard, started, failure.empty());  // counted with the shard's calls
        // Not lost: the next read or the sweep finds them again.
        if (!failure.empty())
          spdlog::warn("redis {}: removing expired members: {}", shard, failure);
      },
      "redis store: removing expired members");
}

asio::awaitable<void> RedisStore::remove(std::string key) {
  Command cmd{"DEL", key};
  auto op = shards_.for_key(key).command(std::move(cmd));
  RedisReply reply = co_await std::move(op);
  if (reply.is_error()) throw std::runtime_error("redis: " + reply.str);
}

asio::awaitable<void> RedisStore::sweep_loop() {
  auto alive = lifeline_.token();
  while (!stopped_) {
    sweep_timer_.expires_after(cfg_.sweep_interval);
    co_await sweep_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!*alive || stopped_) co_return;
    try {
      auto op = sweep_once();
      co_await std::move(op);
    } catch (const std::exception& e) {
      if (!*alive) co_return;
      spdlog::debug("sweep: {}", e.what());
    }
  }
}

// Walks each shard's sorted sets with SCAN, a few keys per call, and removes expired members.
asio::awaitable<size_t> RedisStore::sweep_once() {
  auto alive = lifeline_.token();
  size_t removed = 0;
  const int64_t now = now_unix();
  for (size_t s = 0; s < shards_.size(); ++s) {
    auto& client = shards_.at(s);
    if (!client.connected()) continue;
    Command scan{"SCAN", cursors_[s], "COUNT", std::to_string(cfg_.sweep_keys), "TYPE", "zset"};
    auto op = client.command(std::move(scan));
    RedisReply reply = co_await std::move(op);
    if (!*alive) co_return removed;
    if (reply.type != RedisReply::Type::array || reply.elements.size() != 2) continue;
    cursors_[s] = reply.elements[0].str;
    for (auto& k : reply.elements[1].elements) {
      Command range{"ZRANGE", k.str, "0", "-1"};
      auto rop = client.command(std::move(range));
      RedisReply members = co_await std::move(rop);
      if (!*alive) co_return removed;
      Command zrem{"ZREM", k.str};
      for (auto& m : members.elements) {
        auto parsed = parse_member(m.str);
        // Only our members: a member that is not our JSON may belong to something else.
        if (parsed && parsed->first < now) zrem.push_back(m.str);
      }
      if (zrem.size() > 2) {
        removed += zrem.size() - 2;
        auto zop = client.command(std::move(zrem));
        co_await std::move(zop);
        if (!*alive) co_return removed;
      }
    }
  }
  co_return removed;
}

}  // namespace appmsg::message
