// resume_merge_test: the merge of the stored messages a resuming client missed with the live
// ones held meanwhile: mid order, each mid once, nothing at or below the client's last mid,
// and the shared messages moved, not copied.
#include "comet/resume_merge.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace appmsg::comet {
namespace {

std::shared_ptr<const Message> msg(int64_t mid) {
  auto m = std::make_shared<Message>();
  m->mid = mid;
  m->new_payload = "m" + std::to_string(mid);
  return m;
}

MessageList list(const std::vector<int64_t>& mids) {
  MessageList out;
  for (auto mid : mids) out.push_back(msg(mid));
  return out;
}

std::vector<int64_t> mids(const MessageList& l) {
  std::vector<int64_t> out;
  for (auto& m : l) out.push_back(m->mid);
  return out;
}

TEST(ResumeMerge, InterleavesByMidAndDropsTheOverlap) {
  // 20 and 30 were delivered live while their offline copies were being stored.
  auto out = merge_missed(5, list({10, 20, 30}), list({20, 25, 30, 40}));
  EXPECT_EQ(mids(out), (std::vector<int64_t>{10, 20, 25, 30, 40}));
}

TEST(ResumeMerge, NothingAtOrBelowTheClientsLastMid) {
  auto out = merge_missed(20, list({10, 20, 21}), list({15, 20, 22}));
  EXPECT_EQ(mids(out), (std::vector<int64_t>{21, 22}));
}

TEST(ResumeMerge, EitherSideMayBeEmpty) {
  EXPECT_EQ(mids(merge_missed(0, list({}), list({}))), std::vector<int64_t>{});
  EXPECT_EQ(mids(merge_missed(0, list({1, 2}), list({}))), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(mids(merge_missed(0, list({}), list({3, 4}))), (std::vector<int64_t>{3, 4}));
}

TEST(ResumeMerge, LiveMessagesOlderThanTheStoredOnesKeepTheirPlace) {
  auto out = merge_missed(0, list({50, 60}), list({40, 55}));
  EXPECT_EQ(mids(out), (std::vector<int64_t>{40, 50, 55, 60}));
}

TEST(ResumeMerge, MovesTheSharedMessagesWithoutCopying) {
  MessageList stored = list({1});
  MessageList live = list({2});
  const Message* first = stored.front().get();
  const Message* second = live.front().get();
  auto out = merge_missed(0, std::move(stored), std::move(live));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].get(), first);
  EXPECT_EQ(out[1].get(), second);
  EXPECT_EQ(out[0].use_count(), 1) << "the merge keeps no other reference";
}

}  // namespace
}  // namespace appmsg::comet
