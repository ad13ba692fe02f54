// Directory lookups and their caches.
#include "web/app/directory.hpp"

#include <algorithm>

#include "web/app/sql_row.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

constexpr size_t kMaxCached = 100'000;
constexpr size_t kInChunk = 500;

const char* kUserColumns =
    "id, name, nickname, avatar, name_py, name_quanpin, status, password, tenant_id, email, "
    "mobile, area";

UserPtr user_of(const Row& r) {
  auto u = std::make_shared<User>();
  u->id = col(r, 0);
  u->name = col(r, 1);
  u->nickname = col(r, 2);
  u->avatar = col(r, 3);
  u->name_py = col(r, 4);
  u->name_quanpin = col(r, 5);
  u->status = num(r, 6);
  u->password = col(r, 7);
  u->tenant_id = col(r, 8);
  u->email = col(r, 9);
  u->mobile = col(r, 10);
  u->area = col(r, 11);
  return u;
}

const char* kAppColumns =
    "id, name, token, type, status, sort, avatar, tenant_id, name_py, name_quanpin, description";

AppPtr app_of(const Row& r) {
  auto a = std::make_shared<Application>();
  a->id = col(r, 0);
  a->name = col(r, 1);
  a->token = col(r, 2);
  a->type = col(r, 3);
  a->status = num(r, 4);
  a->sort = num(r, 5);
  a->avatar = col(r, 6);
  a->tenant_id = col(r, 7);
  a->name_py = col(r, 8);
  a->name_quanpin = col(r, 9);
  a->description = col(r, 10);
  return a;
}

std::vector<std::string> first_column(const mysql::Result& r) {
  std::vector<std::string> out;
  out.reserve(r.rows.size());
  for (auto& row : r.rows) out.push_back(col(row, 0));
  return out;
}

}  // namespace

Directory::Directory(mysql::Pool& db, std::chrono::seconds user_ttl, std::chrono::seconds app_ttl)
    : db_(db),
      users_(user_ttl, kMaxCached),
      apps_by_token_(app_ttl, kMaxCached),
      apps_(app_ttl, kMaxCached),
      tenants_(user_ttl, kMaxCached),
      quns_(user_ttl, kMaxCached),
      members_(user_ttl, kMaxCached) {}

asio::awaitable<UserPtr> Directory::user(std::string id) {
  if (auto* hit = users_.find(id)) co_return *hit;
  const uint64_t epoch = epoch_;  // a forget_* meanwhile: the result is not cached
  auto op = db_.execute(std::string("SELECT ") + kUserColumns + " FROM user WHERE id = ?", {id});
  auto r = co_await std::move(op);
  UserPtr u = r.rows.empty() ? nullptr : user_of(r.rows[0]);
  if (epoch == epoch_) users_.put(id, u);
  co_return u;
}

asio::awaitable<UserPtr> Directory::user_by_login(std::string login) {
  // An address with '@' is an email (spec 3.1 #1), anything else a login name.
  std::string sql = std::string("SELECT ") + kUserColumns + " FROM user WHERE " +
                    (login.find('@') != std::string::npos ? "email" : "name") +
                    " = ? ORDER BY id LIMIT 1";
  auto op = db_.execute(std::move(sql), {login});
  auto r = co_await std::move(op);
  co_return r.rows.empty() ? nullptr : user_of(r.rows[0]);
}

