// Comet RPC: request validation and the mapping onto PushService and ChannelTable.
#include "comet/comet_rpc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "comet/freeze_guard.hpp"
#include "common/ketama.hpp"
#include "common/rpc.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// The message travels as JSON text (a string), so its bytes arrive as the caller sent them; a
// JSON value here would already have lost its key order to the parse.
std::shared_ptr<const std::string> body_text(const json& msg) {
  if (msg.is_string()) return std::make_shared<const std::string>(msg.get<std::string>());
  if (msg.is_null()) return std::make_shared<const std::string>();
  throw RpcError(push_error::param, "msg must be JSON text (a string)");
}

int64_t expire_of(const json& j) {
  auto e = j.find("expire");
  if (e == j.end() || e->is_null()) return 0;
  if (!e->is_number_integer()) throw RpcError(push_error::param, "expire must be an integer");
  return e->get<int64_t>();
}

json result_json(const PushService::Result& r) {
  json out{{"mid", r.mid}};
  if (r.code) {
    out["code"] = r.code;
    out["error"] = r.error;
  }
  return out;
}

// An optional integer parameter.
int64_t int_param(const json& p, const char* name, int64_t def) {
  auto it = p.find(name);
  if (it == p.end() || it->is_null()) return def;
  if (!it->is_number_integer())
    throw RpcError(push_error::param, std::string(name) + " must be an integer");
  return it->get<int64_t>();
}

constexpr int64_t kMaxMigrateGraceMs = 600000;

std::vector<PushService::Item> batch_items(const json& p) {
  std::vector<PushService::Item> items;
  if (p.contains("items")) {
    if (!p["items"].is_array()) throw RpcError(push_error::param, "items must be an array");
    for (auto& it : p["items"]) {
      if (!it.is_object()) throw RpcError(push_error::param, "each item must be an object");
      items.push_back(
          {it.value("key", std::string()), body_text(it.value("msg", json())), expire_of(it)});
    }
  } else if (p.contains("keys")) {
    if (!p["keys"].is_array()) throw RpcError(push_error::param, "keys must be an array");
    auto body = body_text(p.value("msg", json()));
    int64_t expire = expire_of(p);
    for (auto& k : p["keys"]) {
      items.push_back({k.is_string() ? k.get<std::string>() : std::string(), body, expire});
    }
  } else {
    throw RpcError(push_error::param, "push_batch needs items or keys");
  }
  return items;
}

}  // namespace

void add_comet_rpc(HttpRouter& router, const std::string& secret, PushService& push,
                   ChannelTable& table, Migration& migration, const FreezeGuard& freeze,
                   const std::string& node_name) {
  auto check_not_frozen = [&freeze] {
    if (freeze.holding()) {
      throw RpcError(rpc_code::expired, "held after a freeze until ZooKeeper confirms the session");
    }
  };
  add_rpc_method(
      router, "push", secret, [&push, check_not_frozen](const json& p) -> asio::awaitable<json> {
        check_not_frozen();
        if (!p.is_object()) throw RpcError(push_error::param, "params must be an object");
        std::vector<PushService::Item> items;
        items.push_back(
            {p.value("key", std::string()), body_text(p.value("msg", json())), expire_of(p)});
        auto pending = push.push(std::move(items));
        auto results = co_await std::move(pending);
        // Delivered but not stored is an answer with its mid (the caller must not push again);
        // anything else that failed delivered nothing.
        if (results[0].code && results[0].code != push_error::store) {
          throw RpcError(results[0].code, results[0].error);
        }
        co_return result_json(results[0]);
      });

  add_rpc_method(router, "push_batch", secret,
                 [&push, check_not_frozen](const json& p) -> asio::awaitable<json> {
                   check_not_frozen();
                   if (!p.is_object())
                     throw RpcError(push_error::param, "params must be an object");
                   auto pending = push.push(batch_items(p));
                   auto results = co_await std::move(pending);
                   json out = json::array();
                   for (auto& r : results) out.push_back(result_json(r));
                   co_return json{{"results", std::move(out)}};
                 });

  add_rpc_method(router, "close", secret, [&table](const json& p) -> asio::awaitable<json> {
    std::string key = p.is_object() ? p.value("key", std::string()) : std::string();
    if (key.empty()) throw RpcError(push_error::param, "key is required");
    auto subs = table.take(key);
    if (subs.empty()) throw RpcError(rpc_error::no_channel, "channel does not exist");
    for (auto& s : subs) s->close(CloseReason::kicked);
    co_return json{{"closed", subs.size()}};
  });

  add_rpc_method(
      router, "migrate", secret, [&migration, node_name](const json& p) -> asio::awaitable<json> {
        if (!p.is_object() || !p.contains("nodes") || !p["nodes"].is_array() ||
            p["nodes"].empty()) {
          throw RpcError(push_error::param, "nodes must be a non-empty array");
        }
        auto nodes = p["nodes"].get<std::vector<std::string>>();
        int64_t vnode = int_param(p, "vnode", 255);
        if (vnode < 1 || vnode > CometRing::kMaxVnodes) {
          throw RpcError(push_error::param, "bad vnode");
        }
        int64_t grace_ms = int_param(p, "grace_ms", 0);
        if (grace_ms < 0 || grace_ms > kMaxMigrateGraceMs) {
          throw RpcError(push_error::param, "bad grace_ms");
        }
        if (std::find(nodes.begin(), nodes.end(), node_name) == nodes.end()) {
          throw RpcError(rpc_error::not_in_ring, "migrate nodes don't include self");
        }
        size_t closed = migration.request(std::move(nodes), static_cast<int>(vnode),
                                          std::chrono::milliseconds(grace_ms));
        if (grace_ms == 0) {
          spdlog::info("migrate: closed {} connections no longer owned by {}", closed, node_name);
        }
        co_return json{{"closed", closed}, {"grace_ms", grace_ms}};
      });

  add_rpc_method(router, "ping", secret, [node_name](const json&) -> asio::awaitable<json> {
    co_return json{{"node", node_name}};
  });
}

}  // namespace appmsg::comet
