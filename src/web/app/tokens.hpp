// User tokens (spec/app-api.md 1.4 with its [fix] items): "<uid>_<32 hex digits>", the digits
// 128 bits from RAND_bytes. Each lives in Redis as the bare token (a hash with field `expire`,
// as the original), on the shard the ketama ring picks for the token itself (the comet's
// `auth yes` looks there too), with a sliding TTL: every successful use extends it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "common/redis_shards.hpp"

namespace appmsg::web::app {

// The uid of a token: the text before its first '_'; "" when there is none.
std::string uid_of_token(std::string_view token);

class Tokens {
 public:
  Tokens(RedisShards& redis, std::chrono::seconds ttl) : redis_(redis), ttl_(ttl) {}
  // A new token for `uid`. Throws on a Redis failure.
  boost::asio::awaitable<std::string> create(std::string uid);
  // The token's uid when it is live (its TTL is extended); nullopt otherwise. Throws on a
  // Redis failure.
  boost::asio::awaitable<std::optional<std::string>> touch(std::string token);
  // Deletes it; true when it existed.
  boost::asio::awaitable<bool> remove(std::string token);

 private:
  RedisShards& redis_;
  std::chrono::seconds ttl_;
};

}  // namespace appmsg::web::app
