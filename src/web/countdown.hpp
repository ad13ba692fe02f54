// Waits for a number of jobs started on web's one thread: each calls one_done(), the waiter
// awaits wait(). Shared by the handlers that fan out to several comets.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace appmsg::web {

struct Countdown {
  Countdown(boost::asio::any_io_executor ex, size_t n)
      : remaining(n), done(ex, std::chrono::steady_clock::time_point::max()) {}
  void one_done() {
    if (--remaining == 0) done.cancel();
  }
  boost::asio::awaitable<void> wait() {
    if (remaining == 0) co_return;
    auto op = done.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_await std::move(op);
  }
  size_t remaining;
  boost::asio::steady_timer done;
};

}  // namespace appmsg::web
