// Admin API handlers: push to one key, push one message to many keys, delete offline messages.
#include "web/admin_api.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/http_server.hpp"
#include "common/json_text.hpp"
#include "common/limits.hpp"
#include "common/rpc.hpp"
#include "common/spawn.hpp"
#include "web/api_codes.hpp"
#include "web/countdown.hpp"
#include "web/web_context.hpp"

namespace appmsg::web {

namespace asio = boost::asio;
using nlohmann::json;

bool parse_expire(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 10) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > 4294967295LL) return false;
  out = v;
  return true;
}

bool valid_form_escapes(std::string_view body) {
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '%') continue;
    if (i + 2 >= body.size()) return false;
    if (!std::isxdigit(static_cast<unsigned char>(body[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(body[i + 2]))) {
      return false;
    }
    i += 2;
  }
  return true;
}

bool admin_authorised(WebContext& ctx, const HttpRequest& req) {
  const std::string& secret = ctx.config.admin_secret;
  if (secret.empty()) return true;
  auto given = req.header("X-Appmsg-Secret");
  if (given && given->size() == secret.size() &&
      CRYPTO_memcmp(given->data(), secret.data(), secret.size()) == 0) {
    return true;
  }
  ++ctx.stats.admin_auth_failures;
  return false;
}

namespace {

HttpResponse answer(WebContext& ctx, const std::string& route, int ret, json data = nullptr) {
  ctx.stats.count(route, ret);
  spdlog::debug("POST {}: ret {}", route, ret);
  json body{{"ret", ret}};
  if (!data.is_null()) body["data"] = std::move(data);
  return json_response(body);
}

HttpResponse unauthorised(WebContext& ctx, const std::string& route) {
  auto r = answer(ctx, route, kAuthErr);
  r.status = 401;
  return r;
}

// A push's one deadline: [rpc] timeout from the moment its request had been read.
CometNode::Clock::time_point deadline_of(WebContext& ctx, const HttpRequest& req) {
  auto from =
      req.received == CometNode::Clock::time_point{} ? CometNode::Clock::now() : req.received;
  return from + ctx.config.rpc_timeout;
}

// `data` of a push answer: the mid when the comet assigned one (0 and 1004).
json push_data(const PushResult& r) {
  return r.ret == kOk || r.ret == kNotStored ? json{{"mid", r.mid}} : json(nullptr);
}

asio::awaitable<HttpResponse> push_private(WebContext& ctx, std::string route,
                                           const HttpRequest& req) {
  if (!admin_authorised(ctx, req)) co_return unauthorised(ctx, route);
  std::string key(req.query_param("key"));
  int64_t expire = 0;
  if (key.empty() || key.size() > limits::kMaxKeyBytes ||
      !parse_expire(req.query_param("expire"), expire) || expire > limits::kMaxExpireSeconds) {
    co_return answer(ctx, route, kParamErr);
  }
  // W-27, W-28: the message is checked here, once (non-empty, JSON, bounded), then carried as
  // the bytes that came.
  if (req.body.empty() || req.body.size() > ctx.config.max_body_bytes || !is_json(req.body)) {
    co_return answer(ctx, route, kParamErr);
  }
  auto node = ctx.comets->snapshot()->node_for(key);
  if (!node) co_return answer(ctx, route, kNoNode);
  auto msg = std::make_shared<const std::string>(req.body);
  auto op = node->push(key, std::move(msg), expire, deadline_of(ctx, req));
  PushResult r = co_await std::move(op);
  if (r.ret) spdlog::debug("{} {}: comet {}: {}", route, key, node->name(), r.error);
  co_return answer(ctx, route, r.ret, push_data(r));
}

// {"k":[keys...],"m":<message>}: the keys are read from a parse of the body, the message is
// cut out of the body's text, so that it is carried as it came.
struct MultiPush {
  std::vector<std::string> keys;
  std::shared_ptr<const std::string> msg;
};

std::optional<MultiPush> parse_multi(const std::string& body, size_t max_keys, size_t max_msg) {
  if (!is_json(body)) return std::nullopt;
  auto members = object_members(body);
  if (!members) return std::nullopt;
  MultiPush out;
  bool have_keys = false;
  for (auto& [name, value] : *members) {
    if (name == "\"m\"" && !out.msg) {
      if (value.size() > max_msg) return std::nullopt;
      out.msg = std::make_shared<const std::string>(value);
    } else if (name == "\"k\"" && !have_keys) {
      have_keys = true;
      json k = json::parse(value, nullptr, false);
      if (!k.is_array() || k.empty() || k.size() > max_keys) return std::nullopt;
      for (auto& key : k) {
        if (!key.is_string()) return std::nullopt;
        auto& text = key.get_ref<const std::string&>();
        if (text.empty() || text.size() > limits::kMaxKeyBytes) return std::nullopt;
        out.keys.push_back(text);
      }
    }
  }
  if (!have_keys || !out.msg) return std::nullopt;
  return out;
}

asio::awaitable<HttpResponse> push_multi(WebContext& ctx, std::string route,
                                         const HttpRequest& req) {
  if (!admin_authorised(ctx, req)) co_return unauthorised(ctx, route);
  int64_t expire = 0;
  if (!parse_expire(req.query_param("expire"), expire) || expire > limits::kMaxExpireSeconds) {
    co_return answer(ctx, route, kParamErr);
  }
  auto parsed = parse_multi(req.body, ctx.config.max_batch_keys, ctx.config.max_body_bytes);
  if (!parsed) co_return answer(ctx, route, kParamErr);
  auto& keys = parsed->keys;
  auto snap = ctx.comets->snapshot();
  if (snap->nodes.empty()) co_return answer(ctx, route, kNoNode);
  // Group the keys by comet, remembering each key's place in the request.
  std::map<std::shared_ptr<CometNode>, std::pair<std::vector<std::string>, std::vector<size_t>>>
      groups;
  // Shared with the jobs below, which may outlive this request if it is torn down.
  auto results =
      std::make_shared<std::vector<PushResult>>(keys.size(), PushResult{kNoNode, 0, "no comet"});
  for (size_t i = 0; i < keys.size(); ++i) {
    if (auto node = snap->node_for(keys[i])) {
      groups[node].first.push_back(keys[i]);
      groups[node].second.push_back(i);
    }
  }
  auto ex = co_await asio::this_coro::executor;
  auto countdown = std::make_shared<Countdown>(ex, groups.size());
  const auto deadline = deadline_of(ctx, req);
  for (auto& [node, group] : groups) {
    // Each comet's share goes through that comet's queue, under the request's deadline.
    spawn(
        ex,
        [](std::shared_ptr<CometNode> node, std::vector<std::string> group_keys,
           std::vector<size_t> index, std::shared_ptr<const std::string> msg, int64_t expire,
           CometNode::Clock::time_point deadline, std::shared_ptr<Countdown> countdown,
           std::shared_ptr<std::vector<PushResult>> results) -> asio::awaitable<void> {
          auto op = node->push_keys(std::move(group_keys), std::move(msg), expire, deadline);
          auto rs = co_await std::move(op);
          for (size_t j = 0; j < rs.size(); ++j) (*results)[index[j]] = std::move(rs[j]);
          countdown->one_done();
        }(node, group.first, group.second, parsed->msg, expire, deadline, countdown, results),
        "batch push to comet " + node->name());
  }
  auto wait = countdown->wait();
  co_await std::move(wait);
  json failed = json::array(), mids = json::array(), rets = json::array();
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& r = (*results)[i];
    if (r.ret) failed.push_back(keys[i]);
    mids.push_back(r.mid);
    rets.push_back(r.ret);
  }
  co_return answer(
      ctx, route, kOk,
      json{{"fk", std::move(failed)}, {"mids", std::move(mids)}, {"rets", std::move(rets)}});
}

