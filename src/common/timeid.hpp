/*
 * timeid: message ids (mids), microseconds since the Unix epoch (message.md §3.2).
 *
 * A TimeId hands out strictly increasing ids for one key: next() returns
 * max(now_us, last + 1). Unlike the original, which sleeps until the clock passes `last` (for a
 * repeated microsecond, or until a clock stepped back catches up), it never sleeps: the id runs
 * ahead of the clock by at most the number of ids issued in the stall.
 *
 * Thread-safe (one atomic). The comet keeps one generator for the whole process: ids then
 * increase across keys as well, and a key needs no state of its own to get increasing mids.
 * Ids are not unique across keys or processes, as in the original.
 */
#pragma once

#include <atomic>
#include <cstdint>

namespace appmsg {

// Wall-clock microseconds since the Unix epoch (system_clock nanoseconds / 1000).
int64_t now_micros();

// Nanoseconds since the epoch -> microseconds, truncating like Go's UnixNano()/1000.
// 2014-12-11T07:24:21.123456789Z (1418282661123456789 ns) -> 1418282661123456.
constexpr int64_t micros_from_nanos(int64_t ns) {
  return ns / 1000;
}

class TimeId {
 public:
  // A new id from the wall clock.
  int64_t next() { return next(now_micros()); }
  // A new id given the current time: max(now_us, last() + 1). Exposed for tests.
  int64_t next(int64_t now_us);
  // The last id returned, 0 before the first.
  int64_t last() const { return last_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> last_{0};
};

}  // namespace appmsg
