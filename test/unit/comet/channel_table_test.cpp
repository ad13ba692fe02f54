// channel_table_test: the channel table as a pure piece, with inert connections: a channel
// exists exactly while it has a connection, newest first, the per-key bound, take/take_if, the
// counters, and concurrent adds and removes on many threads leaving nothing behind.
#include "comet/channel_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace appmsg::comet {
namespace {

class InertSubscriber : public Subscriber {
 public:
  explicit InertSubscriber(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  void deliver(std::shared_ptr<const Message>) override {}
  boost::asio::any_io_executor executor() override { return ex_; }
  void deliver_here(const std::shared_ptr<const Message>&) override {}
  void close(CloseReason) override {}
  bool old_format() const override { return false; }

 private:
  boost::asio::any_io_executor ex_;
};

class ChannelTableTest : public ::testing::Test {
 protected:
  std::shared_ptr<InertSubscriber> conn() {
    return std::make_shared<InertSubscriber>(io_.get_executor());
  }
  boost::asio::io_context io_;
};

TEST_F(ChannelTableTest, AChannelExistsExactlyWhileItHasAConnection) {
  ChannelTable t(4, 8);
  EXPECT_TRUE(t.find("k").empty());
  EXPECT_EQ(t.channels(), 0u) << "looking a key up creates nothing";
  auto a = conn(), b = conn();
  EXPECT_EQ(t.add("k", a), ChannelTable::AddResult::added);
  EXPECT_EQ(t.add("k", b), ChannelTable::AddResult::added);
  EXPECT_EQ(t.channels(), 1u);
  EXPECT_EQ(t.connections(), 2u);
  auto found = t.find("k");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0], b) << "newest first";
  EXPECT_EQ(found[1], a);
  EXPECT_TRUE(t.remove("k", a.get()));
  EXPECT_FALSE(t.remove("k", a.get())) << "removed once only";
  EXPECT_EQ(t.channels(), 1u);
  EXPECT_TRUE(t.remove("k", b.get()));
  EXPECT_EQ(t.channels(), 0u);
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_EQ(t.created(), 1u);
  EXPECT_EQ(t.deleted(), 1u);
  EXPECT_FALSE(t.remove("other", b.get()));
}

TEST_F(ChannelTableTest, AKeyHoldsAtMostMaxPerKeyConnections) {
  ChannelTable t(1, 2);
  std::vector<std::shared_ptr<InertSubscriber>> keep;
  for (int i = 0; i < 2; ++i) {
    keep.push_back(conn());
    EXPECT_EQ(t.add("k", keep.back()), ChannelTable::AddResult::added) << i;
  }
  keep.push_back(conn());
  EXPECT_EQ(t.add("k", keep.back()), ChannelTable::AddResult::full);
  EXPECT_EQ(t.count("k"), 2u);
  EXPECT_EQ(t.add("other", keep.back()), ChannelTable::AddResult::added) << "bound is per key";
}

TEST_F(ChannelTableTest, TakeAndTakeIfRemoveWholeChannels) {
  ChannelTable t(8, 8);
  auto a = conn(), b = conn(), c = conn();
  t.add("x@user", a);
  t.add("x@user", b);
  t.add("y@qun", c);
  EXPECT_EQ(t.shard_count(), 8u);
  auto keys = t.keys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"x@user", "y@qun"}));
  auto taken = t.take_if([](const std::string& k) { return k.ends_with("@qun"); });
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0], c);
  EXPECT_EQ(t.count("y@qun"), 0u);
  EXPECT_EQ(t.take("x@user").size(), 2u);
  EXPECT_EQ(t.channels(), 0u);
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_TRUE(t.take("x@user").empty());
}

TEST_F(ChannelTableTest, ShardCountIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(ChannelTable(5, 1).shard_count(), 8u);
  EXPECT_EQ(ChannelTable(1, 1).shard_count(), 1u);
}

TEST_F(ChannelTableTest, ConcurrentAddsAndRemovesLeaveNothingBehind) {
  ChannelTable t(16, 1000);
  constexpr int kThreads = 4, kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int n = 0; n < kThreads; ++n) {
    threads.emplace_back([&, n] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "k" + std::to_string(i % 50);
        auto s = conn();
        ASSERT_EQ(t.add(key, s), ChannelTable::AddResult::added);
        ASSERT_FALSE(t.find(key).empty());
        ASSERT_TRUE(t.remove(key, s.get())) << n << " " << i;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.channels(), 0u);
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_EQ(t.created(), t.deleted());
  EXPECT_TRUE(t.keys().empty());
}

}  // namespace
}  // namespace appmsg::comet
