/*
 * timeid_test: microsecond mids (message.md §3.2, §8.5) and TimeId's strict increase when the
 * clock stalls or steps back (it never sleeps).
 */
#include "common/timeid.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace appmsg {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

TEST(TimeId, example_time_converts_to_spec_mid) {
  const auto t = sys_days{2014y / December / 11} + 7h + 24min + 21s + 123456789ns;
  const int64_t ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  EXPECT_EQ(ns, 1418282661123456789);
  EXPECT_EQ(micros_from_nanos(ns), 1418282661123456);
  EXPECT_EQ(duration_cast<seconds>(t.time_since_epoch()).count(), 1418282661);
  static_assert(micros_from_nanos(1418282661123456789) == 1418282661123456);
}

TEST(TimeId, starts_at_zero_and_follows_a_moving_clock) {
  TimeId gen;
  EXPECT_EQ(gen.last(), 0);
  EXPECT_EQ(gen.next(1418282661123456), 1418282661123456);
  EXPECT_EQ(gen.next(1418282661123460), 1418282661123460);
  EXPECT_EQ(gen.last(), 1418282661123460);
}

TEST(TimeId, same_microsecond_gives_first_plus_one) {
  TimeId gen;
  const int64_t first = gen.next(1418282661123456);
  const int64_t second = gen.next(1418282661123456);
  EXPECT_EQ(first, 1418282661123456);
  EXPECT_EQ(second, first + 1);
}

TEST(TimeId, stalled_clock_still_gives_strictly_increasing_ids) {
  TimeId gen;
  int64_t prev = gen.next(1000);
  for (int i = 0; i < 100; ++i) {
    const int64_t id = gen.next(1000);
    EXPECT_EQ(id, prev + 1);
    prev = id;
  }
  // Once the clock passes the ids again, they follow the clock.
  EXPECT_EQ(gen.next(5000), 5000);
}

TEST(TimeId, clock_stepping_back_never_repeats_or_decreases) {
  TimeId gen;
  EXPECT_EQ(gen.next(1418282661123456), 1418282661123456);
  EXPECT_EQ(gen.next(1418282600000000), 1418282661123457);  // one minute back
  EXPECT_EQ(gen.next(1418282661123457), 1418282661123458);  // caught up, still ahead
  EXPECT_EQ(gen.next(1418282661200000), 1418282661200000);
}

TEST(TimeId, wall_clock_ids_increase_and_track_now) {
  TimeId gen;
  const int64_t before = now_micros();
  int64_t prev = 0;
  for (int i = 0; i < 10000; ++i) {
    const int64_t id = gen.next();
    ASSERT_GT(id, prev);
    prev = id;
  }
  EXPECT_GE(gen.last(), before);
  EXPECT_EQ(gen.last(), prev);
  // Ids run ahead of the clock by at most the number issued.
  EXPECT_LE(gen.last(), now_micros() + 10000);
  // Microseconds, not 100 ns units: a 2014..2255 wall clock lies in [1.4e15, 9e15).
  EXPECT_GT(before, 1'400'000'000'000'000);
  EXPECT_LT(before, 9'000'000'000'000'000);
}

}  // namespace
}  // namespace appmsg
