// The registry of live client connections and the wait for the last one to go.
#include "comet/session_registry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "comet/client_session.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;

void SessionRegistry::add(ClientSession* s) {
  std::lock_guard lock(mu_);
  live_.insert(s);
}

void SessionRegistry::remove(ClientSession* s) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    live_.erase(s);
    if (live_.empty()) notify = std::move(on_empty_);
  }
  if (notify) notify();
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

size_t SessionRegistry::close_all(CloseReason reason) {
  std::vector<std::shared_ptr<ClientSession>> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(live_.size());
    // A connection in its destructor has not removed itself yet: lock() gives nothing.
    for (auto* s : live_) {
      if (auto p = s->weak_from_this().lock()) all.push_back(std::move(p));
    }
  }
  for (auto& s : all) s->close(reason);  // each closes on its own executor
  return all.size();
}

asio::awaitable<bool> SessionRegistry::drained(std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex, timeout);
  {
    std::lock_guard lock(mu_);
    if (live_.empty()) co_return true;
    on_empty_ = [ex, timer] { asio::post(ex, [timer] { timer->cancel(); }); };
  }
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mu_);
  on_empty_ = nullptr;
  co_return live_.empty();
}

}  // namespace appmsg::comet
