/*
 * message_rpc_fuzz: libFuzzer target for the message node's RPC bodies (message/message_rpc),
 * through the real router and methods, over an in-memory store.
 *
 * Input: byte 0 picks the method (save, save_batch, get, delete, ping, stat, or an unknown
 * one) and whether the secret header is right; the rest is the request body. Besides crashing
 * (ASan/UBSan, or an exception escaping), it aborts when:
 *  - the answer is not 200, 400, 401 or 404 with a JSON body holding exactly one of "result"
 *    or "error" (400 only for a body that is not JSON, 401 only for a wrong secret);
 *  - an error code is not one the wire form documents (1-4, 100, 105);
 *  - a stored message is not JSON, has an empty or oversized key, or a mid out of range;
 *  - a save or save_batch answer disagrees with what reached the store;
 *  - a get answers more messages than its limit, or a mid not after the one asked for.
 */
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/http_server.hpp"
#include "common/json_text.hpp"
#include "common/limits.hpp"
#include "common/rpc.hpp"
#include "message/message_config.hpp"
#include "message/message_rpc.hpp"
#include "message/message_stats.hpp"
#include "message/message_store.hpp"

namespace {

namespace asio = boost::asio;
using nlohmann::json;
using namespace appmsg::message;

void check(bool ok) {
  if (!ok) std::abort();
}

// Keeps what it is given (bounded: it forgets everything past 1000 keys), checking each item.
class MemoryStore final : public MessageStore {
 public:
  void start() override {}
  void stop() override {}
  asio::awaitable<std::vector<std::optional<std::string>>> save(
      std::vector<StoredMessage> items) override {
    std::vector<std::optional<std::string>> out;
    for (auto& m : items) {
      check(!m.key.empty() && m.key.size() <= appmsg::limits::kMaxKeyBytes);
      check(m.mid >= 0 && m.mid < (int64_t{1} << 53));
      check(appmsg::is_json(m.msg));
      if (keys_.size() >= 1000) keys_.clear();
      keys_[m.key][m.mid] = m.msg;
      ++saved;
      out.emplace_back(m.mid % 97 == 13 ? std::optional<std::string>("shard down") : std::nullopt);
    }
    co_return out;
  }
  asio::awaitable<GetResult> get(std::string key, int64_t after, int limit) override {
    GetResult r;
    auto it = keys_.find(key);
    if (it == keys_.end()) co_return r;
    for (auto m = it->second.upper_bound(after); m != it->second.end(); ++m) {
      if (static_cast<int>(r.messages.size()) == limit) {
        r.more = true;
        break;
      }
      r.messages.emplace_back(m->first, m->second);
    }
    co_return r;
  }
  asio::awaitable<void> remove(std::string key) override {
    keys_.erase(key);
    co_return;
  }
  std::string shard_of(const std::string&) const override { return "memory"; }
  size_t saved = 0;

 private:
  std::map<std::string, std::map<int64_t, std::string>> keys_;
};

struct Node {
  MessageConfig cfg;
  MessageStats stats;
  MemoryStore store;
  appmsg::HttpRouter router;
  Node() {
    cfg.rpc_secret = "s3cret";
    cfg.max_get = 50;
    add_message_rpc(router, cfg, store, stats);
  }
};

appmsg::HttpResponse call(Node& node, const appmsg::HttpRequest& req) {
  asio::io_context io;
  appmsg::HttpResponse res;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        res = co_await node.router.dispatch(req);
        done = true;
      },
      asio::detached);
  io.run();
  check(done);
  return res;
}

bool documented(int code) {
  return (code >= 1 && code <= 4) || code == 100 || code == 105;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Node node;
  if (size < 1) return 0;
  static const char* kMethods[] = {"save", "save_batch", "get", "delete", "ping", "stat", "nope"};
  const std::string method = kMethods[(data[0] & 0x7f) % 7];
  const bool right_secret = (data[0] & 0x80) == 0;
  appmsg::HttpRequest req;
  req.method = "POST";
  req.path = req.target = "/rpc/" + method;
  req.headers.emplace_back(appmsg::kRpcSecretHeader, right_secret ? "s3cret" : "wrong");
  req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);

  const size_t saved_before = node.store.saved;
  const auto res = call(node, req);
  const json out = json::parse(res.body, nullptr, false);
  check(out.is_object() && out.size() == 1 && (out.contains("result") || out.contains("error")));
  const bool body_json = req.body.empty() || !json::parse(req.body, nullptr, false).is_discarded();
  if (method == "nope") {
    check(res.status == 404);
  } else if (!right_secret) {
    check(res.status == 401 && node.store.saved == saved_before);
  } else if (!body_json) {
    check(res.status == 400 && node.store.saved == saved_before);
  } else {
    check(res.status == 200);
  }
  if (out.contains("error")) {
    check(documented(out["error"]["code"].get<int>()));
    if (method == "save") check(node.store.saved - saved_before <= 1);
    return 0;
  }
  const json& result = out["result"];
  const json params = json::parse(req.body, nullptr, false);
  if (method == "save") {
    check(node.store.saved == saved_before + 1);
  } else if (method == "save_batch") {
    // Every item is either saved or listed in errors (a storage failure is both).
    const size_t items = params["items"].size();
    size_t param_errors = 0;
    for (auto& e : result["errors"]) {
      check(e["index"].get<size_t>() < items);
      param_errors += e["code"] == 100;
    }
    check(node.store.saved - saved_before == items - param_errors);
  } else if (method == "get") {
    const int64_t after = params.value("mid", int64_t{0});
    const int64_t limit = params.contains("limit") && !params["limit"].is_null()
                              ? params["limit"].get<int64_t>()
                              : node.cfg.max_get;
    check(static_cast<int64_t>(result["msgs"].size()) <= limit);
    for (auto& m : result["msgs"]) {
      check(m["mid"].get<int64_t>() > after);
      check(appmsg::is_json(m["msg"].get<std::string>()));
    }
  }
  return 0;
}
