// Test helpers for asynchronous code: an io_context on its own thread, running a coroutine on
// it and waiting for the result with a deadline, and polling for a condition.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <stdexcept>
#include <thread>

namespace appmsg::test {

class IoThread {
 public:
  IoThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }
  boost::asio::any_io_executor executor() { return io_.get_executor(); }

  // Runs a coroutine on the io thread and waits for it; rethrows its exception.
  template <class T>
  T run(boost::asio::awaitable<T> coro,
        std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto fut = boost::asio::co_spawn(io_, std::move(coro), boost::asio::use_future);
    if (fut.wait_for(timeout) != std::future_status::ready) {
      throw std::runtime_error("coroutine did not finish in time");
    }
    return fut.get();
  }

  // Runs a plain function on the io thread and waits for it.
  template <class F>
  auto call(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return fut.get();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// Polls pred every 20 ms until it holds or the timeout passes; returns its last value.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace appmsg::test
