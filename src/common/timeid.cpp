/*
 * timeid: the clock read and the id step for TimeId (see timeid.hpp). Never sleeps.
 */
#include "common/timeid.hpp"

#include <algorithm>
#include <chrono>

namespace appmsg {

int64_t now_micros() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return micros_from_nanos(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

int64_t TimeId::next(int64_t now_us) {
  int64_t last = last_.load(std::memory_order_relaxed);
  int64_t id;
  do {
    id = std::max(now_us, last + 1);
  } while (!last_.compare_exchange_weak(last, id, std::memory_order_relaxed));
  return id;
}

}  // namespace appmsg
