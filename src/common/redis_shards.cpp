// Redis servers sharded by key over the SHA-1 ketama ring: one RedisClient per shard.
#include "common/redis_shards.hpp"

#include <stdexcept>

#include "common/ketama.hpp"

namespace appmsg {

namespace asio = boost::asio;

struct RedisShards::State {
  std::vector<std::string> names;
  std::vector<std::unique_ptr<RedisClient>> clients;
  std::unique_ptr<StorageRing> ring;
};

RedisShards::RedisShards(asio::any_io_executor ex, std::vector<Shard> shards, int ketama_base)
    : state_(std::make_unique<State>()) {
  std::vector<std::pair<std::string, int>> weighted;
  for (auto& s : shards) {
    weighted.emplace_back(s.name, s.weight);
    state_->names.push_back(s.name);
    state_->clients.push_back(std::make_unique<RedisClient>(ex, s.options));
  }
  state_->ring = std::make_unique<StorageRing>(std::move(weighted), ketama_base);
}

RedisShards::~RedisShards() = default;

void RedisShards::start() {
  for (auto& c : state_->clients) c->start();
}

void RedisShards::stop() {
  for (auto& c : state_->clients) c->stop();
}

const std::string& RedisShards::shard_name(std::string_view key) const {
  return state_->ring->node_for(key);
}

RedisClient& RedisShards::for_key(std::string_view key) {
  const std::string& name = shard_name(key);
  for (size_t i = 0; i < state_->names.size(); ++i) {
    if (state_->names[i] == name) return *state_->clients[i];
  }
  throw std::logic_error("redis ring names an unknown shard " + name);
}

size_t RedisShards::size() const {
  return state_->clients.size();
}
RedisClient& RedisShards::at(size_t i) {
  return *state_->clients.at(i);
}

std::vector<RedisShards::Shard> redis_shards_of(const std::vector<ShardSource>& sources,
                                                std::chrono::milliseconds command_timeout) {
  std::vector<RedisShards::Shard> out;
  for (auto& s : sources) {
    RedisOptions o;
    o.address = s.address;
    o.command_timeout = command_timeout;
    out.push_back({s.name, s.weight, o});
  }
  return out;
}

}  // namespace appmsg
