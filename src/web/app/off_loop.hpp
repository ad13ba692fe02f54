// Runs CPU-heavy work (password hashes) on the hashing pool, off web's event loop, and resumes
// the caller on its own executor. `f` must own what it uses.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

namespace appmsg::web::app {

template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> off_loop(boost::asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  auto op = boost::asio::co_spawn(
      pool.get_executor(), [f = std::move(f)]() -> boost::asio::awaitable<R> { co_return f(); },
      boost::asio::use_awaitable);
  co_return co_await std::move(op);
}

}  // namespace appmsg::web::app
