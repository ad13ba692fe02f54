/*
 * ketama_test: the comet (Murmur) ring and the storage (SHA-1) ring against the real outputs in
 * message.md §8.2-8.3 and web-core.md §12.3, plus parse_weighted_name.
 */
#include "common/ketama.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/hash.hpp"

namespace appmsg {
namespace {

using Expect = std::vector<std::pair<std::string, std::string>>;  // key -> node

std::string comet_node(const CometRing& ring, std::string_view key) {
  const std::string* node = ring.node_for(key);
  return node ? *node : std::string("<none>");
}

void expect_comet(const CometRing& ring, const Expect& cases) {
  for (const auto& [key, node] : cases) EXPECT_EQ(comet_node(ring, key), node) << "key " << key;
}

void expect_storage(const StorageRing& ring, const Expect& cases) {
  for (const auto& [key, node] : cases) EXPECT_EQ(ring.node_for(key), node) << "key " << key;
}

std::map<std::string, int> comet_distribution(const CometRing& ring) {
  std::map<std::string, int> counts;
  for (int i = 0; i < 100000; ++i) ++counts[comet_node(ring, std::to_string(i))];
  return counts;
}

std::map<std::string, int> storage_distribution(const StorageRing& ring) {
  std::map<std::string, int> counts;
  for (int i = 0; i < 100000; ++i) ++counts[ring.node_for(std::to_string(i))];
  return counts;
}

// All comet point hashes for `nodes`, recomputed independently of the ring.
std::vector<uint32_t> comet_points(const std::vector<std::string>& nodes) {
  std::vector<uint32_t> points;
  for (const auto& n : nodes)
    for (int i = 0; i < 255; ++i) points.push_back(murmur3_h1(n + "#" + std::to_string(i)));
  std::sort(points.begin(), points.end());
  return points;
}

std::vector<std::string> numbered(const std::string& prefix, int count) {
  std::vector<std::string> names;
  for (int i = 1; i <= count; ++i) names.push_back(prefix + std::to_string(i));
  return names;
}

// ---- CometRing: message.md §8.2 ----

TEST(CometRing, fifteen_nodes_match_spec) {
  const CometRing ring(numbered("node", 15));
  expect_comet(ring, {{"Terry-Mao332", "node15"},
                      {"Terry-Mao2", "node13"},
                      {"Terry-Mao3", "node5"},
                      {"Terry-Mao4", "node2"},
                      {"Terry-Mao5", "node6"}});
  EXPECT_EQ(ring.points(), 15u * 255u);
}

TEST(CometRing, numeric_names_match_spec) {
  const CometRing ring({"11", "22"});
  expect_comet(ring, {{"Terry-Mao332", "22"},
                      {"Terry-Mao333", "22"},
                      {"Terry-Mao334", "22"},
                      {"Terry-Mao335", "11"}});
}

TEST(CometRing, three_nodes_match_spec_in_any_order) {
  const Expect cases = {
      {"", "node1"},           {"a", "node3"},          {"test", "node1"},
      {"10001@user", "node1"}, {"10002@user", "node1"}, {"10001_chrome-39-123@user", "node3"},
      {"app1@app", "node3"},   {"Terry-Mao", "node2"},  {"user0", "node1"},
      {"user1", "node1"},      {"user2", "node2"},      {"user3", "node2"}};
  std::vector<std::string> nodes = {"node1", "node2", "node3"};
  do {
    SCOPED_TRACE(nodes[0] + "," + nodes[1] + "," + nodes[2]);
    const CometRing ring(nodes);
    expect_comet(ring, cases);
    EXPECT_EQ(ring.nodes(), (std::vector<std::string>{"node1", "node2", "node3"}));
  } while (std::next_permutation(nodes.begin(), nodes.end()));
}

TEST(CometRing, distribution_of_100000_keys_matches_spec) {
  const auto counts = comet_distribution(CometRing({"node3", "node1", "node2"}));
  EXPECT_EQ(counts,
            (std::map<std::string, int>{{"node1", 37234}, {"node2", 31203}, {"node3", 31563}}));
}

// ---- CometRing: web-core.md §12.3 ----

TEST(CometRing, single_node_owns_everything) {
  const CometRing ring({"node1"});
  EXPECT_EQ(ring.points(), 255u);
  expect_comet(ring, {{"", "node1"}, {"u1@user", "node1"}, {"anything", "node1"}});
}

TEST(CometRing, two_nodes_match_web_core_spec) {
  const CometRing ring({"node1", "node2"});
  EXPECT_EQ(ring.points(), 510u);
  expect_comet(ring, {{"u1@user", "node1"},
                      {"u1_iOS-dev1@user", "node2"},
                      {"u2@user", "node1"},
                      {"q1@qun", "node1"},
                      {"key1", "node1"},
                      {"key2", "node1"},
                      {"app1@app", "node2"},
                      {"Terry-Mao", "node2"},
                      {"abc", "node2"},
                      {"key3", "node2"},
                      {"", "node1"},
                      {"k574", "node1"},
                      {"23370005043469383_Android-123@user", "node2"}});
}

TEST(CometRing, two_nodes_next_points_and_wrap_around) {
  const auto points = comet_points({"node1", "node2"});
  const auto next_point = [&](std::string_view key) {
    auto it = std::lower_bound(points.begin(), points.end(), murmur3_h1(key));
    return it == points.end() ? points.front() : *it;
  };
  EXPECT_EQ(next_point("u1@user"), 3620480248u);
  EXPECT_EQ(next_point("u1_iOS-dev1@user"), 1036514414u);
  // Empty key: H = 0, lands on the smallest point.
  EXPECT_EQ(murmur3_h1(""), 0u);
  EXPECT_EQ(points.front(), 995063u);
  // k574 hashes above the largest point and wraps to the smallest (node1).
  EXPECT_EQ(murmur3_h1("k574"), 4293934522u);
  EXPECT_EQ(points.back(), 4290755603u);
  EXPECT_GT(murmur3_h1("k574"), points.back());
  EXPECT_EQ(comet_node(CometRing({"node1", "node2"}), "k574"), "node1");
}

TEST(CometRing, three_nodes_match_web_core_spec) {
  const CometRing ring({"node1", "node2", "node3"});
  EXPECT_EQ(ring.points(), 765u);
  expect_comet(ring, {{"u1@user", "node1"},
                      {"u1_Android-abc@user", "node1"},
                      {"q1@qun", "node1"},
                      {"key2", "node1"},
                      {"Terry-Mao", "node2"},
                      {"abc", "node2"},
                      {"u2@user", "node3"},
                      {"u1_iOS-dev1@user", "node3"},
                      {"app1@app", "node3"},
                      {"key1", "node3"},
                      {"key3", "node3"}});
}

// ---- CometRing: construction rules ----

TEST(CometRing, empty_ring_returns_null) {
  const CometRing ring({});
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.points(), 0u);
  EXPECT_EQ(ring.node_for("u1@user"), nullptr);
}

TEST(CometRing, duplicate_names_count_once) {
  const CometRing ring({"node2", "node1", "node2"});
  EXPECT_EQ(ring.nodes(), (std::vector<std::string>{"node1", "node2"}));
  EXPECT_EQ(ring.points(), 510u);
}

TEST(CometRing, vnodes_is_configurable_and_must_be_positive) {
  EXPECT_EQ(CometRing({"node1", "node2"}, 10).points(), 20u);
  EXPECT_THROW(CometRing({"node1"}, 0), std::invalid_argument);
  EXPECT_THROW(CometRing({"node1"}, -1), std::invalid_argument);
  EXPECT_THROW(CometRing({"node1"}, CometRing::kMaxVnodes + 1), std::invalid_argument);
}

TEST(CometRing, exact_collision_goes_to_later_name) {
  // "n123#37" and "n252#226" share the point 3747055694.
  ASSERT_EQ(murmur3_h1("n123#37"), 3747055694u);
  ASSERT_EQ(murmur3_h1("n252#226"), 3747055694u);
  for (const auto& nodes :
       {std::vector<std::string>{"n123", "n252"}, std::vector<std::string>{"n252", "n123"}}) {
    const CometRing ring(nodes);
    EXPECT_EQ(ring.points(), 509u);
    EXPECT_EQ(comet_node(ring, "n123#37"), "n252");
  }
}

// ---- StorageRing: message.md §8.3 ----

TEST(StorageRing, single_node_owns_everything) {
  const StorageRing ring({{"node1", 1}});
  EXPECT_EQ(ring.points(), 255u);
  for (const char* key : {"", "a", "test", "10001@user", "k28", "Terry-Mao"})
    EXPECT_EQ(ring.node_for(key), "node1") << key;
}

TEST(StorageRing, three_equal_nodes_match_spec) {
  const StorageRing ring({{"node1", 1}, {"node2", 1}, {"node3", 1}});
  EXPECT_EQ(ring.points(), 765u);
  expect_storage(ring, {{"", "node3"},
                        {"a", "node2"},
                        {"test", "node2"},
                        {"10001@user", "node2"},
                        {"10002@user", "node3"},
                        {"10001_chrome-39-123@user", "node3"},
                        {"app1@app", "node1"},
                        {"Terry-Mao", "node1"},
                        {"user0", "node2"},
                        {"user1", "node3"},
                        {"user2", "node2"},
                        {"user3", "node2"}});
}

TEST(StorageRing, three_equal_nodes_have_distinct_points_and_wrap_around) {
  std::set<uint32_t> points;
  std::map<uint32_t, std::string> owner;
  for (const char* node : {"node1", "node2", "node3"}) {
    for (int i = 1; i <= 255; ++i) {
      const uint32_t h = sha1_point(std::string(node) + ":" + std::to_string(i));
      points.insert(h);
      owner[h] = node;
    }
  }
  EXPECT_EQ(points.size(), 765u);
  EXPECT_EQ(*points.begin(), 1521112u);
  EXPECT_EQ(owner[1521112u], "node2");
  EXPECT_EQ(*points.rbegin(), 4259061099u);
  EXPECT_EQ(owner[4259061099u], "node2");
  EXPECT_EQ(sha1_point("k28"), 4292551371u);

  const StorageRing ring({{"node3", 1}, {"node1", 1}, {"node2", 1}});
  EXPECT_EQ(ring.node_for("k28"), "node2");
}

TEST(StorageRing, weighted_nodes_match_spec) {
  const StorageRing ring({{"node1", 1}, {"node2", 2}});
  EXPECT_EQ(ring.points(), 765u);
  expect_storage(ring, {{"", "node1"},
                        {"a", "node2"},
                        {"test", "node2"},
                        {"10001@user", "node2"},
                        {"10002@user", "node2"},
                        {"10001_chrome-39-123@user", "node1"},
                        {"app1@app", "node1"},
                        {"Terry-Mao", "node1"},
                        {"user0", "node2"},
                        {"user1", "node1"},
                        {"user2", "node2"},
                        {"user3", "node2"}});
}

TEST(StorageRing, redis_names_match_spec) {
  const StorageRing ring({{"redis1", 1}, {"redis2", 1}});
  expect_storage(ring, {{"10001@user", "redis2"},
                        {"10002@user", "redis1"},
                        {"10003@user", "redis2"},
                        {"10001_chrome-39-123@user", "redis2"},
                        {"app1@app", "redis1"}});
}

TEST(StorageRing, distribution_of_100000_keys_matches_spec) {
  EXPECT_EQ(storage_distribution(StorageRing({{"node1", 1}, {"node2", 1}, {"node3", 1}})),
            (std::map<std::string, int>{{"node1", 33862}, {"node2", 32421}, {"node3", 33717}}));
  EXPECT_EQ(storage_distribution(StorageRing({{"node1", 1}, {"node2", 2}})),
            (std::map<std::string, int>{{"node1", 33150}, {"node2", 66850}}));
}

TEST(StorageRing, node_order_does_not_matter) {
  const StorageRing a({{"node1", 1}, {"node2", 2}, {"node3", 1}});
  const StorageRing b({{"node3", 1}, {"node2", 2}, {"node1", 1}});
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_EQ(a.node_for(key), b.node_for(key)) << key;
  }
}

