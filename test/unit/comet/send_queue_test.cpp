// send_queue_test: the send queue as a pure piece: the message and byte bounds (exactly at the
// bound and one over), the backlog's half bounds, a write taken whole or in part, and buffers
// released after a large write.
#include "comet/send_queue.hpp"

#include <gtest/gtest.h>

#include <string>

namespace appmsg::comet {
namespace {

void add(SendQueue& q, size_t bytes) {
  q.frames().append(bytes, 'm');
  q.added_message();
}

TEST(SendQueue, AMessageQueuesWhileBelowBothBounds) {
  const SendLimits l{3, 100};
  SendQueue q;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(q.has_room(l)) << i;
    add(q, 10);
  }
  EXPECT_FALSE(q.has_room(l)) << "three messages wait: the count bound is reached";
  EXPECT_EQ(q.messages(), 3u);

  SendQueue bytes;
  add(bytes, 99);
  EXPECT_TRUE(bytes.has_room(l)) << "99 of 100 bytes";
  bytes.frames().append(1, 'r');  // a reply: bytes only
  EXPECT_FALSE(bytes.has_room(l)) << "exactly 100 bytes wait";
  EXPECT_FALSE(bytes.over(l)) << "at the bound is not over it";
  bytes.frames().append(1, 'r');
  EXPECT_TRUE(bytes.over(l)) << "one byte over";
}

TEST(SendQueue, ABacklogFillsOnlyHalfTheBounds) {
  const SendLimits l{10, 1000};
  SendQueue q;
  size_t n = 0;
  while (q.has_room_for_backlog(l)) {
    add(q, 1);
    ++n;
  }
  EXPECT_EQ(n, 6u) << "half the count, plus one";
  EXPECT_TRUE(q.has_room(l)) << "live messages keep their headroom";
  SendQueue big;
  add(big, 500);
  EXPECT_FALSE(big.has_room_for_backlog(l)) << "half the bytes";
  EXPECT_TRUE(big.has_room(l));
}

TEST(SendQueue, AWriteTakenWholeEmptiesTheQueue) {
  SendQueue q;
  add(q, 5);
  add(q, 5);
  size_t done = 0;
  EXPECT_TRUE(q.took(10, done));
  EXPECT_EQ(done, 2u);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.writing());
  EXPECT_EQ(q.messages(), 0u);
}

TEST(SendQueue, ARestBecomesTheWriteInProgressAndNewFramesQueueBehindIt) {
  SendQueue q;
  q.frames() = "abcdef";
  q.added_message();
  q.added_message();
  size_t done = 0;
  EXPECT_FALSE(q.took(2, done));
  EXPECT_TRUE(q.writing());
  EXPECT_EQ(q.write_buffer(), "cdef");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.messages(), 0u) << "both messages belong to the write in progress";
  add(q, 3);
  EXPECT_EQ(q.write_finished(), 2u);
  EXPECT_FALSE(q.writing());
  EXPECT_EQ(q.messages(), 1u);
  EXPECT_EQ(q.frames(), "mmm");
}

TEST(SendQueue, LargeBuffersAreReleasedOnceWritten) {
  SendQueue q;
  add(q, SendQueue::kKeepBufferBytes * 4);
  size_t done = 0;
  ASSERT_TRUE(q.took(q.bytes(), done));
  EXPECT_LE(q.frames().capacity(), SendQueue::kKeepBufferBytes);
  add(q, SendQueue::kKeepBufferBytes * 4);
  ASSERT_FALSE(q.took(1, done));
  q.write_finished();
  EXPECT_LE(q.write_buffer().capacity(), SendQueue::kKeepBufferBytes);
}

}  // namespace
}  // namespace appmsg::comet
