/*
 * ketama: the two consistent-hash rings of the cluster (message.md §4, web-core.md §12.3).
 *
 * - CometRing: web -> comet node for a subscriber key, and comet Migrate. MurmurHash3 h1,
 *   `vnodes` points per node named "<name>#<i>", i = 0..vnodes-1, no weights.
 * - StorageRing: message node -> Redis/MySQL shard, and web's token Redis. SHA-1 points named
 *   "<name>:<i>", i = 1..base*weight.
 *
 * Both are immutable after construction (rebuild to change membership), so a const ring may be
 * shared between threads. Lookup is a binary search for the first point >= H(key), wrapping to
 * the smallest point. The order in which nodes are given never matters.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.hpp"

namespace appmsg {

class CometRing {
 public:
  // Names are sorted and de-duplicated. An empty node list gives an empty ring. Throws
  // std::invalid_argument when vnodes is not in 1..kMaxVnodes (the original builds an empty ring
  // for 0, which would make comet Migrate drop every channel).
  explicit CometRing(std::vector<std::string> nodes, int vnodes = 255);

  // The node owning `key`, or nullptr when the ring is empty. Points into nodes().
  const std::string* node_for(std::string_view key) const;
  bool empty() const { return points_.empty(); }
  // Distinct ring positions. On an exact hash collision only one node keeps the position: the
  // later one in sorted-name order (the original's map lets the last inserted win).
  size_t points() const { return points_.size(); }
  const std::vector<std::string>& nodes() const { return nodes_; }

  static constexpr int kMaxVnodes = 1 << 16;  // Vnode arrives over RPC; bounds the ring's memory

 private:
  struct Point {
    uint32_t hash;
    uint32_t node;  // index into nodes_
  };
  std::vector<std::string> nodes_;  // sorted, unique
  std::vector<Point> points_;       // sorted by hash, hashes unique
};

class StorageRing {
 public:
  // `nodes` is (name, weight); each node gets base*weight points. Throws std::invalid_argument
  // when a weight is negative, a name is empty or repeated, base <= 0 (the original's default of
  // 0 crashes on the first lookup), the ring would have no points (no nodes, or all weights 0),
  // or more than kMaxPoints points.
  explicit StorageRing(std::vector<std::pair<std::string, int>> nodes, int base = 255);

  // The node owning `key`. Never fails: the constructor guarantees at least one point.
  const std::string& node_for(std::string_view key) const;
  // All points, ties included (none occur for realistic names).
  size_t points() const { return points_.size(); }

  static constexpr int64_t kMaxPoints = int64_t{1} << 24;  // guards base*weight overflow and memory

 private:
  struct Point {
    uint32_t hash;
    uint32_t node;  // index into names_
  };
  std::vector<std::string> names_;  // sorted, so equal hashes order by name
  std::vector<Point> points_;       // sorted by (hash, name)
};

// Parses a `[redis.source]` / `[mysql.source]` key "<name>:<weight>", e.g. "node1:2" ->
// ("node1", 2). A name without ':' has weight 1. Throws std::invalid_argument for an empty name,
// more than one ':', or a weight that is not a non-negative decimal integer.
std::pair<std::string, int> parse_weighted_name(std::string_view key);

// One entry of a `[redis.source]` / `[mysql.source]` section: "<name>:<weight> <address>".
struct ShardSource {
  std::string name;  // ring identity
  int weight = 1;
  std::string address;  // host:port (Redis) or a DSN (MySQL)
};

// Every entry of `section`, in file order; a malformed name:weight fails (ConfigError) with its
// file and line.
std::vector<ShardSource> read_shard_sources(const Config& c, std::string_view section);

}  // namespace appmsg
