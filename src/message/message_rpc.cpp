// Message RPC: validation, and the mapping onto the storage backend.
#include "message/message_rpc.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/json_text.hpp"
#include "common/limits.hpp"
#include "common/rpc.hpp"
#include "message/message_stats.hpp"

namespace appmsg::message {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kMaxMid = (1LL << 53) - 1;  // exact as a Redis score and a JS number

[[noreturn]] void bad(MessageStats& stats, const std::string& why) {
  stats.param_errors.fetch_add(1, std::memory_order_relaxed);
  throw RpcError(message_error::param, why);
}

std::string key_of(const json& p, MessageStats& stats) {
  if (!p.is_object()) bad(stats, "params must be an object");
  auto k = p.find("key");
  if (k == p.end() || !k->is_string() || k->get<std::string>().empty())
    bad(stats, "key is required");
  if (k->get<std::string>().size() > limits::kMaxKeyBytes) bad(stats, "key too long");
  return k->get<std::string>();
}

int64_t int_of(const json& p, const char* name, int64_t def) {
  auto v = p.find(name);
  if (v == p.end() || v->is_null()) return def;
  if (!v->is_number_integer())
    throw RpcError(message_error::param, std::string(name) + " must be an integer");
  return v->get<int64_t>();
}

// One item of a save: checked and turned into what the store keeps.
StoredMessage stored(const json& p, MessageStats& stats) {
  StoredMessage m;
  m.key = key_of(p, stats);
  // The body travels as JSON text (a string) and is stored as those bytes: checked, never
  // rewritten, so what a reader gets back is what was pushed.
  auto msg = p.find("msg");
  if (msg == p.end() || !msg->is_string()) bad(stats, "msg is required, as JSON text");
  const auto& text = msg->get_ref<const std::string&>();
  if (text.size() > limits::kMaxBodyBytes) bad(stats, "msg too large");
  if (!is_json(text)) bad(stats, "msg is not JSON");
  m.msg = text;
  m.mid = int_of(p, "mid", -1);
  if (m.mid < 0 || m.mid > kMaxMid) bad(stats, "mid out of range");
  int64_t expire = int_of(p, "expire", 0);
  if (expire <= 0 || expire > limits::kMaxExpireSeconds) bad(stats, "expire out of range");
  m.expire_at = static_cast<int64_t>(std::time(nullptr)) + expire;
  return m;
}

void observe(MessageStats& stats, Clock::time_point started) {
  stats.calls.fetch_add(1, std::memory_order_relaxed);
  stats.latency_us_sum.fetch_add(
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count()),
      std::memory_order_relaxed);
}

}  // namespace

void add_message_rpc(HttpRouter& router, const MessageConfig& cfg, MessageStore& store,
                     MessageStats& stats) {
  const std::string& secret = cfg.rpc_secret;

  add_rpc_method(router, "save", secret, [&](const json& p) -> asio::awaitable<json> {
    std::vector<StoredMessage> items{stored(p, stats)};
    auto started = Clock::now();
    auto op = store.save(std::move(items));
    auto errors = co_await std::move(op);
    observe(stats, started);
    if (errors[0]) {
      stats.save_errors.fetch_add(1, std::memory_order_relaxed);
      throw RpcError(message_error::storage, *errors[0]);
    }
    stats.saves.fetch_add(1, std::memory_order_relaxed);
    co_return json::object();
  });

  add_rpc_method(router, "save_batch", secret, [&](const json& p) -> asio::awaitable<json> {
    if (!p.is_object() || !p.contains("items") || !p["items"].is_array()) {
      bad(stats, "items must be an array");
    }
    json errors = json::array();
    std::vector<StoredMessage> items;
    std::vector<size_t> index;  // position of each stored item in the request
    const auto& list = p["items"];
    for (size_t i = 0; i < list.size(); ++i) {
      try {
        items.push_back(stored(list[i], stats));
        index.push_back(i);
      } catch (const RpcError& e) {
        errors.push_back({{"index", i}, {"code", e.code()}, {"message", e.what()}});
      }
    }
    auto started = Clock::now();
    auto op = store.save(std::move(items));
    auto result = co_await std::move(op);
    observe(stats, started);
    for (size_t n = 0; n < result.size(); ++n) {
      if (result[n]) {
        stats.save_errors.fetch_add(1, std::memory_order_relaxed);
        errors.push_back(
            {{"index", index[n]}, {"code", message_error::storage}, {"message", *result[n]}});
      } else {
        stats.saves.fetch_add(1, std::memory_order_relaxed);
      }
    }
    co_return json{{"errors", std::move(errors)}};
  });

  add_rpc_method(router, "get", secret, [&](const json& p) -> asio::awaitable<json> {
    std::string key = key_of(p, stats);
    int64_t after = int_of(p, "mid", 0);
    if (after < 0) bad(stats, "mid must not be negative");
    int64_t limit = int_of(p, "limit", cfg.max_get);
    if (limit <= 0 || limit > cfg.max_get) bad(stats, "limit out of range");
    auto started = Clock::now();
    GetResult r;
    std::string failure;
    try {
      auto op = store.get(std::move(key), after, static_cast<int>(limit));
      r = co_await std::move(op);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    observe(stats, started);
    if (!failure.empty()) {
      stats.get_errors.fetch_add(1, std::memory_order_relaxed);
      throw RpcError(message_error::storage, failure);
    }
    stats.gets.fetch_add(1, std::memory_order_relaxed);
    // Each body as the text that was stored (a JSON string here), so that no parse on the way
    // can reorder its keys or change its escapes.
    json msgs = json::array();
    for (auto& [mid, msg] : r.messages) msgs.push_back({{"msg", std::move(msg)}, {"mid", mid}});
    co_return json{{"msgs", std::move(msgs)}, {"more", r.more}};
  });

  add_rpc_method(router, "delete", secret, [&](const json& p) -> asio::awaitable<json> {
    std::string key = key_of(p, stats);
    std::string failure;
    try {
      auto op = store.remove(std::move(key));
      co_await std::move(op);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      stats.delete_errors.fetch_add(1, std::memory_order_relaxed);
      throw RpcError(message_error::storage, failure);
    }
    stats.deletes.fetch_add(1, std::memory_order_relaxed);
    co_return json::object();
  });

  add_rpc_method(router, "ping", secret,
                 [](const json&) -> asio::awaitable<json> { co_return json::object(); });
  add_rpc_method(router, "stat", secret, [&stats, &cfg](const json&) -> asio::awaitable<json> {
    json s = stats.summary();
    s["backend"] = cfg.type;
    co_return s;
  });
}

}  // namespace appmsg::message
