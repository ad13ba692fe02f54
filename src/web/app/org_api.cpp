// getOrgInfo, getOrgUserList (device and app), getOrgList, addOrgUser, removeOrgUser.
#include "web/app/org_api.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "common/http_server.hpp"
#include "web/app/envelope.hpp"
#include "web/app/member_json.hpp"
#include "web/app/sql_row.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

struct OrgNode {
  std::string id, name, parent;
  int64_t sort = 0;
  std::vector<const OrgNode*> children;
};

ojson tree_json(const std::vector<const OrgNode*>& level) {
  if (level.empty()) return nullptr;
  ojson out = ojson::array();
  for (auto* n : level)
    out.push_back(node_json(n->id, "@org", n->name, n->sort, tree_json(n->children)));
  return out;
}

// Members of `uids` in that order, skipping unknown ones; `sorts` (same order) fills `sort`.
asio::awaitable<ojson> members_of(AppContext& ctx, std::vector<std::string> uids,
                                  std::vector<int64_t> sorts = {}) {
  auto op = ctx.directory->users(uids);
  auto users = co_await std::move(op);
  ojson list = ojson::array();
  for (size_t i = 0; i < uids.size(); ++i) {
    auto it = users.find(uids[i]);
    if (it == users.end()) continue;
    ojson m = member_json(*it->second);
    if (i < sorts.size()) m["sort"] = sorts[i];
    list.push_back(std::move(m));
  }
  co_return list;
}

asio::awaitable<Answer> get_org_info(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  auto u = user_of_token(ctx, in->base.token);
  auto me = co_await std::move(u);
  if (!me) co_return Answer::error(kAuthErr, kSessionTimeout);
  auto t = tenant_of(ctx, me->tenant_id);
  auto tenant = co_await std::move(t);
  auto o = ctx.db->execute("SELECT id, name, parent_id, sort FROM org WHERE tenant_id = ?",
                           {me->tenant_id});
  auto orgs = co_await std::move(o);
  std::map<std::string, OrgNode> nodes;
  for (auto& r : orgs.rows)
    nodes[col(r, 0)] = OrgNode{col(r, 0), col(r, 1), col(r, 2), num(r, 3), {}};
  std::vector<const OrgNode*> roots;
  for (auto& [id, n] : nodes) {
    if (n.parent.empty()) {
      roots.push_back(&n);
    } else if (auto p = nodes.find(n.parent); p != nodes.end() && p->first != id) {
      p->second.children.push_back(&n);
    }  // a parent outside the tenant: dropped, as the original
  }
  auto by_sort = [](const OrgNode* a, const OrgNode* b) {
    return a->sort != b->sort ? a->sort < b->sort : a->id < b->id;
  };
  std::sort(roots.begin(), roots.end(), by_sort);
  for (auto& [id, n] : nodes) std::sort(n.children.begin(), n.children.end(), by_sort);
  Answer a;
  ojson top = node_json(tenant ? tenant->id : "", "@tenant", tenant ? tenant->name : "", 0,
                        tree_json(roots));
  top["memberCount"] = roots.size();
  a.payload["ognizationMemberList"] = std::move(top);
  auto first = ctx.db->execute(
      "SELECT org_id FROM org_user WHERE user_id = ? ORDER BY sort, id LIMIT 1", {me->id});
  auto f = co_await std::move(first);
  if (!f.rows.empty()) a.payload["userOgnization"] = col(f.rows[0], 0);
  auto s = ctx.db->execute(
      "SELECT to_user_id FROM user_user WHERE from_user_id = ? ORDER BY sort, created, id",
      {me->id});
  auto stars = co_await std::move(s);
  std::vector<std::string> ids;
  for (auto& r : stars.rows) ids.push_back(col(r, 0));
  auto m = members_of(ctx, ids);
  auto list = co_await std::move(m);
  for (auto& member : list) member["starFriend"] = 1;
  a.payload["starMemberCount"] = list.size();
  a.payload["starMemberList"] = std::move(list);
  co_return a;
}

// The tenant an org belongs to; nullopt when there is no such org.
asio::awaitable<std::optional<std::string>> org_tenant(AppContext& ctx, std::string org) {
  auto op = ctx.db->execute("SELECT tenant_id FROM org WHERE id = ?", {org});
  auto r = co_await std::move(op);
  if (r.rows.empty()) co_return std::nullopt;
  co_return col(r.rows[0], 0);
}

asio::awaitable<Answer> org_user_list(AppContext& ctx, const std::string& org) {
  auto op = ctx.db->execute(
      "SELECT user_id, sort FROM org_user WHERE org_id = ? ORDER BY sort, user_id", {org});
  auto r = co_await std::move(op);
  std::vector<std::string> ids;
  std::vector<int64_t> sorts;
  for (auto& row : r.rows) {
    ids.push_back(col(row, 0));
    sorts.push_back(num(row, 1));
  }
  auto m = members_of(ctx, ids, sorts);
  auto list = co_await std::move(m);
  Answer a;
  a.payload["memberCount"] = list.size();
  a.payload["memberList"] = std::move(list);
  co_return a;
}

