// Where a user's sessions live in Redis, shared by the comet (which writes them as connections
// come and go) and the web node's /app API (which reads them and sets their state).
//
// A session is one live connection on a key "<uid>_<type>-<device...>@user" (spec/app-api.md
// section 0). Per user, on the shard that the ring picks for "sessions:<uid>":
//   sessions:<uid>  sorted set: session id -> unix time the owning comet last refreshed it
//   session:<uid>   hash: "n:<sid>" owning comet node, "c:<sid>" created (unix), "s:<sid>"
//                   state (init, active or inactive)
// Both keys expire one presence TTL after the last write, and a member whose score is older
// than the TTL is stale (its comet died without saying so): readers skip it. A comet refreshes
// every live session every TTL/3; a leave removes a session only while it still names the
// leaving comet (the client may already be on another one).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace appmsg::sessions {

inline std::string index_key(std::string_view uid) {
  return "sessions:" + std::string(uid);
}
inline std::string info_key(std::string_view uid) {
  return "session:" + std::string(uid);
}
// The string the shard ring is hashed with, for both keys.
inline std::string shard_key(std::string_view uid) {
  return index_key(uid);
}

struct SessionKey {
  std::string uid;         // "42"
  std::string session_id;  // "42_iOS-abc"
  std::string type;        // "iOS": between '_' and the first '-' (or the end)
};

// "42_iOS-abc@user" -> {42, 42_iOS-abc, iOS}; nullopt for keys that are no session: without
// "@user", without '_' (an offline key such as "42@user"), or with an empty uid.
inline std::optional<SessionKey> parse_session_key(std::string_view key) {
  constexpr std::string_view kSuffix = "@user";
  if (key.size() <= kSuffix.size() || key.substr(key.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  auto id = key.substr(0, key.size() - kSuffix.size());
  auto us = id.find('_');
  if (us == std::string_view::npos || us == 0 || us + 1 == id.size()) return std::nullopt;
  if (id.find('@') != std::string_view::npos) return std::nullopt;
  auto rest = id.substr(us + 1);
  return SessionKey{std::string(id.substr(0, us)), std::string(id),
                    std::string(rest.substr(0, rest.find('-')))};
}

// KEYS[1] index, KEYS[2] info; ARGV: session id, node, now, ttl seconds. First drops the
// user's stale sessions (a comet that died, a leave that was lost), so the keys stay bounded and
// a session that comes back after a gap starts again in state init.
inline constexpr const char* kJoinScript =
    "local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(ARGV[3]) - "
    "tonumber(ARGV[4]))) "
    "for _, sid in ipairs(stale) do redis.call('ZREM', KEYS[1], sid) "
    "redis.call('HDEL', KEYS[2], 'n:' .. sid, 'c:' .. sid, 's:' .. sid) end "
    "redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) "
    "redis.call('HSET', KEYS[2], 'n:' .. ARGV[1], ARGV[2]) "
    "redis.call('HSETNX', KEYS[2], 'c:' .. ARGV[1], ARGV[3]) "
    "redis.call('HSETNX', KEYS[2], 's:' .. ARGV[1], 'init') "
    "redis.call('EXPIRE', KEYS[1], ARGV[4]) redis.call('EXPIRE', KEYS[2], ARGV[4]) return 1";
// KEYS as above; ARGV: session id, node. Removes the session while `node` owns it.
inline constexpr const char* kLeaveScript =
    "if redis.call('HGET', KEYS[2], 'n:' .. ARGV[1]) ~= ARGV[2] then return 0 end "
    "redis.call('ZREM', KEYS[1], ARGV[1]) "
    "redis.call('HDEL', KEYS[2], 'n:' .. ARGV[1], 'c:' .. ARGV[1], 's:' .. ARGV[1]) return 1";
// KEYS as above; ARGV: session id, state, oldest live score. 1 when set, 0 when the session
// is not live.
inline constexpr const char* kSetStateScript =
    "local at = redis.call('ZSCORE', KEYS[1], ARGV[1]) "
    "if not at or tonumber(at) < tonumber(ARGV[3]) then return 0 end "
    "redis.call('HSET', KEYS[2], 's:' .. ARGV[1], ARGV[2]) return 1";

}  // namespace appmsg::sessions
