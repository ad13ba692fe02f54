// Token checks for `auth yes` (spec/comet.md section 4, with the tokens the web node issues,
// spec/app-api.md section 1.4): a subscriber's token must be a live login token in Redis
// (EXISTS <token> on the shard the SHA-1 ring picks for the token) and belong to the key's user
// (the text before the first '_' of the token equals the key's text before its first '_' or
// '@'). A Redis failure or timeout refuses the subscriber (-a) and is counted; it never blocks
// other connections. The comet only reads tokens: it neither creates nor extends them.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "comet/session_context.hpp"
#include "common/lifeline.hpp"
#include "common/redis_shards.hpp"

namespace appmsg::comet {

std::string_view user_of_key(std::string_view key);      // "42_iOS-1@user" -> "42"
std::string_view user_of_token(std::string_view token);  // "42_9f1c..." -> "42"; "" if no '_'

class TokenAuth {
 public:
  TokenAuth(boost::asio::any_io_executor control, RedisShards& redis,
            std::atomic<uint64_t>& errors);
  // Thread-safe; `done` runs on the control executor, or at once on the caller's thread when the
  // token cannot belong to the key (no Redis call needed).
  void check(const SubRequest& req, std::function<void(AuthResult)> done);
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  boost::asio::any_io_executor ex_;
  RedisShards& redis_;
  std::atomic<uint64_t>& errors_;  // the comet's counter
  Lifeline lifeline_;  // last member: a check finishing after the service is gone does nothing
};

}  // namespace appmsg::comet
