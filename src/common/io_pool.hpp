// A fixed set of io_contexts, one per thread, for servers that spread connections over cores:
// each connection lives on one context (no strand needed), picked round-robin.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace appmsg {

class IoPool {
 public:
  explicit IoPool(size_t threads);
  ~IoPool();  // stops and joins
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void start();  // runs each context on its own thread
  void stop();   // stops the contexts now and joins their threads
  boost::asio::io_context& next();
  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& at(size_t i) { return *contexts_[i]; }

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace appmsg
