// setSessionState (both routes) and app/getSessions.
#include "web/app/session_api.hpp"

#include "common/http_server.hpp"
#include "web/app/envelope.hpp"
#include "web/app/member_json.hpp"
#include "web/app/tokens.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

constexpr const char* kBadState = "参数格式错误，state值只能是：active/inactive,会话id不能为空）";
constexpr const char* kSetFailed = "设置会话状态失败！";

// May `app` see the sessions of user `uid`? Its own tenant's users, or anyone's for an app of
// no tenant (a system app).
asio::awaitable<bool> app_may_see(AppContext& ctx, const Application& app, std::string uid) {
  if (app.tenant_id.empty()) co_return true;
  auto op = ctx.directory->user(uid);
  auto user = co_await std::move(op);
  co_return user && user->tenant_id == app.tenant_id;
}

asio::awaitable<Answer> set_session_state(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  std::string owner;  // the user the caller may act for; "" = decided per session below
  AppPtr app;
  if (in->base.is_device()) {
    auto op = user_of_token(ctx, in->base.token);
    auto user = co_await std::move(op);
    if (!user) co_return Answer::error(kAuthErr, kSessionTimeout);
    owner = user->id;
  } else {
    auto op = ctx.directory->app_by_token(in->base.token);
    app = co_await std::move(op);
    if (!app) co_return Answer::error(kAuthErr, "auth failure");
  }
  const std::string* state = string_field(in->body, "state");
  const std::string* sid = string_field(in->body, "sessionId");
  if (!state || (*state != "active" && *state != "inactive") || !sid || sid->empty() ||
      sid->size() > 255) {
    co_return Answer::error(kParamErr, kBadState);
  }
  std::string uid = uid_of_token(*sid);  // a session id starts "<uid>_" as a token does
  if (uid.empty()) co_return Answer::error(kNotFound, kSetFailed);
  if (!owner.empty() && uid != owner) co_return Answer::error(kNotFound, kSetFailed);
  if (app) {
    auto op = app_may_see(ctx, *app, uid);
    if (!co_await std::move(op)) co_return Answer::error(kNotFound, kSetFailed);
  }
  try {
    auto op = ctx.sessions->set_state(uid, *sid, *state);
    if (!co_await std::move(op)) co_return Answer::error(kNotFound, kSetFailed);
  } catch (const std::exception& e) {
    note_store_failure(ctx, "setSessionState", e);
    co_return Answer::error(kNotFound, kSetFailed);
  }
  co_return Answer{};
}

asio::awaitable<Answer> get_sessions(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  auto a = ctx.directory->app_by_token(in->base.token);
  AppPtr app = co_await std::move(a);
  if (!app) co_return Answer::error(kAuthErr, "auth failure");
  if (in->base.uid.empty()) co_return Answer::error(kParamErr, "baseRequest.uid is required");
  auto may = app_may_see(ctx, *app, in->base.uid);
  if (!co_await std::move(may)) co_return Answer::error(kAuthErr, "not a user of this tenant");
  auto op = ctx.sessions->of_users({in->base.uid});
  auto all = co_await std::move(op);
  Answer out;
  out.payload["memberList"] = ojson::array();
  if (auto it = all.find(in->base.uid); it != all.end()) {
    for (auto& s : it->second) out.payload["memberList"].push_back(session_json(s));
  }
  co_return out;
}

}  // namespace

void add_session_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/setSessionState", {"POST"}, set_session_state);
  add_app_route(router, ctx, "/app/client/app/setSessionState", {"POST"}, set_session_state);
  add_app_route(router, ctx, "/app/client/app/getSessions", {"POST"}, get_sessions);
}

}  // namespace appmsg::web::app
