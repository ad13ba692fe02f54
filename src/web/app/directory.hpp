// The directory rows the /app API reads on every request: users, applications, tenants, quns
// and their members, from MySQL, cached for a short time ([app] user.cache, token.cache) so
// that token checks and fan-outs do not query per request or per recipient. Lookups of many
// users are one `IN (...)` query per 500 ids. Single-threaded: web's event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mysql_pool.hpp"
#include "web/app/ttl_cache.hpp"

namespace appmsg::web::app {

struct User {
  std::string id, name, nickname, avatar, name_py, name_quanpin, password, tenant_id, email, mobile,
      area;
  int64_t status = 0;
};

struct Application {
  std::string id, name, token, type, avatar, tenant_id, name_py, name_quanpin, description;
  int64_t status = 0, sort = 0;
};

struct Tenant {
  std::string id, code, name, customer_id;
  int64_t status = 0;
};

struct Qun {
  std::string id, creator_id, name, description, avatar, tenant_id, created, updated;
  int64_t max_member = 0;
};

using UserPtr = std::shared_ptr<const User>;
using AppPtr = std::shared_ptr<const Application>;
using TenantPtr = std::shared_ptr<const Tenant>;
using QunPtr = std::shared_ptr<const Qun>;

class Directory {
 public:
  Directory(mysql::Pool& db, std::chrono::seconds user_ttl, std::chrono::seconds app_ttl);

  // nullptr when there is no such row. Throw mysql::Error.
  boost::asio::awaitable<UserPtr> user(std::string id);
  boost::asio::awaitable<UserPtr> user_by_login(std::string name_or_email);  // not cached
  // The users among `ids` that exist, by id.
  boost::asio::awaitable<std::map<std::string, UserPtr>> users(std::vector<std::string> ids);
  boost::asio::awaitable<AppPtr> app_by_token(std::string token);
  boost::asio::awaitable<AppPtr> app(std::string id);
  boost::asio::awaitable<TenantPtr> tenant(std::string id);
  boost::asio::awaitable<QunPtr> qun(std::string id);
  // Member user ids in the order they joined.
  boost::asio::awaitable<std::shared_ptr<const std::vector<std::string>>> qun_members(
      std::string qun_id);
  boost::asio::awaitable<std::vector<std::string>> org_members(std::string org_id);
  boost::asio::awaitable<std::vector<std::string>> tenant_members(std::string tenant_id);

  // After a change to a qun or its members on this node: the next lookups read MySQL. (Other
  // web nodes see the change when their entries expire, after [app] user.cache.)
  // A lookup that was waiting for MySQL meanwhile does not cache its (maybe older) result.
  void forget_qun(const std::string& qun_id) {
    quns_.erase(qun_id);
    members_.erase(qun_id);
    ++epoch_;
  }
  void forget_user(const std::string& uid) {
    users_.erase(uid);
    ++epoch_;
  }
  void forget_tenant(const std::string& id) {
    tenants_.erase(id);
    ++epoch_;
  }

  boost::asio::awaitable<void> set_password(std::string uid, std::string stored);

  mysql::Pool& db() { return db_; }

 private:
  mysql::Pool& db_;
  TtlCache<UserPtr> users_;
  TtlCache<AppPtr> apps_by_token_, apps_;
  TtlCache<TenantPtr> tenants_;
  TtlCache<QunPtr> quns_;
  TtlCache<std::shared_ptr<const std::vector<std::string>>> members_;
  uint64_t epoch_ = 0;  // bumped by every forget_*
};

}  // namespace appmsg::web::app
