// syncOrg (with the location path of moved subtrees rewritten), syncUser (hashed passwords,
// idempotent org links), syncTenant, syncQuota (in force at once).
#include "web/app/sync_api.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "common/http_server.hpp"
#include "web/app/envelope.hpp"
#include "web/app/off_loop.hpp"
#include "web/app/org_location.hpp"
#include "web/app/push_pipeline.hpp"
#include "web/app/quotas.hpp"
#include "web/app/sql_row.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

bool may_write(const Application& app, const std::string& tenant) {
  return app.tenant_id.empty() || app.tenant_id == tenant;
}

// The string fields `names` of `obj`: absent ones are "", a field of another type is an error
// (nullopt).
std::optional<std::map<std::string, std::string>> strings_of(
    const json& obj, std::initializer_list<const char*> names) {
  std::map<std::string, std::string> out;
  for (auto* n : names) {
    auto it = obj.find(n);
    if (it == obj.end() || it->is_null()) {
      out[n] = "";
    } else if (it->is_string()) {
      out[n] = it->get<std::string>();
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// Everything a sync route starts with: the JSON request, its object under `key` and the app.
struct SyncRequest {
  AppRequest in;
  const json* obj = nullptr;
  AppPtr app;
};

asio::awaitable<std::variant<SyncRequest, Answer>> start(AppContext& ctx, const HttpRequest& req,
                                                         const char* key) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  SyncRequest r{std::move(*in), nullptr, {}};
  r.obj = object_field(r.in.body, key);
  if (!r.obj || r.obj->empty())
    co_return Answer::error(kParamErr, std::string(key) + " is required");
  auto c = app_caller(ctx, r.in);
  auto who = co_await std::move(c);
  if (auto* a = std::get_if<Answer>(&who)) co_return *a;
  r.app = std::get<AppPtr>(who);
  co_return r;
}

// ---- #34 syncOrg ----

struct OrgRow {
  std::string id, parent, location;
};

// The orgs of a tenant, locked for the transaction.
std::map<std::string, OrgRow> lock_orgs(mysql::Transaction& tx, const std::string& tenant) {
  auto r = tx.execute("SELECT id, parent_id, location FROM org WHERE tenant_id = ? FOR UPDATE",
                      {tenant});
  std::map<std::string, OrgRow> out;
  for (auto& row : r.rows) out[col(row, 0)] = OrgRow{col(row, 0), col(row, 1), col(row, 2)};
  return out;
}

std::string location_of_new_child(const std::map<std::string, OrgRow>& orgs,
                                  const std::string& parent, const std::string& self) {
  auto p = orgs.find(parent);
  const std::string prefix = p == orgs.end() ? "" : p->second.location;
  std::vector<std::string> siblings;
  for (auto& [id, o] : orgs)
    if (o.parent == parent && id != self) siblings.push_back(o.location);
  auto loc = next_location(prefix, siblings);
  if (!loc) throw Refusal(kTooLong, "an org has at most 1296 children");
  return *loc;
}

// After `moved` got `location`: every descendant gets its parent's new location plus its own
// code (a malformed one a new code), level by level.
void rewrite_descendants(mysql::Transaction& tx, std::map<std::string, OrgRow>& orgs,
                         const std::string& moved) {
  std::deque<std::string> parents{moved};
  std::set<std::string> done{moved};
  while (!parents.empty()) {
    const std::string parent = parents.front();
    parents.pop_front();
    const std::string prefix = orgs[parent].location;
    std::vector<std::string> taken;
    std::vector<std::string> malformed;
    for (auto& [id, o] : orgs) {
      if (o.parent != parent || !done.insert(id).second) continue;
      parents.push_back(id);
      const std::string old = o.location;
      auto code = old.size() >= 2 ? code_under(old.substr(0, old.size() - 2), old) : std::nullopt;
      if (!code || std::find(taken.begin(), taken.end(), prefix + *code) != taken.end()) {
        malformed.push_back(id);
        continue;
      }
      o.location = prefix + *code;
      taken.push_back(o.location);
      if (o.location != old) {
        tx.execute("UPDATE org SET location = ? WHERE id = ?", {o.location, id});
      }
    }
    for (auto& id : malformed) {
      auto loc = next_location(prefix, taken);
      if (!loc) throw Refusal(kTooLong, "an org has at most 1296 children");
      orgs[id].location = *loc;
      taken.push_back(*loc);
      tx.execute("UPDATE org SET location = ? WHERE id = ?", {*loc, id});
    }
  }
}

bool is_under(const std::map<std::string, OrgRow>& orgs, std::string id, const std::string& top) {
  for (size_t hops = 0; hops <= orgs.size() && !id.empty(); ++hops) {
    if (id == top) return true;
    auto it = orgs.find(id);
    if (it == orgs.end()) return false;
    id = it->second.parent;
  }
  return false;
}

asio::awaitable<Answer> sync_org(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, "org");
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<SyncRequest>(started);
  auto f = strings_of(*r.obj, {"id", "name", "shortName", "parentId", "tenantId"});
  auto sort = r.obj->contains("sort") ? number_field(*r.obj, "sort") : std::optional<double>(0);
  if (!f || !sort || (*f)["id"].empty() || (*f)["tenantId"].empty()) {
    co_return Answer::error(kParamErr, "org {id, name, shortName, parentId, tenantId, sort}");
  }
  if (!may_write(*r.app, (*f)["tenantId"])) {
    co_return Answer::error(kAuthErr, "not the application's tenant");
  }
  auto fields = *f;
  if (fields["parentId"] == fields["id"])
    co_return Answer::error(kParamErr, "an org is not its own parent");
  try {
    auto tx = ctx.db->transaction(
        [fields, sort = static_cast<int64_t>(*sort)](mysql::Transaction& t) mutable {
          const std::string &id = fields["id"], &parent = fields["parentId"];
          // The org's own tenant first (an org never changes tenant), then that tenant's orgs,
          // locked: every syncOrg of a tenant takes its locks in the same order.
          auto owner = t.execute("SELECT tenant_id FROM org WHERE id = ?", {id});
          if (!owner.rows.empty() && col(owner.rows[0], 0) != fields["tenantId"]) {
            throw Refusal(kAuthErr, "the org belongs to another tenant");
          }
          const std::string& tenant = fields["tenantId"];
          auto orgs = lock_orgs(t, tenant);
          const auto self = orgs.find(id);
          if (!parent.empty() && !orgs.count(parent)) {  // sync parents first
            auto other = t.execute("SELECT 1 FROM org WHERE id = ?", {parent});
            if (!other.rows.empty()) throw Refusal(kAuthErr, "the parent is of another tenant");
            throw Refusal(kNotFound, "no such parent org");
          }
          if (self == orgs.end()) {
            const std::string loc = location_of_new_child(orgs, parent, id);
            t.execute(
                "INSERT INTO org (id, name, short_name, parent_id, location, tenant_id, sort) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                {id, fields["name"], fields["shortName"], parent, loc, tenant, sort});
            return 0;
          }
          t.execute("UPDATE org SET name = ?, short_name = ?, parent_id = ?, sort = ? WHERE id = ?",
                    {fields["name"], fields["shortName"], parent, sort, id});
          if (self->second.parent != parent) {
            if (is_under(orgs, parent, id))
              throw Refusal(kParamErr, "an org cannot move under itself");
            const std::string loc = location_of_new_child(orgs, parent, id);
            orgs[id].parent = parent;
            orgs[id].location = loc;
            t.execute("UPDATE org SET location = ? WHERE id = ?", {loc, id});
            rewrite_descendants(t, orgs, id);
          }
          return 0;
        },
        time_left(deadline_of(ctx, req)));
    co_await std::move(tx);
  } catch (...) {
    co_return answer_of_failure(ctx, std::current_exception(), "synchronize org failure");
  }
  co_return Answer{};
}

// ---- #35 syncUser ----

asio::awaitable<Answer> sync_user(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, "member");
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<SyncRequest>(started);
  auto f = strings_of(*r.obj, {"uid", "name", "nickName", "pYInitial", "pYQuanPin", "status",
                               "avatar", "password", "tenantId", "email", "mobile", "area"});
  const std::string* org = r.in.body.contains("orgId") ? string_field(r.in.body, "orgId") : nullptr;
  if (!f || (*f)["uid"].empty() || (*f)["name"].empty() || (*f)["tenantId"].empty() ||
      (r.in.body.contains("orgId") && !org)) {
    co_return Answer::error(kParamErr, "member {uid, name, tenantId, ...} (strings) and orgId");
  }
  int64_t status = 0;
  try {
    size_t used = 0;
    status = (*f)["status"].empty() ? 0 : std::stoll((*f)["status"], &used);
    if (!(*f)["status"].empty() && used != (*f)["status"].size()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    co_return Answer::error(kParamErr, "member.status must be a decimal string");
  }
  if (!may_write(*r.app, (*f)["tenantId"])) {
    co_return Answer::error(kAuthErr, "not the application's tenant");
  }
  std::string stored;  // "" keeps the stored password of an existing user
  if (!(*f)["password"].empty()) {
    auto h = hash_off_loop(ctx, (*f)["password"]);
    auto hashed = co_await std::move(h);
    if (!hashed) co_return Answer::error(kInternalErr, "busy: too many password hashes waiting");
    stored = std::move(*hashed);
  }
  auto fields = *f;
  const std::string org_id = org ? *org : "";
  try {
    auto tx = ctx.db->transaction(
        [fields, status, stored, org_id](mysql::Transaction& t) mutable {
          const std::string& uid = fields["uid"];
          auto existing = t.execute("SELECT tenant_id FROM user WHERE id = ? FOR UPDATE", {uid});
          if (!existing.rows.empty() && col(existing.rows[0], 0) != fields["tenantId"]) {
            throw Refusal(kAuthErr, "the user belongs to another tenant");
          }
          std::vector<mysql::Value> values{
              fields["name"],      fields["nickName"],  fields["avatar"],
              fields["pYInitial"], fields["pYQuanPin"], status,
              fields["email"],     fields["mobile"],    fields["area"]};
          if (existing.rows.empty()) {
            values.insert(values.begin(), uid);
            values.push_back(stored);
            values.push_back(fields["tenantId"]);
            t.execute(
                "INSERT INTO user (id, name, nickname, avatar, name_py, name_quanpin, status, "
                "email, mobile, area, password, tenant_id, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(), NOW())",
                values);
          } else {
            values.push_back(stored);
            values.push_back(stored);
            values.push_back(uid);
            t.execute(
                "UPDATE user SET name = ?, nickname = ?, avatar = ?, name_py = ?, "
                "name_quanpin = ?, status = ?, email = ?, mobile = ?, area = ?, "
                "password = IF(? = '', password, ?), updated = NOW() WHERE id = ?",
                values);
          }
          if (!org_id.empty()) {  // checked after the write: a refusal rolls it back
            auto o = t.execute("SELECT tenant_id FROM org WHERE id = ?", {org_id});
            if (o.rows.empty()) throw Refusal(kNotFound, "no such org");
            if (col(o.rows[0], 0) != fields["tenantId"]) {
              throw Refusal(kAuthErr, "the org belongs to another tenant");
            }
            t.execute(
                "INSERT IGNORE INTO org_user (id, org_id, user_id, sort) VALUES (UUID(), ?, ?, 0)",
                {org_id, uid});
          }
          return 0;
        },
        time_left(deadline_of(ctx, req)));
    co_await std::move(tx);
  } catch (...) {
    co_return answer_of_failure(ctx, std::current_exception(), "sysnUser  failure");
  }
  ctx.directory->forget_user(fields["uid"]);
  co_return Answer{};
}

// ---- #36 syncTenant ----

asio::awaitable<Answer> sync_tenant(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, "tennat");
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<SyncRequest>(started);
  auto f = strings_of(*r.obj, {"id", "code", "name", "customerId"});
  auto status =
      r.obj->contains("status") ? number_field(*r.obj, "status") : std::optional<double>(0);
  if (!f || !status || (*f)["id"].empty()) {
    co_return Answer::error(kParamErr, "tennat {id, code, name, customerId, status}");
  }
  if (!may_write(*r.app, (*f)["id"]))
    co_return Answer::error(kAuthErr, "not the application's tenant");
  auto fields = *f;
  // The customer and the status decide the quotas: only a system application sets them (and
  // creates tenants); a tenant's own application renames its existing row and keeps those.
  const int64_t system = r.app->tenant_id.empty() ? 1 : 0;
  if (!system) {
    auto t = tenant_of(ctx, fields["id"]);
    if (!co_await std::move(t)) {
      co_return Answer::error(kNotFound, "no such tenant (a system application creates it)");
    }
  }
  try {
    auto op = ctx.db->execute(
        "INSERT INTO tenant (id, code, name, customer_id, status, created, updated) "
        "VALUES (?, ?, ?, ?, ?, NOW(), NOW()) ON DUPLICATE KEY UPDATE code = VALUES(code), "
        "name = VALUES(name), customer_id = IF(?, VALUES(customer_id), customer_id), "
        "status = IF(?, VALUES(status), status), updated = NOW()",
        {fields["id"], fields["code"], fields["name"], fields["customerId"],
         static_cast<int64_t>(*status), system, system},
        time_left(deadline_of(ctx, req)));
    co_await std::move(op);
  } catch (...) {
    co_return answer_of_failure(ctx, std::current_exception(), "synchronize tennat failure ");
  }
  ctx.directory->forget_tenant(fields["id"]);
  co_return Answer{};
}

// ---- #37 syncQuota ----

asio::awaitable<Answer> sync_quota(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, "quata");
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<SyncRequest>(started);
  auto f = strings_of(*r.obj, {"customerId", "tenantId", "apiName", "type", "value"});
  if (!f || (*f)["customerId"].empty() || (*f)["tenantId"].empty() || (*f)["type"].empty()) {
    co_return Answer::error(kParamErr, "quata {customerId, tenantId, apiName, type, value}");
  }
  if (!Quotas::valid_value((*f)["type"], (*f)["value"])) {
    co_return Answer::error(kParamErr,
                            "quata.type is expire (value YYYY/MM/DD HH:MM:SS), api_cnt or "
                            "push_cnt (value an integer, -1 for no limit)");
  }
  if (!r.app->tenant_id.empty()) {
    co_return Answer::error(kAuthErr, "quotas are set by a system application");
  }
  auto q = *f;
  try {
    auto op = ctx.db->execute(
        "INSERT INTO quota (id, customer_id, tenant_id, api_name, type, value, created, updated) "
        "VALUES (UUID(), ?, ?, ?, ?, ?, NOW(), NOW()) ON DUPLICATE KEY UPDATE "
        "value = VALUES(value), updated = NOW()",
        {q["customerId"], q["tenantId"], q["apiName"], q["type"], q["value"]},
        time_left(deadline_of(ctx, req)));
    co_await std::move(op);
  } catch (...) {
    co_return answer_of_failure(ctx, std::current_exception(), "sync quota fail !");
  }
  ctx.quotas->set(q["customerId"], q["tenantId"], q["apiName"], q["type"], q["value"]);
  co_return Answer{};
}

}  // namespace

void add_sync_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/app/syncOrg", {"GET", "POST"}, sync_org);
  add_app_route(router, ctx, "/app/client/app/syncUser", {"GET", "POST"}, sync_user);
  add_app_route(router, ctx, "/app/client/app/syncTenant", {"POST"}, sync_tenant);
  add_app_route(router, ctx, "/app/client/app/syncQuota", {"POST"}, sync_quota);
}

}  // namespace appmsg::web::app
