// getApplicationList, getAppOperationList, setShieldMsg, cancelShieldMsg, isUserShieldApp.
#include "web/app/application_api.hpp"

#include <map>

#include "common/http_server.hpp"
#include "web/app/envelope.hpp"
#include "web/app/member_json.hpp"
#include "web/app/push_pipeline.hpp"
#include "web/app/sql_row.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

// The caller by user token, its parsed request, or the answer to send.
struct UserCall {
  AppRequest in;
  UserPtr me;
};
asio::awaitable<std::variant<UserCall, Answer>> user_call(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  auto u = user_of_token(ctx, in->base.token);
  auto me = co_await std::move(u);
  if (!me) co_return Answer::error(kAuthErr, kSessionTimeout);
  co_return UserCall{std::move(*in), me};
}

asio::awaitable<Answer> application_list(AppContext& ctx, const HttpRequest& req) {
  auto c = user_call(ctx, req);
  auto call = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&call)) co_return *refused;
  const User& me = *std::get<UserCall>(call).me;
  auto op = ctx.db->execute(
      "SELECT id, name, status, sort, avatar, tenant_id, name_py, name_quanpin, description FROM "
      "application WHERE tenant_id = '' OR tenant_id = ? ORDER BY sort, id",
      {me.tenant_id});
  auto r = co_await std::move(op);
  ojson list = ojson::array();
  for (auto& row : r.rows) {
    ojson m = node_json(col(row, 0), "@app", col(row, 1), num(row, 3), nullptr);
    m["name"] = col(row, 1);
    m["status"] = std::to_string(num(row, 2));
    m["avatar"] = col(row, 4);
    m["tenantId"] = col(row, 5);
    m["pYInitial"] = col(row, 6);
    m["pYQuanPin"] = col(row, 7);
    m["description"] = col(row, 8);
    list.push_back(std::move(m));
  }
  Answer a;
  a.payload["memberList"] = std::move(list);
  a.payload["memberCount"] = a.payload["memberList"].size();
  co_return a;
}

asio::awaitable<Answer> operation_list(AppContext& ctx, const HttpRequest& req) {
  auto c = user_call(ctx, req);
  auto call = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&call)) co_return *refused;
  auto& [in, me] = std::get<UserCall>(call);
  const std::string* name = string_field(in.body, "username");
  if (!name) co_return Answer::error(kParamErr, "username is required");
  auto [app_id, suffix] = split_name(*name);
  if (suffix != "app" || app_id.empty()) {
    co_return Answer::error(kAuthErr, "username没有以 @app 结尾");
  }
  auto a_op = ctx.directory->app(app_id);
  auto app = co_await std::move(a_op);
  if (app && !app->tenant_id.empty() && app->tenant_id != me->tenant_id) app = nullptr;
  Answer a;
  a.payload["operationList"] = ojson::array();
  a.payload["operationCount"] = 0;
  if (!app) co_return a;  // an application the caller cannot see has no menu for it
  auto op = ctx.db->execute(
      "SELECT id, app_id, content, action, operation_type, sort, IFNULL(parent_id, '') FROM "
      "operation WHERE app_id = ? ORDER BY sort, id",
      {app_id});
  auto r = co_await std::move(op);
  auto operation = [](const Row& row) {
    return ojson{{"id", col(row, 0)},
                 {"appId", col(row, 1)},
                 {"content", col(row, 2)},
                 {"action", col(row, 3)},
                 {"operationType", col(row, 4)},
                 {"sort", num(row, 5)},
                 {"operationList", ojson::array()}};
  };
  std::map<std::string, size_t> top;  // top-level id -> index in the list
  ojson& list = a.payload["operationList"];
  for (auto& row : r.rows) {
    if (!col(row, 6).empty()) continue;
    top[col(row, 0)] = list.size();
    list.push_back(operation(row));
  }
  for (auto& row : r.rows) {  // one level of children, in sort order
    auto parent = top.find(col(row, 6));
    if (parent != top.end()) list[parent->second]["operationList"].push_back(operation(row));
  }
  a.payload["operationCount"] = list.size();
  co_return a;
}

// The shield fields; sourceId must be the caller.
struct Shield {
  std::string source, target, memo;
  int64_t type = 0;
};
std::variant<Shield, Answer> shield_of(const AppRequest& in, const User& me, bool needs_type) {
  const std::string* source = string_field(in.body, "sourceId");
  const std::string* target = string_field(in.body, "targetId");
  auto type = number_field(in.body, "type");
  if (!source || !target || target->empty() || (needs_type && !type)) {
    return Answer::error(kParamErr, "sourceId, targetId and type are required");
  }
  if (*source != me.id) return Answer::error(kAuthErr, "sourceId must be the caller");
  Shield s{*source, *target, "", type ? static_cast<int64_t>(*type) : 1};
  if (const std::string* memo = string_field(in.body, "memo")) s.memo = memo->substr(0, 255);
  return s;
}

asio::awaitable<Answer> change_shield(AppContext& ctx, const HttpRequest& req, bool set) {
  auto c = user_call(ctx, req);
  auto call = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&call)) co_return *refused;
  auto& [in, me] = std::get<UserCall>(call);
  auto parsed = shield_of(in, *me, true);
  if (auto* refused = std::get_if<Answer>(&parsed)) co_return *refused;
  const Shield& s = std::get<Shield>(parsed);
  try {
    auto op = set ? ctx.db->execute(
                        "INSERT IGNORE INTO shield_msg (id, source_id, target_id, memo, type, "
                        "created, updated) VALUES (UUID(), ?, ?, ?, ?, NOW(), NOW())",
                        {s.source, s.target, s.memo, s.type})
                  : ctx.db->execute(
                        "DELETE FROM shield_msg WHERE source_id = ? AND target_id = ? AND type = ?",
                        {s.source, s.target, s.type});
    co_await std::move(op);
  } catch (const mysql::Error& e) {
    note_store_failure(ctx, "shield", e);
    co_return Answer::error(kInternalErr, "saving the shield failed");
  }
  co_return Answer{};
}

asio::awaitable<Answer> is_shielded(AppContext& ctx, const HttpRequest& req) {
  auto c = user_call(ctx, req);
  auto call = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&call)) co_return *refused;
  auto& [in, me] = std::get<UserCall>(call);
  auto parsed = shield_of(in, *me, false);
  if (auto* refused = std::get_if<Answer>(&parsed)) co_return *refused;
  const Shield& s = std::get<Shield>(parsed);
  auto op = ctx.db->execute(
      "SELECT 1 FROM shield_msg WHERE source_id = ? AND target_id = ? AND type = 1 LIMIT 1",
      {s.source, s.target});
  auto r = co_await std::move(op);
  Answer a;
  a.payload["isShield"] = !r.rows.empty();
  co_return a;
}

}  // namespace

void add_application_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/getApplicationList", {"POST"}, application_list);
  add_app_route(router, ctx, "/app/client/device/getAppOperationList", {"POST"}, operation_list);
  add_app_route(router, ctx, "/app/client/device/setShieldMsg", {"POST"},
                [](AppContext& c, const HttpRequest& r) { return change_shield(c, r, true); });
  add_app_route(router, ctx, "/app/client/device/cancelShieldMsg", {"POST"},
                [](AppContext& c, const HttpRequest& r) { return change_shield(c, r, false); });
  add_app_route(router, ctx, "/app/client/device/isUserShieldApp", {"POST"}, is_shielded);
}

}  // namespace appmsg::web::app
