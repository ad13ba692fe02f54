// Starting a coroutine that nobody awaits: spawn() runs it on `ex` and, if it ends with an
// exception, logs it once with `what` (the owner and the job) and counts it, instead of
// dropping it (asio::detached) or crashing. The one way to start background work in this
// codebase; the coroutine must keep what it uses alive itself (a shared_ptr to its owner, or
// a Lifeline token checked after every wait), never a bare `this` or reference.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <exception>
#include <string>
#include <utility>

namespace appmsg {

// Background coroutines that ended with an exception, since start (all daemons' /metrics).
inline std::atomic<uint64_t> spawn_failures{0};

// The completion handler that logs a spawned coroutine's exception.
struct LogFailure {
  std::string what;
  void operator()(std::exception_ptr e) const {
    if (!e) return;
    spawn_failures.fetch_add(1, std::memory_order_relaxed);
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{}: {}", what, ex.what());
    } catch (...) {
      spdlog::error("{}: unknown exception", what);
    }
  }
};

template <class Executor, class Awaitable>
void spawn(const Executor& ex, Awaitable&& work, std::string what) {
  boost::asio::co_spawn(ex, std::forward<Awaitable>(work), LogFailure{std::move(what)});
}

}  // namespace appmsg
