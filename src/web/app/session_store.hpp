// Live sessions, read from where the comets write them (common/session_keys.hpp): a user's
// sessions with their state, for many users in one pipeline per Redis shard, and the state a
// client sets (init, active, inactive). No MySQL write per heartbeat, no stale rows: a session
// whose comet stopped refreshing it is gone one presence TTL later.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/redis_shards.hpp"

namespace appmsg::web::app {

struct Session {
  std::string id, type, user_id, state;
  int64_t created = 0, updated = 0;  // unix seconds
};

class SessionStore {
 public:
  SessionStore(RedisShards& redis, std::chrono::seconds ttl) : redis_(redis), ttl_(ttl) {}
  // Every live session of each user (ordered by id); users without one are absent. Throws on
  // a Redis failure.
  boost::asio::awaitable<std::map<std::string, std::vector<Session>>> of_users(
      std::vector<std::string> uids);
  // Sets a live session's state; false when `uid` has no live session `sid`.
  boost::asio::awaitable<bool> set_state(std::string uid, std::string sid, std::string state);

 private:
  int64_t oldest_live() const;
  RedisShards& redis_;
  std::chrono::seconds ttl_;
};

}  // namespace appmsg::web::app
