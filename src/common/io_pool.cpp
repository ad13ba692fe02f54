// IoPool: contexts, their threads and round-robin placement.
#include "common/io_pool.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>

namespace appmsg {

IoPool::IoPool(size_t threads) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.push_back(boost::asio::make_work_guard(*contexts_.back()));
  }
}

IoPool::~IoPool() {
  stop();
}

void IoPool::start() {
  for (auto& c : contexts_) {
    threads_.emplace_back([ctx = c.get()] {
      // A handler that throws is a bug; it is logged and the context goes on serving the
      // other connections instead of taking the process down.
      for (;;) {
        try {
          ctx->run();
          return;
        } catch (const std::exception& e) {
          spdlog::critical("io thread: unhandled exception: {}", e.what());
        }
      }
    });
  }
}

void IoPool::stop() {
  guards_.clear();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

boost::asio::io_context& IoPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace appmsg
