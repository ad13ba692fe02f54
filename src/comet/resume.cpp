// Resume: the fence, then paged `get` calls to the message nodes, bounded in count and bytes.
#include "comet/resume.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "comet/push_service.hpp"
#include "comet/tcp_protocol.hpp"
#include "common/message_nodes.hpp"
#include "common/rpc.hpp"
#include "common/spawn.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int kPage = 200;  // messages per get call

// A stored message ({"msg":"<body text>","mid":N}) in the format the client wants; the body's
// bytes are the ones that were pushed.
std::shared_ptr<const Message> stored_message(const json& m, bool old_format) {
  auto out = std::make_shared<Message>();
  out->mid = m.at("mid").get<int64_t>();
  const auto& body = m.at("msg").get_ref<const std::string&>();
  if (old_format) {
    out->old_payload = encode_old(body, out->mid);
  } else {
    out->new_payload = encode_new(body, out->mid);
  }
  return out;
}

struct ReadMissed {
  MessageNodes& store;                // used only while `alive` (the comet service owns both)
  std::shared_ptr<const bool> alive;  // PushService's lifeline
  std::string key;
  int64_t after;
  bool old_format;
  ResumeLimits limits;
  std::function<void(SessionContext::Missed)> done;
};

asio::awaitable<void> read_missed(std::shared_ptr<ReadMissed> r) {
  MessageList out;
  size_t bytes = 0;
  bool truncated = false;
  std::string failure;
  try {
    int64_t after = r->after;
    while (!truncated && static_cast<int>(out.size()) < r->limits.max_messages) {
      int want = std::min(kPage, r->limits.max_messages - static_cast<int>(out.size()));
      json params{{"key", r->key}, {"mid", after}, {"limit", want}};
      if (!*r->alive) throw std::runtime_error("comet stopping");
      auto op = r->store.call("get", std::move(params), r->limits.timeout);
      json reply = co_await std::move(op);
      const json& msgs = reply.at("msgs");
      for (const auto& m : msgs) {
        auto msg = stored_message(m, r->old_format);
        if (bytes + msg->bytes() > r->limits.max_bytes) {
          truncated = true;
          break;
        }
        bytes += msg->bytes();
        after = msg->mid;
        out.push_back(std::move(msg));
      }
      if (msgs.empty() || !reply.value("more", false)) break;
    }
  } catch (const std::exception& e) {  // RpcError, or a reply of the wrong shape
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::warn("resume {}: reading the store failed: {}", r->key, failure);
    r->done(std::nullopt);
    co_return;
  }
  if (truncated || static_cast<int>(out.size()) >= r->limits.max_messages) {
    spdlog::info(
        "resume {}: replaying the oldest {} missed messages ({} bytes) only "
        "([rpc] resume.max, resume.bytes)",
        r->key, out.size(), bytes);
  }
  r->done(std::move(out));
}

}  // namespace

FetchMissed make_fetch_missed(asio::any_io_executor control, PushService& push, MessageNodes& store,
                              ResumeLimits limits) {
  return [control, &push, &store, limits](const std::string& key, int64_t after, bool old_format,
                                          std::function<void(SessionContext::Missed)> done) {
    auto read = std::make_shared<ReadMissed>(
        ReadMissed{store, push.alive(), key, after, old_format, limits, std::move(done)});
    asio::post(control, [control, &push, read = std::move(read)]() mutable {
      if (!*read->alive) return read->done(std::nullopt);
      push.after_earlier_pushes([control, read = std::move(read)](bool ok) mutable {
        if (!ok) {
          spdlog::warn("resume {}: too many resumes waiting for the fence; client retries",
                       read->key);
          return read->done(std::nullopt);
        }
        spawn(control, read_missed(std::move(read)), "resume read");
      });
    });
  };
}

}  // namespace appmsg::comet
