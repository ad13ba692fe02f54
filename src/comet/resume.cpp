// Resume: the fence, then paged `get` calls to the message nodes.
#include "comet/resume.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "comet/push_service.hpp"
#include "comet/tcp_protocol.hpp"
#include "common/message_nodes.hpp"
#include "common/rpc.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int kPage = 200;  // messages per get call

Message stored_message(const json& m) {
  Message out;
  out.mid = m.at("mid").get<int64_t>();
  std::string body = m.at("msg").dump();
  out.new_payload = encode_new(body, out.mid);
  out.old_payload = encode_old(body, out.mid);
  return out;
}

asio::awaitable<void> read_missed(MessageNodes& store, std::string key, int64_t after, int max,
                                  std::chrono::milliseconds timeout,
                                  std::function<void(SessionContext::Missed)> done) {
  std::vector<Message> out;
  std::string failure;
  try {
    while (static_cast<int>(out.size()) < max) {
      json params{{"key", key}, {"mid", after}, {"limit", std::min(kPage, max - (int)out.size())}};
      auto op = store.call("get", std::move(params), timeout);
      json reply = co_await std::move(op);
      const json& msgs = reply.at("msgs");
      for (const auto& m : msgs) {
        out.push_back(stored_message(m));
        after = out.back().mid;
      }
      if (msgs.empty() || !reply.value("more", false)) break;
    }
  } catch (const std::exception& e) {  // RpcError, or a reply of the wrong shape
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::warn("resume {}: reading the store failed: {}", key, failure);
    done(std::nullopt);
    co_return;
  }
  if (static_cast<int>(out.size()) >= max) {
    spdlog::info("resume {}: replaying the oldest {} missed messages only (rpc resume.max)", key,
                 max);
  }
  done(std::move(out));
}

}  // namespace

std::function<void(const std::string&, int64_t, std::function<void(SessionContext::Missed)>)>
make_fetch_missed(asio::any_io_executor control, PushService& push, MessageNodes& store, int max,
                  std::chrono::milliseconds timeout) {
  return [control, &push, &store, max, timeout](const std::string& key, int64_t after,
                                                std::function<void(SessionContext::Missed)> done) {
    asio::post(control, [control, &push, &store, max, timeout, key, after,
                         done = std::move(done)]() mutable {
      push.after_earlier_pushes([control, &store, max, timeout, key = std::move(key), after,
                                 done = std::move(done)]() mutable {
        asio::co_spawn(control,
                       read_missed(store, std::move(key), after, max, timeout, std::move(done)),
                       asio::detached);
      });
    });
  };
}

}  // namespace appmsg::comet
