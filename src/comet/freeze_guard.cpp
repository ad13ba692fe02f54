// FreezeGuard: the ticker that notices a freeze, and the read that ends the hold.
#include "comet/freeze_guard.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/spawn.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
constexpr milliseconds kTick{250};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             FreezeGuard::Clock::now().time_since_epoch())
      .count();
}
}  // namespace

FreezeGuard::FreezeGuard(asio::any_io_executor ex, ZkClient& zk, std::string probe_path,
                         milliseconds session_timeout)
    : ex_(ex),
      zk_(zk),
      probe_path_(std::move(probe_path)),
      threshold_(std::max(session_timeout / 2, milliseconds(1000))),
      last_tick_ns_(now_ns()) {}

void FreezeGuard::start() {
  last_tick_ns_ = now_ns();
  spawn(ex_, tick(lifeline_.token()), "comet: freeze ticker");
}

bool FreezeGuard::holding() const {
  return held_ || now_ns() - last_tick_ns_ > std::chrono::nanoseconds(threshold_).count();
}

void FreezeGuard::session_expired() {
  held_ = false;
}

asio::awaitable<void> FreezeGuard::tick(std::shared_ptr<const bool> alive) {
  asio::steady_timer timer(ex_);
  for (;;) {
    timer.expires_after(kTick);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!*alive) co_return;
    const int64_t gap = now_ns() - last_tick_ns_;
    last_tick_ns_ = now_ns();
    if (gap > std::chrono::nanoseconds(threshold_).count() && !held_) {
      held_ = true;
      spdlog::warn("comet: frozen for {} ms; pushes wait until ZooKeeper confirms the session",
                   gap / 1'000'000);
      spawn(ex_, confirm(alive), "comet: freeze confirm");
    }
  }
}

asio::awaitable<void> FreezeGuard::confirm(std::shared_ptr<const bool> alive) {
  asio::steady_timer timer(ex_);
  while (*alive && held_) {
    try {
      auto read = zk_.get(probe_path_);
      co_await std::move(read);
      if (!*alive) co_return;
      if (held_) spdlog::info("comet: ZooKeeper confirmed the session; pushes go on");
      held_ = false;
      co_return;
    } catch (const std::exception& e) {
      // Not connected yet, or the session expired (session_expired() ends the hold then).
      spdlog::debug("comet: freeze confirm: {}; trying again", e.what());
    }
    if (!*alive) co_return;
    timer.expires_after(kTick);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace appmsg::comet
