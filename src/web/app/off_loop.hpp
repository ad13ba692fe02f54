// Runs CPU-heavy work (password hashes) on the hashing pool, off web's event loop, and resumes
// the caller on its own executor. `f` must own what it uses. HashingJob counts a job there
// while it waits or runs (AppContext::kMaxHashingJobs bounds them).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <string>
#include <type_traits>

#include "web/app/app_context.hpp"
#include "web/app/password.hpp"

namespace appmsg::web::app {

template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> off_loop(boost::asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  auto op = boost::asio::co_spawn(
      pool.get_executor(), [f = std::move(f)]() -> boost::asio::awaitable<R> { co_return f(); },
      boost::asio::use_awaitable);
  co_return co_await std::move(op);
}

struct HashingJob {
  explicit HashingJob(AppContext& c) : ctx(c) { ++ctx.hashing_jobs; }
  ~HashingJob() { --ctx.hashing_jobs; }
  HashingJob(const HashingJob&) = delete;
  HashingJob& operator=(const HashingJob&) = delete;
  AppContext& ctx;
};

// The stored form of `password` at [app] password.iterations; nullopt when too many hashing
// jobs wait already (the caller answers 65535 rather than queue without bound).
inline boost::asio::awaitable<std::optional<std::string>> hash_off_loop(AppContext& ctx,
                                                                        std::string password) {
  if (ctx.hashing_jobs >= AppContext::kMaxHashingJobs) co_return std::nullopt;
  HashingJob job(ctx);
  auto h = off_loop(*ctx.hashing,
                    [password = std::move(password), iterations = ctx.config.password_iterations] {
                      return hash_password(password, iterations);
                    });
  co_return co_await std::move(h);
}

}  // namespace appmsg::web::app