asio::awaitable<Answer> device_org_user_list(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* org = string_field(in->body, "orgid");
  if (!org) co_return Answer::error(kParamErr, "orgid is required");
  auto u = user_of_token(ctx, in->base.token);
  auto me = co_await std::move(u);
  if (!me) co_return Answer::error(kAuthErr, kSessionTimeout);
  auto t = org_tenant(ctx, *org);
  auto tenant = co_await std::move(t);
  if (!tenant || tenant->empty() || *tenant != me->tenant_id) {
    co_return Answer::error(kAuthErr, "not an org of the caller's tenant");
  }
  auto op = org_user_list(ctx, *org);
  co_return co_await std::move(op);
}

bool app_may_touch(const Application& app, const std::string& tenant) {
  return app.tenant_id.empty() || app.tenant_id == tenant;
}

asio::awaitable<Answer> app_org_user_list(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* org = string_field(in->body, "orgid");
  if (!org) co_return Answer::error(kParamErr, "orgid is required");
  auto c = app_caller(ctx, *in);
  auto who = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&who)) co_return *refused;
  auto t = org_tenant(ctx, *org);
  auto tenant = co_await std::move(t);
  if (tenant && !app_may_touch(*std::get<AppPtr>(who), *tenant)) {
    co_return Answer::error(kAuthErr, "not an org of the application's tenant");
  }
  auto op = org_user_list(ctx, *org);
  co_return co_await std::move(op);
}

asio::awaitable<Answer> app_org_list(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* uid = string_field(in->body, "uid");
  if (!uid) co_return Answer::error(kParamErr, "uid is required");
  auto c = app_caller(ctx, *in);
  auto who = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&who)) co_return *refused;
  const Application& app = *std::get<AppPtr>(who);
  auto op = ctx.db->execute(
      "SELECT o.id, o.name, o.short_name, o.parent_id, o.tenant_id, o.location, o.sort FROM org o "
      "JOIN org_user ou ON ou.org_id = o.id WHERE ou.user_id = ? ORDER BY o.sort, o.id",
      {*uid});
  auto r = co_await std::move(op);
  ojson list = ojson::array();
  for (auto& row : r.rows) {
    if (!app_may_touch(app, col(row, 4))) continue;
    list.push_back(ojson{{"id", col(row, 0)},
                         {"name", col(row, 1)},
                         {"shortName", col(row, 2)},
                         {"parentId", col(row, 3)},
                         {"tenantId", col(row, 4)},
                         {"location", col(row, 5)},
                         {"sort", num(row, 6)}});
  }
  Answer a;
  a.payload["orgCount"] = list.size();
  a.payload["orgList"] = std::move(list);
  co_return a;
}

// addOrgUser / removeOrgUser: {orgid, uid} of the application's tenant.
asio::awaitable<Answer> change_org_user(AppContext& ctx, const HttpRequest& req, bool add) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* org = string_field(in->body, "orgid");
  const std::string* uid = string_field(in->body, "uid");
  if (!org || !uid || org->empty() || uid->empty()) {
    co_return Answer::error(kParamErr, "orgid and uid are required");
  }
  auto c = app_caller(ctx, *in);
  auto who = co_await std::move(c);
  if (auto* refused = std::get_if<Answer>(&who)) co_return *refused;
  const Application& app = *std::get<AppPtr>(who);
  Answer a;
  a.payload["successed"] = false;
  auto t = org_tenant(ctx, *org);
  auto tenant = co_await std::move(t);
  auto u = ctx.directory->user(*uid);
  auto user = co_await std::move(u);
  if (!tenant || !user) co_return Answer{kNotFound, "no such org or user", a.payload};
  if (!app_may_touch(app, *tenant) || user->tenant_id != *tenant) {
    co_return Answer{kAuthErr, "not the application's tenant", a.payload};
  }
  try {
    auto op = add ? ctx.db->execute(
                        "INSERT IGNORE INTO org_user (id, org_id, user_id, sort) "
                        "VALUES (UUID(), ?, ?, 0)",
                        {*org, *uid})
                  : ctx.db->execute("DELETE FROM org_user WHERE org_id = ? AND user_id = ?",
                                    {*org, *uid});
    co_await std::move(op);
  } catch (const mysql::Error& e) {
    note_store_failure(ctx, "org membership", e);
    co_return Answer{kInternalErr, "saving the membership failed", a.payload};
  }
  a.payload["successed"] = true;
  co_return a;
}

}  // namespace

void add_org_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/getOrgInfo", {"POST"}, get_org_info);
  add_app_route(router, ctx, "/app/client/device/getOrgUserList", {"GET", "POST"},
                device_org_user_list);
  add_app_route(router, ctx, "/app/client/app/getOrgUserList", {"POST"}, app_org_user_list);
  add_app_route(router, ctx, "/app/client/app/getOrgList", {"POST"}, app_org_list);
  add_app_route(router, ctx, "/app/client/app/addOrgUser", {"POST"},
                [](AppContext& c, const HttpRequest& r) { return change_org_user(c, r, true); });
  add_app_route(router, ctx, "/app/client/app/removeOrgUser", {"POST"},
                [](AppContext& c, const HttpRequest& r) { return change_org_user(c, r, false); });
}

}  // namespace appmsg::web::app