asio::awaitable<HttpResponse> msg_del(WebContext& ctx, std::string route, const HttpRequest& req) {
  if (!admin_authorised(ctx, req)) co_return unauthorised(ctx, route);
  if (!valid_form_escapes(req.body)) co_return answer(ctx, route, kParamErr);
  // The original reads the key from the form body only; the query is accepted too.
  std::string key;
  for (auto& [k, v] : parse_query(req.body)) {
    if (k == "key") {
      key = v;
      break;
    }
  }
  if (key.empty()) key = req.query_param("key");
  if (key.empty()) co_return answer(ctx, route, kParamErr);
  std::string failure;
  try {
    auto op = ctx.messages->call("delete", json{{"key", key}}, ctx.config.rpc_timeout);
    co_await std::move(op);
  } catch (const RpcError& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::warn("{} {}: {}", route, key, failure);
    co_return answer(ctx, route, kInternalErr);
  }
  co_return answer(ctx, route, kOk);
}

template <class F>
void route(HttpRouter& router, WebContext& ctx, const std::string& path, F f) {
  router.add(path, {"POST"}, [&ctx, path, f](const HttpRequest& req) { return f(ctx, path, req); });
}

}  // namespace

void add_admin_routes(HttpRouter& router, WebContext& ctx) {
  route(router, ctx, "/1/admin/push/private", push_private);
  route(router, ctx, "/admin/push", push_private);
  route(router, ctx, "/1/admin/push/mprivate", push_multi);
  route(router, ctx, "/1/admin/msg/del", msg_del);
  route(router, ctx, "/admin/msg/clean", msg_del);
}

}  // namespace appmsg::web