TEST(StorageRing, weight_zero_gives_no_points) {
  const StorageRing ring({{"node1", 1}, {"node2", 0}});
  EXPECT_EQ(ring.points(), 255u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(ring.node_for(std::to_string(i)), "node1");
}

TEST(StorageRing, rejects_rings_without_points_and_bad_input) {
  // base 0 (config omitted): the original panics on the first lookup; we refuse to build.
  EXPECT_THROW(StorageRing({{"node1", 1}}, 0), std::invalid_argument);
  EXPECT_THROW(StorageRing({{"node1", 1}}, -255), std::invalid_argument);
  EXPECT_THROW(StorageRing({}), std::invalid_argument);
  EXPECT_THROW(StorageRing({{"node1", 0}, {"node2", 0}}), std::invalid_argument);
  EXPECT_THROW(StorageRing({{"node1", 1}, {"node2", -1}}), std::invalid_argument);
  EXPECT_THROW(StorageRing({{"node1", 1}, {"node1", 2}}), std::invalid_argument);
  EXPECT_THROW(StorageRing({{"", 1}}), std::invalid_argument);
  EXPECT_THROW(StorageRing({{"node1", 2'000'000'000}}), std::invalid_argument);
}

TEST(StorageRing, base_scales_points_per_weight) {
  EXPECT_EQ(StorageRing({{"node1", 1}, {"node2", 3}}, 10).points(), 40u);
}

// ---- parse_weighted_name ----

TEST(ParseWeightedName, accepts_name_and_weight) {
  EXPECT_EQ(parse_weighted_name("node1:2"), (std::pair<std::string, int>{"node1", 2}));
  EXPECT_EQ(parse_weighted_name("node1:1"), (std::pair<std::string, int>{"node1", 1}));
  EXPECT_EQ(parse_weighted_name("redis2:0"), (std::pair<std::string, int>{"redis2", 0}));
  EXPECT_EQ(parse_weighted_name("node1"), (std::pair<std::string, int>{"node1", 1}));
}

TEST(ParseWeightedName, rejects_bad_keys_with_a_clear_message) {
  for (const char* key : {"node1:x", "node1:", "node1:1.5", "node1:2x", "node1: 2", "node1:-1",
                          ":2", "", "a:b:2", "node1:99999999999"}) {
    EXPECT_THROW(parse_weighted_name(key), std::invalid_argument) << key;
  }
  try {
    parse_weighted_name("node1:abc");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("node1:abc"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not an integer"), std::string::npos) << e.what();
  }
  try {
    parse_weighted_name("node1:-3");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("negative"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace appmsg
