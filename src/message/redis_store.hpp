// The offline store on Redis shards (spec/message.md section 2.2, layout-compatible with the
// original): one sorted set per key, score = mid, member = {"msg":<json>,"expire":<unix s>,
// "mid":<mid>}. The original's member had no mid, so two equal payloads collapsed into one;
// with the mid each message is its own member, and old readers ignore the extra field.
//
// Fixed from the original: every key gets a TTL (the furthest expiry of its messages), so
// abandoned keys disappear; the per-key `store` limit trims the oldest; expired entries are
// removed when read and by a bounded background sweep (a few keys per shard per interval);
// each command has a deadline, and a shard that is down fails only its own keys.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "common/lifeline.hpp"
#include "common/redis_client.hpp"
#include "common/redis_shards.hpp"
#include "message/message_config.hpp"
#include "message/message_store.hpp"

namespace appmsg::message {

class RedisStore : public MessageStore {
 public:
  RedisStore(boost::asio::any_io_executor ex, const MessageConfig& cfg);
  void start() override;
  void stop() override;
  boost::asio::awaitable<std::vector<std::optional<std::string>>> save(
      std::vector<StoredMessage> items) override;
  boost::asio::awaitable<GetResult> get(std::string key, int64_t after_mid, int limit) override;
  boost::asio::awaitable<void> remove(std::string key) override;
  std::string shard_of(const std::string& key) const override;

  // One sweep step on every shard (also run by the background loop); returns entries removed.
  boost::asio::awaitable<size_t> sweep_once();

  static std::string member(const StoredMessage& m);  // the sorted-set member text

 private:
  boost::asio::awaitable<void> sweep_loop();
  void remove_members(RedisClient& client, std::string shard, std::string key,
                      std::vector<std::string> members);

  boost::asio::any_io_executor ex_;
  MessageConfig cfg_;
  RedisShards shards_;
  boost::asio::steady_timer sweep_timer_;
  std::vector<std::string> cursors_;  // SCAN cursor per shard
  bool stopped_ = false;
  Lifeline lifeline_;  // last member: the sweep and background removals stop when it is gone
};

}  // namespace appmsg::message
