/*
 * ketama: ring construction and lookup for CometRing and StorageRing (see ketama.hpp).
 *
 * Points are a sorted vector of (hash, node index) searched with lower_bound; nothing here
 * allocates after construction.
 */
#include "common/ketama.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "common/hash.hpp"

namespace appmsg {
namespace {

// First point with hash >= h, wrapping to the smallest point. `points` must not be empty.
template <typename Point>
const Point& ring_lookup(const std::vector<Point>& points, uint32_t h) {
  auto it = std::lower_bound(points.begin(), points.end(), h,
                             [](const Point& p, uint32_t v) { return p.hash < v; });
  return it == points.end() ? points.front() : *it;
}

}  // namespace

CometRing::CometRing(std::vector<std::string> nodes, int vnodes) : nodes_(std::move(nodes)) {
  if (vnodes <= 0 || vnodes > kMaxVnodes) {
    throw std::invalid_argument("comet ring: vnodes must be in 1.." + std::to_string(kMaxVnodes) +
                                ", got " + std::to_string(vnodes));
  }
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());

  points_.reserve(nodes_.size() * static_cast<size_t>(vnodes));
  std::string point_name;
  for (uint32_t n = 0; n < nodes_.size(); ++n) {
    for (int i = 0; i < vnodes; ++i) {
      point_name.assign(nodes_[n]).append("#").append(std::to_string(i));
      points_.push_back({murmur3_h1(point_name), n});
    }
  }
  // Sort by (hash, node); of equal hashes keep the last, i.e. the later name.
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.node < b.node;
  });
  auto last_of_run = std::unique(points_.rbegin(), points_.rend(),
                                 [](const Point& a, const Point& b) { return a.hash == b.hash; });
  points_.erase(points_.begin(), last_of_run.base());
}

const std::string* CometRing::node_for(std::string_view key) const {
  if (points_.empty()) return nullptr;
  return &nodes_[ring_lookup(points_, murmur3_h1(key)).node];
}

StorageRing::StorageRing(std::vector<std::pair<std::string, int>> nodes, int base) {
  if (base <= 0) {
    throw std::invalid_argument("storage ring: ketama.base must be > 0, got " +
                                std::to_string(base));
  }
  std::sort(nodes.begin(), nodes.end());
  int64_t total = 0;
  for (size_t n = 0; n < nodes.size(); ++n) {
    const auto& [name, weight] = nodes[n];
    if (name.empty()) throw std::invalid_argument("storage ring: empty node name");
    if (n > 0 && nodes[n - 1].first == name) {
      throw std::invalid_argument("storage ring: node \"" + name + "\" listed twice");
    }
    if (weight < 0) {
      throw std::invalid_argument("storage ring: node \"" + name + "\" has negative weight " +
                                  std::to_string(weight));
    }
    total += int64_t{base} * weight;
    if (total > kMaxPoints) {
      throw std::invalid_argument("storage ring: more than " + std::to_string(kMaxPoints) +
                                  " points (base " + std::to_string(base) + " too large?)");
    }
  }
  if (total == 0) {
    throw std::invalid_argument("storage ring: no points (no nodes, or every weight is 0)");
  }

  names_.reserve(nodes.size());
  points_.reserve(static_cast<size_t>(total));
  std::string point_name;
  for (const auto& [name, weight] : nodes) {
    const auto n = static_cast<uint32_t>(names_.size());
    names_.push_back(name);
    const int64_t count = int64_t{base} * weight;
    for (int64_t i = 1; i <= count; ++i) {
      point_name.assign(name).append(":").append(std::to_string(i));
      points_.push_back({sha1_point(point_name), n});
    }
  }
  // names_ is sorted, so ordering ties by index orders them by name.
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.node < b.node;
  });
}

const std::string& StorageRing::node_for(std::string_view key) const {
  return names_[ring_lookup(points_, sha1_point(key)).node];
}

std::vector<ShardSource> read_shard_sources(const Config& c, std::string_view section) {
  std::vector<ShardSource> out;
  for (auto& [name_weight, address] : c.entries(section)) {
    try {
      auto [name, weight] = parse_weighted_name(name_weight);
      out.push_back({name, weight, address});
    } catch (const std::invalid_argument& e) {
      c.fail(section, name_weight, e.what());
    }
  }
  return out;
}

std::pair<std::string, int> parse_weighted_name(std::string_view key) {
  const auto bad = [key](std::string_view why) {
    return std::invalid_argument("bad node key \"" + std::string(key) + "\": " + std::string(why) +
                                 " (expected <name>:<weight>, e.g. node1:1)");
  };
  const size_t colon = key.find(':');
  const std::string_view name = key.substr(0, colon);
  if (name.empty()) throw bad("empty name");
  if (colon == std::string_view::npos) return {std::string(name), 1};

  const std::string_view digits = key.substr(colon + 1);
  if (digits.find(':') != std::string_view::npos) throw bad("more than one ':'");
  int weight = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), weight);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    throw bad("weight \"" + std::string(digits) + "\" is not an integer");
  }
  if (weight < 0) throw bad("weight " + std::to_string(weight) + " is negative");
  return {std::string(name), weight};
}

}  // namespace appmsg