asio::awaitable<std::map<std::string, UserPtr>> Directory::users(std::vector<std::string> ids) {
  std::map<std::string, UserPtr> out;
  const uint64_t epoch = epoch_;  // a forget_* meanwhile: the result is not cached
  std::vector<std::string> missing;
  for (auto& id : ids) {
    if (out.count(id)) continue;
    if (auto* hit = users_.find(id)) {
      if (*hit) out[id] = *hit;
    } else {
      missing.push_back(id);
    }
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  for (size_t at = 0; at < missing.size(); at += kInChunk) {
    size_t n = std::min(kInChunk, missing.size() - at);
    std::string sql = std::string("SELECT ") + kUserColumns + " FROM user WHERE id IN (";
    std::vector<mysql::Value> params;
    for (size_t i = 0; i < n; ++i) {
      sql += i ? ",?" : "?";
      params.emplace_back(missing[at + i]);
    }
    sql += ")";
    auto op = db_.execute(std::move(sql), std::move(params));
    auto r = co_await std::move(op);
    for (auto& row : r.rows) {
      auto u = user_of(row);
      if (epoch == epoch_) users_.put(u->id, u);
      out[u->id] = u;
    }
  }
  co_return out;
}

asio::awaitable<AppPtr> Directory::app_by_token(std::string token) {
  // application.token is varchar(45): a longer one is no token, and is not cached.
  if (token.empty() || token.size() > 64) co_return nullptr;
  if (auto* hit = apps_by_token_.find(token)) co_return *hit;
  auto op = db_.execute(std::string("SELECT ") + kAppColumns + " FROM application WHERE token = ?",
                        {token});
  auto r = co_await std::move(op);
  AppPtr a = r.rows.empty() ? nullptr : app_of(r.rows[0]);
  apps_by_token_.put(token, a);
  co_return a;
}

asio::awaitable<AppPtr> Directory::app(std::string id) {
  if (auto* hit = apps_.find(id)) co_return *hit;
  auto op =
      db_.execute(std::string("SELECT ") + kAppColumns + " FROM application WHERE id = ?", {id});
  auto r = co_await std::move(op);
  AppPtr a = r.rows.empty() ? nullptr : app_of(r.rows[0]);
  apps_.put(id, a);
  co_return a;
}

asio::awaitable<TenantPtr> Directory::tenant(std::string id) {
  if (id.empty()) co_return nullptr;
  const uint64_t epoch = epoch_;  // a forget_* meanwhile: the result is not cached
  if (auto* hit = tenants_.find(id)) co_return *hit;
  auto op = db_.execute(
      "SELECT id, code, name, status, IFNULL(customer_id, '') FROM tenant WHERE id = ?", {id});
  auto r = co_await std::move(op);
  TenantPtr t;
  if (!r.rows.empty()) {
    auto v = std::make_shared<Tenant>();
    v->id = col(r.rows[0], 0);
    v->code = col(r.rows[0], 1);
    v->name = col(r.rows[0], 2);
    v->status = num(r.rows[0], 3);
    v->customer_id = col(r.rows[0], 4);
    t = v;
  }
  if (epoch == epoch_) tenants_.put(id, t);
  co_return t;
}

asio::awaitable<QunPtr> Directory::qun(std::string id) {
  if (auto* hit = quns_.find(id)) co_return *hit;
  const uint64_t epoch = epoch_;  // a forget_* meanwhile: the result is not cached
  auto op = db_.execute(
      "SELECT id, creator_id, name, description, max_member, avatar, IFNULL(tenant_id, ''), "
      "DATE_FORMAT(created, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(updated, '%Y-%m-%dT%H:%i:%sZ') "
      "FROM qun WHERE id = ?",
      {id});
  auto r = co_await std::move(op);
  QunPtr q;
  if (!r.rows.empty()) {
    auto v = std::make_shared<Qun>();
    auto& row = r.rows[0];
    v->id = col(row, 0);
    v->creator_id = col(row, 1);
    v->name = col(row, 2);
    v->description = col(row, 3);
    v->max_member = num(row, 4);
    v->avatar = col(row, 5);
    v->tenant_id = col(row, 6);
    v->created = col(row, 7);
    v->updated = col(row, 8);
    q = v;
  }
  if (epoch == epoch_) quns_.put(id, q);
  co_return q;
}

asio::awaitable<std::shared_ptr<const std::vector<std::string>>> Directory::qun_members(
    std::string qun_id) {
  if (auto* hit = members_.find(qun_id)) co_return *hit;
  const uint64_t epoch = epoch_;  // a forget_* meanwhile: the result is not cached
  auto op = db_.execute("SELECT user_id FROM qun_user WHERE qun_id = ? ORDER BY created, sort, id",
                        {qun_id});
  auto r = co_await std::move(op);
  auto members = std::make_shared<const std::vector<std::string>>(first_column(r));
  if (epoch == epoch_) members_.put(qun_id, members);
  co_return members;
}

asio::awaitable<std::vector<std::string>> Directory::org_members(std::string org_id) {
  auto op = db_.execute("SELECT DISTINCT user_id FROM org_user WHERE org_id = ? ORDER BY user_id",
                        {org_id});
  auto r = co_await std::move(op);
  co_return first_column(r);
}

asio::awaitable<std::vector<std::string>> Directory::tenant_members(std::string tenant_id) {
  auto op = db_.execute("SELECT id FROM user WHERE tenant_id = ? ORDER BY id", {tenant_id});
  auto r = co_await std::move(op);
  co_return first_column(r);
}

asio::awaitable<void> Directory::set_password(std::string uid, std::string stored) {
  auto op = db_.execute("UPDATE user SET password = ?, updated = NOW() WHERE id = ?",
                        {std::move(stored), uid});
  co_await std::move(op);
  users_.erase(uid);
}

}  // namespace appmsg::web::app
