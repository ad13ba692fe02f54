// device/getMember, device/addOrRemoveContact, device/search.
#include "web/app/directory_api.hpp"

#include <algorithm>
#include <cmath>

#include "common/http_server.hpp"
#include "web/app/envelope.hpp"
#include "web/app/member_json.hpp"
#include "web/app/push_pipeline.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

constexpr int64_t kMaxSearchPage = 100;

// The caller of a user-token route, or the answer to send.
asio::awaitable<std::variant<UserPtr, Answer>> caller_of(AppContext& ctx, const AppRequest& in) {
  auto op = user_of_token(ctx, in.base.token);
  auto user = co_await std::move(op);
  if (!user) co_return Answer::error(kAuthErr, kSessionTimeout);
  co_return user;
}

// May `me` see `other`? Same tenant, or a qun they are both in.
asio::awaitable<bool> may_see(AppContext& ctx, const User& me, const User& other) {
  if (me.id == other.id || (!me.tenant_id.empty() && me.tenant_id == other.tenant_id)) {
    co_return true;
  }
  auto op = ctx.db->execute(
      "SELECT 1 FROM qun_user a JOIN qun_user b ON a.qun_id = b.qun_id WHERE a.user_id = ? AND "
      "b.user_id = ? LIMIT 1",
      {me.id, other.id});
  auto r = co_await std::move(op);
  co_return !r.rows.empty();
}

asio::awaitable<Answer> get_member(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* name = string_field(in->body, "userName");
  if (!name) co_return Answer::error(kParamErr, "userName is required");
  auto [uid, suffix] = split_name(*name);
  if (suffix != "user" || uid.empty()) {
    co_return Answer::error(kParamErr, "userName must be <uid>@user");
  }
  auto c = caller_of(ctx, *in);
  auto who = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&who)) co_return *refused;
  const User& me = *std::get<UserPtr>(who);
  auto u = ctx.directory->user(uid);
  auto other = co_await std::move(u);
  if (!other) co_return Answer::error(kNotFound, "no such user");
  auto see = may_see(ctx, me, *other);
  if (!co_await std::move(see)) co_return Answer::error(kNotFound, "no such user");
  auto star = ctx.db->execute(
      "SELECT 1 FROM user_user WHERE from_user_id = ? AND to_user_id = ? LIMIT 1", {me.id, uid});
  auto s = co_await std::move(star);
  Answer a;
  a.payload["member"] = member_json(*other, s.rows.empty() ? 0 : 1);
  co_return a;
}

asio::awaitable<Answer> add_or_remove_contact(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* uid = string_field(in->body, "uid");
  auto star = number_field(in->body, "starFriend");
  if (!uid || uid->empty() || !star) co_return Answer::error(kParamErr, "uid and starFriend");
  auto c = caller_of(ctx, *in);
  auto who = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&who)) co_return *refused;
  const User& me = *std::get<UserPtr>(who);
  try {
    if (*star == 1) {
      auto u = ctx.directory->user(*uid);
      auto other = co_await std::move(u);
      if (!other) co_return Answer::error(kNotFound, "no such user");
      auto see = may_see(ctx, me, *other);
      if (!co_await std::move(see)) co_return Answer::error(kNotFound, "no such user");
      auto op = ctx.db->execute(
          "INSERT IGNORE INTO user_user (id, from_user_id, to_user_id, remark_name, sort, created, "
          "updated) VALUES (UUID(), ?, ?, '', 0, NOW(), NOW())",
          {me.id, *uid});
      co_await std::move(op);
    } else {
      auto op = ctx.db->execute("DELETE FROM user_user WHERE from_user_id = ? AND to_user_id = ?",
                                {me.id, *uid});
      co_await std::move(op);
    }
  } catch (const mysql::Error& e) {
    note_store_failure(ctx, "addOrRemoveContact", e);
    co_return Answer::error(kInternalErr, "saving the contact failed");
  }
  co_return Answer{};
}

// "50%_off\" -> "50\%\_off\\": a LIKE pattern that matches the text itself.
std::string like_escaped(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '%' || ch == '_' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

asio::awaitable<Answer> search(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* key = string_field(in->body, "searchKey");
  const std::string* type = string_field(in->body, "searchType");
  auto offset = number_field(in->body, "offset");
  auto limit = number_field(in->body, "limit");
  if (!key || !type || !offset || !limit || *offset < 0 || *limit < 0 || !std::isfinite(*offset) ||
      *offset > 1e9) {
    co_return Answer::error(kParamErr, "searchKey, searchType, offset and limit");
  }
  auto c = caller_of(ctx, *in);
  auto who = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&who)) co_return *refused;
  const User& me = *std::get<UserPtr>(who);
  Answer a;
  a.payload["memberListSize"] = 0;
  a.payload["memberList"] = ojson::array();
  a.payload["count"] = 0;
  if (*type != "user" || me.tenant_id.empty()) co_return a;  // apps: none, as the original
  const std::string pattern = "%" + like_escaped(*key) + "%";
  const int64_t page = std::min<int64_t>(static_cast<int64_t>(*limit), kMaxSearchPage);
  auto op = ctx.db->execute(
      "SELECT id FROM user WHERE tenant_id = ? AND nickname LIKE ? ESCAPE '\\\\' ORDER BY "
      "nickname, id LIMIT ? OFFSET ?",
      {me.tenant_id, pattern, page, static_cast<int64_t>(*offset)});
  auto rows = co_await std::move(op);
  auto n = ctx.db->execute(
      "SELECT COUNT(*) FROM user WHERE tenant_id = ? AND nickname LIKE ? ESCAPE '\\\\'",
      {me.tenant_id, pattern});
  auto count = co_await std::move(n);
  std::vector<std::string> ids;
  for (auto& r : rows.rows) ids.push_back(r[0].value_or(""));
  auto u = ctx.directory->users(ids);
  auto users = co_await std::move(u);
  for (auto& id : ids) {
    if (auto it = users.find(id); it != users.end()) {
      a.payload["memberList"].push_back(member_json(*it->second));
    }
  }
  a.payload["memberListSize"] = a.payload["memberList"].size();
  a.payload["count"] = count.rows.empty() ? 0 : std::stoll(count.rows[0][0].value_or("0"));
  co_return a;
}

}  // namespace

void add_directory_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/getMember", {"POST"}, get_member);
  add_app_route(router, ctx, "/app/client/device/addOrRemoveContact", {"POST"},
                add_or_remove_contact);
  add_app_route(router, ctx, "/app/client/device/search", {"POST"}, search);
}

}  // namespace appmsg::web::app
