// Every client connection from accept to destruction, whether or not it has joined a channel
// (still in its handshake, its token check or its resume): graceful stop closes them all and
// waits, bounded, until the last one is gone (its close has run and its leave was reported).
// Thread-safe: connections add and remove themselves on their own threads.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "comet/subscriber.hpp"

namespace appmsg::comet {

class ClientSession;

class SessionRegistry {
 public:
  void add(ClientSession* s);
  void remove(ClientSession* s);  // from the connection's destructor
  size_t size() const;
  // Closes every connection still there with `reason`; returns how many.
  size_t close_all(CloseReason reason);
  // Resumes on the caller's executor once no connection is left, or at `timeout`; true when
  // none is left.
  boost::asio::awaitable<bool> drained(std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mu_;
  std::unordered_set<ClientSession*> live_;
  std::function<void()> on_empty_;  // set while drained() waits
};

}  // namespace appmsg::comet
