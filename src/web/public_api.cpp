// Public API handlers: server lookup, offline fetch, server time.
#include "web/public_api.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/http_server.hpp"
#include "common/json_text.hpp"
#include "web/api_codes.hpp"
#include "web/web_context.hpp"

namespace appmsg::web {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// The names of the parameters in each version of a route.
struct Names {
  const char* key;
  const char* proto;
  const char* mid;
  bool old;  // unversioned route: "msg":"ok" in every answer
};
constexpr Names kV1{"k", "p", "m", false};
constexpr Names kOld{"key", "proto", "mid", true};

HttpResponse answer(WebContext& ctx, const std::string& route, const HttpRequest& req,
                    const Names& n, int ret, json data = nullptr) {
  ctx.stats.count(route, ret);
  spdlog::debug("{} {} from {}: ret {}", req.method, req.target, req.remote_address, ret);
  json body{{"ret", ret}};
  if (!data.is_null()) body["data"] = std::move(data);
  if (n.old) body["msg"] = "ok";
  return json_response(body, &req);
}

asio::awaitable<HttpResponse> server_get(WebContext& ctx, std::string route, const HttpRequest& req,
                                         Names n) {
  std::string_view key = req.query_param(n.key);
  if (key.empty()) co_return answer(ctx, route, req, n, kParamErr);
  auto proto = parse_go_int(req.query_param(n.proto));
  if (!proto) co_return answer(ctx, route, req, n, kParamErr);
  // Only client protocols: 1 WebSocket, 2 TCP. Anything else is 1003, the documented "unknown
  // protocol" (the original answered 3 with the comet's RPC address, W-2, and others 1001).
  if (*proto != 1 && *proto != 2) co_return answer(ctx, route, req, n, kUnknownProto);
  auto node = ctx.comets->snapshot()->node_for(key);
  if (!node) co_return answer(ctx, route, req, n, kNoNode);
  const std::vector<std::string>* list = *proto == 1 ? &node->info().ws : &node->info().tcp;
  if (list->empty()) co_return answer(ctx, route, req, n, kNoNode);
  co_return answer(ctx, route, req, n, kOk, json{{"server", list->front()}});
}

// {"data":{"msgs":[...]},...}: the message objects keep the order msg, mid, gid, and each body
// is embedded as the text that was pushed (the message node hands it back as a string).
std::string msgs_answer(const json& msgs, const Names& n) {
  std::string out = R"({"data":{"msgs":[)";
  bool first = true;
  for (auto& m : msgs) {
    if (!first) out += ',';
    first = false;
    const auto& body = m.at("msg").get_ref<const std::string&>();
    int64_t mid = m.at("mid").get<int64_t>();
    if (n.old) {
      out += json_string(encode_old(body, mid));  // the old form: each message a JSON string
    } else {
      out += encode_new(body, mid);
    }
  }
  out += n.old ? R"(],"pmsgs":[]},"msg":"ok","ret":0})" : R"(]},"ret":0})";
  return out;
}

asio::awaitable<HttpResponse> msg_get(WebContext& ctx, std::string route, const HttpRequest& req,
                                      Names n) {
  std::string key(req.query_param(n.key));
  std::string_view mid_text = req.query_param(n.mid);
  if (key.empty() || mid_text.empty()) co_return answer(ctx, route, req, n, kParamErr);
  auto mid = parse_go_int(mid_text);
  if (!mid) co_return answer(ctx, route, req, n, kParamErr);
  if (*mid < 0)
    co_return answer(ctx, route, req, n, kInternalErr);  // as the message node's refusal
  json reply;
  std::string failure;
  try {
    json params{{"key", key}, {"mid", *mid}, {"limit", ctx.config.msg_page}};
    auto op = ctx.messages->call("get", std::move(params), ctx.config.rpc_timeout);
    reply = co_await std::move(op);
  } catch (const RpcError& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::warn("{} {}: {}", route, key, failure);
    co_return answer(ctx, route, req, n, kInternalErr);
  }
  const json& msgs = reply["msgs"];
  if (!msgs.is_array() || msgs.empty()) co_return answer(ctx, route, req, n, kOk);
  std::string text;
  try {
    text = msgs_answer(msgs, n);
  } catch (const json::exception& e) {
    spdlog::warn("{} {}: a message node answered {}", route, key, e.what());
    co_return answer(ctx, route, req, n, kInternalErr);
  }
  ctx.stats.count(route, kOk);
  spdlog::debug("{} {} from {}: ret 0, {} messages", req.method, req.target, req.remote_address,
                msgs.size());
  co_return json_text_response(std::move(text), &req);
}

asio::awaitable<HttpResponse> time_get(WebContext& ctx, std::string route, const HttpRequest& req,
                                       Names n) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  // v1: microseconds, the unit of mids; old: 100 ns ticks, as the original (W-26).
  int64_t timeid = n.old ? ns / 100 : ns / 1000;
  co_return answer(ctx, route, req, n, kOk, json{{"timeid", timeid}});
}

template <class F>
void route(HttpRouter& router, WebContext& ctx, const std::string& path, Names n, F f) {
  router.add(path, {"GET"},
             [&ctx, path, n, f](const HttpRequest& req) { return f(ctx, path, req, n); });
}

}  // namespace

void add_public_routes(HttpRouter& router, WebContext& ctx) {
  route(router, ctx, "/1/server/get", kV1, server_get);
  route(router, ctx, "/server/get", kOld, server_get);
  route(router, ctx, "/1/msg/get", kV1, msg_get);
  route(router, ctx, "/msg/get", kOld, msg_get);
  route(router, ctx, "/1/time/get", kV1, time_get);
  route(router, ctx, "/time/get", kOld, time_get);
}

}  // namespace appmsg::web
