// device/push and appweb/push.
#include "web/app/device_push.hpp"

#include <algorithm>

#include "common/http_server.hpp"
#include "common/limits.hpp"
#include "web/app/envelope.hpp"
#include "web/app/push_pipeline.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// What both routes hand to the common part.
struct UserPush {
  json msg;  // fromUserName, toUserName, content, msgType, clientMsgId, ...
  SessionSelector sessions;
  int64_t expire = 0;
  std::string device_id;
};

// The answer's payload: msgID (always "msgid") [compat], clientMsgId, mid.
Answer push_answer(int ret, const json& msg, int64_t mid) {
  Answer a;
  a.ret = ret;
  a.payload["msgID"] = "msgid";
  a.payload["clientMsgId"] = msg.contains("clientMsgId") ? msg["clientMsgId"] : json(nullptr);
  a.payload["mid"] = mid;
  return a;
}

asio::awaitable<Answer> push_from_user(AppContext& ctx, const HttpRequest& req, Caller caller,
                                       UserPush p) {
  const User& me = *caller.user;
  const std::string from = p.msg.value("fromUserName", std::string());
  const std::string to = p.msg.value("toUserName", std::string());
  if (from != me.id + "@user") {
    co_return Answer::error(kAuthErr, "fromUserName must be the caller");
  }
  auto [to_id, suffix] = split_name(to);
  if (to_id.empty() || to.size() > limits::kMaxKeyBytes) {
    co_return Answer::error(kParamErr, "toUserName is invalid");
  }
  if (suffix != "app" && !p.msg["content"].is_string()) {
    co_return Answer::error(kParamErr, "content must be a string");
  }
  p.msg["deviceID"] = p.device_id;
  std::string push_type;
  if (suffix == "user") {
    p.msg["fromDisplayName"] = me.nickname;
    push_type = "@user";
  } else if (suffix == "qun") {
    auto q = ctx.directory->qun(to_id);
    auto qun = co_await std::move(q);
    if (!qun) co_return Answer::error(kInternalErr);  // spec 8.5: no errMsg
    auto m = ctx.directory->qun_members(to_id);
    auto members = co_await std::move(m);
    if (std::find(members->begin(), members->end(), me.id) == members->end()) {
      co_return Answer::error(kDeleteUser);
    }
    p.msg["content"] =
        from + "|" + me.name + "|" + me.nickname + "&&" + p.msg["content"].get<std::string>();
    p.msg["fromDisplayName"] = qun->name;
    p.msg["fromUserName"] = to;
    push_type = "@qun";
  } else if (suffix == "app") {
    p.msg["fromDisplayName"] = me.nickname;
    p.msg["token"] = caller.token;
    push_type = "@app";
  } else if (suffix == "tenant") {
    if (to_id != me.tenant_id) co_return Answer::error(kAuthErr, "not the caller's tenant");
  } else if (suffix == "org") {  // members of the org only
    auto m = ctx.directory->org_members(to_id);
    auto members = co_await std::move(m);
    if (std::find(members.begin(), members.end(), me.id) == members.end()) {
      co_return Answer::error(kAuthErr, "not a member of the org");
    }
  } else {
    co_return Answer::error(kParamErr, "toUserName has an unknown suffix");
  }
  auto op =
      push_sessions(ctx, p.msg, to, p.sessions, p.expire, caller, push_type, deadline_of(ctx, req));
  auto out = co_await std::move(op);
  if (!out.err_msg.empty()) co_return Answer::error(out.ret, out.err_msg);  // nothing pushed
  co_return push_answer(out.ret, p.msg, out.mid);
}

// A JSON number of seconds within the shared limit, else nullopt.
std::optional<int64_t> expire_of(const json& v) {
  if (!v.is_number()) return std::nullopt;
  double d = v.get<double>();
  if (d < 0 || d > static_cast<double>(limits::kMaxExpireSeconds)) return std::nullopt;
  return static_cast<int64_t>(d);
}

asio::awaitable<Answer> device_push(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const json& base = in->body["baseRequest"];
  for (auto* f : {"token", "deviceType", "deviceID"}) {
    if (!base.contains(f)) co_return Answer::error(kParamErr, std::string("baseRequest.") + f);
  }
  const json* msg = object_field(in->body, "msg");
  if (!msg || !string_field(*msg, "fromUserName") || !string_field(*msg, "toUserName")) {
    co_return Answer::error(kParamErr, "msg.fromUserName and msg.toUserName are required");
  }
  if (msg->contains("msgType") && !(*msg)["msgType"].is_number()) {
    co_return Answer::error(kParamErr, "msg.msgType must be a number");
  }
  UserPush p;
  p.msg = *msg;
  p.device_id = in->base.device_id;
  p.expire = ctx.config.msg_expire;
  if (msg->contains("expire")) {
    auto e = expire_of((*msg)["expire"]);
    if (!e) co_return Answer::error(kParamErr, "msg.expire must be a number of seconds");
    p.expire = *e;
  }
  auto sel = SessionSelector::parse(in->body);
  if (!sel) co_return Answer::error(kParamErr, "sessions must be an array of strings");
  p.sessions = *sel;
  Caller caller;
  auto gate = api_call_gate(ctx, req, *in, &caller);
  if (auto refused = co_await std::move(gate)) co_return *refused;
  if (!caller.user) co_return Answer::error(kLoginErr, "Auth failure");  // an app token
  count_api_call(ctx, req, caller);
  caller.token = in->base.token;
  auto op = push_from_user(ctx, req, std::move(caller), std::move(p));
  co_return co_await std::move(op);
}

asio::awaitable<Answer> appweb_push(AppContext& ctx, const HttpRequest& req) {
  auto base = base_from_params(req);
  auto u = user_of_token(ctx, base.token);
  auto user = co_await std::move(u);
  if (!user) co_return Answer::error(kAuthErr, kSessionTimeout);
  UserPush p;
  auto type = parse_go_int(req.param_or("msg[msgType]"));
  if (!type) co_return Answer::error(kParamErr, "msgType not is int");
  p.expire = ctx.config.msg_expire;
  if (auto e = req.param("msg[expire]"); e && !e->empty()) {
    auto v = parse_go_int(*e);
    if (!v || *v < 0 || *v > limits::kMaxExpireSeconds) {
      co_return Answer::error(kParamErr, "expire not is int");
    }
    p.expire = *v;
  }
  p.msg = json{{"clientMsgId", std::string(req.param_or("msg[clientMsgId]"))},
               {"msgType", *type},
               {"fromUserName", std::string(req.param_or("msg[fromUserName]"))},
               {"toUserName", std::string(req.param_or("msg[toUserName]"))},
               {"content", std::string(req.param_or("msg[content]"))}};
  p.sessions = SessionSelector::from_list(std::string(req.param_or("sessions")));
  p.device_id = base.device_id;
  Caller caller;
  caller.user = user;
  caller.token = base.token;
  caller.kind = "app";  // "appWeb", counted as app
  auto t = tenant_of(ctx, user->tenant_id);
  caller.tenant = co_await std::move(t);
  auto op = push_from_user(ctx, req, std::move(caller), std::move(p));
  co_return co_await std::move(op);
}

}  // namespace

void add_device_push_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/push", {"POST"}, device_push);
  add_jsonp_route(router, ctx, "/app/client/appweb/push", appweb_push);
}

}  // namespace appmsg::web::app
