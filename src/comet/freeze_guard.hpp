// Pushes held after a freeze. A comet stopped (SIGSTOP, a paused VM, a stalled host) for
// longer than half its ZooKeeper session may have lost the session meanwhile: web then routed
// its keys to other comets, which stored their messages with newer mids. Pushes that reach it
// as it runs again (from its socket backlog, still within their deadline) must not be
// delivered with fresh mids before it knows, or its clients would resume after them and skip
// what the others stored. So a 250 ms ticker notices the freeze, and pushes are refused (rpc
// `expired`: they did not run) until ZooKeeper answers a read (the session lives on) or
// reports the session expired (then CometService closes every client, to resume).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "common/lifeline.hpp"
#include "common/zk_client.hpp"

namespace appmsg::comet {

class FreezeGuard {
 public:
  using Clock = std::chrono::steady_clock;
  // `probe_path`: a node whose read proves the session (the comet's parent path).
  FreezeGuard(boost::asio::any_io_executor ex, ZkClient& zk, std::string probe_path,
              std::chrono::milliseconds session_timeout);
  void start();  // the ticker; call on the executor
  // Pushes must wait: a freeze was seen and ZooKeeper has not spoken since, or one is being
  // seen now (the ticker has not run for longer than half the session).
  bool holding() const;
  void session_expired();  // the hold ends (the clients are closed by the caller)

 private:
  boost::asio::awaitable<void> tick(std::shared_ptr<const bool> alive);
  boost::asio::awaitable<void> confirm(std::shared_ptr<const bool> alive);

  boost::asio::any_io_executor ex_;
  ZkClient& zk_;
  std::string probe_path_;
  std::chrono::milliseconds threshold_;
  std::atomic<int64_t> last_tick_ns_;
  std::atomic<bool> held_{false};
  Lifeline lifeline_;  // last: the coroutines stop before the members they use go
};

}  // namespace appmsg::comet
