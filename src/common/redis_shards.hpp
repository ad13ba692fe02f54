// Redis servers sharded by key over the SHA-1 ketama ring (spec/message.md 4.1), one
// RedisClient each. Used by the message node's store and the comet's tokens and presence.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/ketama.hpp"
#include "common/redis_client.hpp"

namespace appmsg {

// Redis servers sharded by key over the SHA-1 ketama ring (spec/message.md 4.1).
class RedisShards {
 public:
  struct Shard {
    std::string name;  // ring name, e.g. "node1"
    int weight = 1;
    RedisOptions options;
  };
  // Throws std::invalid_argument when the ring would have no points.
  RedisShards(boost::asio::any_io_executor ex, std::vector<Shard> shards, int ketama_base = 255);
  ~RedisShards();

  void start();
  void stop();
  RedisClient& for_key(std::string_view key);
  const std::string& shard_name(std::string_view key) const;
  size_t size() const;
  RedisClient& at(size_t i);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The shards of configured sources, each with `command_timeout`.
std::vector<RedisShards::Shard> redis_shards_of(const std::vector<ShardSource>& sources,
                                                std::chrono::milliseconds command_timeout);

}  // namespace appmsg
