// Migrations of the /app schema, and the runner that applies them under a lock.
#include "web/app/schema.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

struct Migration {
  int version;
  const char* description;
  std::vector<const char*> statements;
};

// Version 1: every table, as a fresh install creates it. Version 2 brings a database that the
// original's install.sql created (same tables, fewer columns, no keys) to the same shape.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1,
       "the /app tables",
       {
           R"(CREATE TABLE IF NOT EXISTS customer (
  id varchar(64) NOT NULL, name varchar(255) NOT NULL DEFAULT '', status int NOT NULL DEFAULT 0,
  created datetime NULL, updated datetime NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS tenant (
  id varchar(64) NOT NULL, code varchar(64) NOT NULL DEFAULT '',
  name varchar(128) NOT NULL DEFAULT '', status int NOT NULL DEFAULT 0,
  customer_id varchar(64) NULL, created datetime NULL, updated datetime NULL,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS org (
  id varchar(64) NOT NULL, name varchar(120) NOT NULL DEFAULT '',
  short_name varchar(60) NOT NULL DEFAULT '', parent_id varchar(64) NOT NULL DEFAULT '',
  location varchar(256) NOT NULL DEFAULT '', tenant_id varchar(64) NOT NULL DEFAULT '',
  sort int NOT NULL DEFAULT 0, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS org_user (
  id varchar(64) NOT NULL, org_id varchar(64) NOT NULL DEFAULT '',
  user_id varchar(64) NOT NULL DEFAULT '', sort int NOT NULL DEFAULT 0,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS user (
  id varchar(64) NOT NULL, name varchar(45) NOT NULL DEFAULT '',
  nickname varchar(45) NOT NULL DEFAULT '', avatar varchar(45) NOT NULL DEFAULT '',
  name_py varchar(45) NOT NULL DEFAULT '', name_quanpin varchar(255) NOT NULL DEFAULT '',
  status int NOT NULL DEFAULT 0, rand int NOT NULL DEFAULT 0,
  password varchar(255) NOT NULL DEFAULT '', tenant_id varchar(64) NOT NULL DEFAULT '',
  level int NOT NULL DEFAULT 0, email varchar(64) NOT NULL DEFAULT '',
  mobile varchar(11) NOT NULL DEFAULT '', area varchar(128) NOT NULL DEFAULT '',
  created datetime NOT NULL, updated datetime NOT NULL, PRIMARY KEY (id))
  DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS user_user (
  id varchar(64) NOT NULL, from_user_id varchar(64) NOT NULL DEFAULT '',
  to_user_id varchar(64) NOT NULL DEFAULT '', remark_name varchar(45) NOT NULL DEFAULT '',
  sort int NOT NULL DEFAULT 0, created datetime NULL, updated datetime NULL,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS qun (
  id varchar(64) NOT NULL, creator_id varchar(64) NOT NULL DEFAULT '',
  name varchar(45) NOT NULL DEFAULT '', description varchar(255) NOT NULL DEFAULT '',
  max_member int NOT NULL DEFAULT 0, avatar varchar(255) NOT NULL DEFAULT '',
  tenant_id varchar(64) NULL, created datetime NULL, updated datetime NULL,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS qun_user (
  id varchar(64) NOT NULL, qun_id varchar(64) NOT NULL DEFAULT '',
  user_id varchar(64) NOT NULL DEFAULT '', sort int NOT NULL DEFAULT 0,
  role int NOT NULL DEFAULT 0, created datetime NULL, updated datetime NULL,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS application (
  id varchar(64) NOT NULL, name varchar(45) NOT NULL DEFAULT '',
  token varchar(45) NOT NULL DEFAULT '', type varchar(45) NOT NULL DEFAULT '',
  status int NOT NULL DEFAULT 0, sort int NOT NULL DEFAULT 0, level int NOT NULL DEFAULT 0,
  avatar varchar(255) NOT NULL DEFAULT '', tenant_id varchar(64) NOT NULL DEFAULT '',
  created datetime NULL, updated datetime NULL, name_py varchar(45) NOT NULL DEFAULT '',
  name_quanpin varchar(45) NOT NULL DEFAULT '', description varchar(255) NOT NULL DEFAULT '',
  follow varchar(45) NOT NULL DEFAULT '', PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS operation (
  id varchar(64) NOT NULL, app_id varchar(64) NOT NULL DEFAULT '',
  content varchar(45) NOT NULL DEFAULT '', action varchar(255) NOT NULL DEFAULT '',
  operation_type char(1) NOT NULL DEFAULT '1', sort int NOT NULL DEFAULT 0,
  parent_id varchar(64) NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS client (
  id varchar(64) NOT NULL, user_id varchar(64) NOT NULL DEFAULT '',
  type varchar(45) NOT NULL DEFAULT '', device_id varchar(255) NOT NULL DEFAULT '',
  latest_login_time datetime NULL, created datetime NULL, updated datetime NULL,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS client_version (
  id varchar(64) NOT NULL, type varchar(45) NOT NULL DEFAULT '',
  ver_code int NOT NULL DEFAULT 0, ver_name varchar(45) NOT NULL DEFAULT '',
  ver_description text NULL, download_url varchar(255) NOT NULL DEFAULT '',
  file_name varchar(45) NOT NULL DEFAULT '', created datetime NULL, updated datetime NULL,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS apns_token (
  id varchar(64) NOT NULL, user_id varchar(64) NOT NULL DEFAULT '',
  device_id varchar(200) NOT NULL DEFAULT '', apns_token varchar(200) NULL,
  created datetime NULL, updated datetime NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           // Kept for the original's tools; live sessions are in Redis (common/session_keys.hpp).
           R"(CREATE TABLE IF NOT EXISTS session (
  id varchar(64) NOT NULL, type varchar(45) NOT NULL DEFAULT '',
  user_id varchar(64) NOT NULL DEFAULT '', state varchar(45) NOT NULL DEFAULT 'init',
  created datetime NULL, updated datetime NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS quota (
  id varchar(64) NOT NULL, customer_id varchar(64) NOT NULL DEFAULT '',
  tenant_id varchar(64) NOT NULL DEFAULT '', api_name varchar(255) NOT NULL DEFAULT '',
  type varchar(45) NOT NULL DEFAULT '', value varchar(45) NOT NULL DEFAULT '',
  created datetime NULL, updated datetime NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS api_call (
  id varchar(64) NOT NULL, customer_id varchar(64) NOT NULL DEFAULT '',
  tenant_id varchar(64) NOT NULL DEFAULT '', caller_id varchar(64) NOT NULL DEFAULT '',
  type varchar(45) NOT NULL DEFAULT '', api_name varchar(255) NOT NULL DEFAULT '',
  count int NOT NULL DEFAULT 0, sharding int NOT NULL DEFAULT 0, created datetime NULL,
  updated datetime NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS push_cnt (
  id varchar(64) NOT NULL, customer_id varchar(64) NOT NULL DEFAULT '',
  tenant_id varchar(64) NOT NULL DEFAULT '', caller_id varchar(64) NOT NULL DEFAULT '',
  type varchar(45) NOT NULL DEFAULT '', push_type varchar(45) NOT NULL DEFAULT '',
  count int NOT NULL DEFAULT 0, sharding int NOT NULL DEFAULT 0, created datetime NULL,
  updated datetime NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS file_link (
  id varchar(64) NOT NULL, sender_id varchar(64) NOT NULL DEFAULT '',
  file_id varchar(64) NOT NULL DEFAULT '', file_name varchar(255) NOT NULL DEFAULT '',
  file_url varchar(255) NOT NULL DEFAULT '', size int NOT NULL DEFAULT 0,
  created datetime NULL, updated datetime NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS resource (
  id varchar(64) NOT NULL, customer_id varchar(64) NOT NULL DEFAULT '',
  name varchar(45) NOT NULL DEFAULT '', description varchar(512) NOT NULL DEFAULT '',
  type varchar(45) NOT NULL DEFAULT '', content varchar(255) NOT NULL DEFAULT '',
  created datetime NULL, updated datetime NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS shield_msg (
  id varchar(64) NOT NULL, source_id varchar(64) NOT NULL DEFAULT '',
  target_id varchar(64) NOT NULL DEFAULT '', memo varchar(255) NOT NULL DEFAULT '',
  type int NOT NULL DEFAULT 0, created datetime NULL, updated datetime NULL,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
           R"(CREATE TABLE IF NOT EXISTS external_interface (
  id varchar(64) NOT NULL, customer_id varchar(64) NOT NULL DEFAULT '',
  type varchar(45) NOT NULL DEFAULT '', owner int NOT NULL DEFAULT 0,
  http_url varchar(255) NOT NULL DEFAULT '', created datetime NULL, updated datetime NULL,
  PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4)",
       }},
      {2,
       "columns the original's code read, wider tokens and hashes, keys and indexes",
       {
           "ALTER TABLE application ADD COLUMN IF NOT EXISTS description varchar(255) NOT NULL "
           "DEFAULT '', ADD COLUMN IF NOT EXISTS follow varchar(45) NOT NULL DEFAULT ''",
           "ALTER TABLE user MODIFY password varchar(255) NOT NULL DEFAULT ''",
           "ALTER TABLE apns_token MODIFY device_id varchar(200) NOT NULL DEFAULT '', "
           "MODIFY apns_token varchar(200) NULL",
           "ALTER TABLE api_call MODIFY id varchar(64) NOT NULL",
           // Counter rows the original's racy upsert duplicated: summed into the first row of
           // each identity, in one transaction (a rerun after a failure finds no duplicates
           // or the untouched ones).
           "START TRANSACTION",
           "UPDATE api_call a JOIN (SELECT MIN(id) AS keep_id, SUM(count) AS total FROM api_call "
           "GROUP BY customer_id, tenant_id, caller_id, type, api_name, sharding HAVING COUNT(*) "
           "> 1) d ON a.id = d.keep_id SET a.count = d.total",
           "DELETE a FROM api_call a JOIN api_call b ON a.customer_id = b.customer_id AND "
           "a.tenant_id = b.tenant_id AND a.caller_id = b.caller_id AND a.type = b.type AND "
           "a.api_name = b.api_name AND a.sharding = b.sharding AND a.id > b.id",
           "UPDATE push_cnt a JOIN (SELECT MIN(id) AS keep_id, SUM(count) AS total FROM push_cnt "
           "GROUP BY customer_id, tenant_id, caller_id, type, push_type, sharding HAVING COUNT(*) "
           "> 1) d ON a.id = d.keep_id SET a.count = d.total",
           "DELETE a FROM push_cnt a JOIN push_cnt b ON a.customer_id = b.customer_id AND "
           "a.tenant_id = b.tenant_id AND a.caller_id = b.caller_id AND a.type = b.type AND "
           "a.push_type = b.push_type AND a.sharding = b.sharding AND a.id > b.id",
           "COMMIT",
           // Quota rows of one identity: the last written (highest id) stays.
           "DELETE a FROM quota a JOIN quota b ON a.customer_id = b.customer_id AND a.tenant_id = "
           "b.tenant_id AND a.api_name = b.api_name AND a.type = b.type AND a.id < b.id",
           // Rows the unique keys below forbid: an original database may hold duplicates.
           "DELETE a FROM qun_user a JOIN qun_user b ON a.qun_id = b.qun_id AND a.user_id = "
           "b.user_id AND a.id > b.id",
           "DELETE a FROM user_user a JOIN user_user b ON a.from_user_id = b.from_user_id AND "
           "a.to_user_id = b.to_user_id AND a.id > b.id",
           "DELETE a FROM client a JOIN client b ON a.user_id = b.user_id AND a.device_id = "
           "b.device_id AND a.id > b.id",
           "DELETE a FROM apns_token a JOIN apns_token b ON a.device_id = b.device_id AND a.id > "
           "b.id",
           "DELETE a FROM file_link a JOIN file_link b ON a.sender_id = b.sender_id AND a.file_id "
           "= b.file_id AND a.id > b.id",
           "DELETE a FROM shield_msg a JOIN shield_msg b ON a.source_id = b.source_id AND "
           "a.target_id = b.target_id AND a.type = b.type AND a.id > b.id",
           "CREATE INDEX IF NOT EXISTS user_name ON user (name)",
           "CREATE INDEX IF NOT EXISTS user_email ON user (email)",
           "CREATE INDEX IF NOT EXISTS user_tenant ON user (tenant_id)",
           "CREATE INDEX IF NOT EXISTS org_tenant ON org (tenant_id)",
           "CREATE INDEX IF NOT EXISTS org_parent ON org (parent_id)",
           "CREATE INDEX IF NOT EXISTS org_user_org ON org_user (org_id)",
           "CREATE INDEX IF NOT EXISTS org_user_user ON org_user (user_id)",
           "CREATE UNIQUE INDEX IF NOT EXISTS qun_user_pair ON qun_user (qun_id, user_id)",
           "CREATE INDEX IF NOT EXISTS qun_user_user ON qun_user (user_id)",
           "CREATE UNIQUE INDEX IF NOT EXISTS user_user_pair ON user_user (from_user_id, "
           "to_user_id)",
           "CREATE UNIQUE INDEX IF NOT EXISTS application_token ON application (token)",
           "CREATE INDEX IF NOT EXISTS session_user_state ON session (user_id, state)",
           "CREATE INDEX IF NOT EXISTS apns_token_user ON apns_token (user_id)",
           // One row per device token: a token moves to the user who logged in last.
           "CREATE UNIQUE INDEX IF NOT EXISTS apns_token_device ON apns_token (device_id)",
           "CREATE UNIQUE INDEX IF NOT EXISTS client_device ON client (user_id, device_id)",
           "CREATE UNIQUE INDEX IF NOT EXISTS file_link_file ON file_link (sender_id, file_id)",
           "CREATE INDEX IF NOT EXISTS file_link_updated ON file_link (updated)",
           "CREATE UNIQUE INDEX IF NOT EXISTS quota_identity ON quota (customer_id, tenant_id, "
           "api_name, type)",
           "CREATE UNIQUE INDEX IF NOT EXISTS api_call_identity ON api_call (customer_id, "
           "tenant_id, caller_id, type, api_name, sharding)",
           "CREATE UNIQUE INDEX IF NOT EXISTS push_cnt_identity ON push_cnt (customer_id, "
           "tenant_id, caller_id, type, push_type, sharding)",
           "CREATE UNIQUE INDEX IF NOT EXISTS shield_msg_pair ON shield_msg (source_id, "
           "target_id, type)",
           "CREATE INDEX IF NOT EXISTS shield_msg_target ON shield_msg (target_id)",
           "CREATE INDEX IF NOT EXISTS operation_app ON operation (app_id, parent_id)",
       }},
      {3,
       "one membership per org and user",
       {
           "DELETE a FROM org_user a JOIN org_user b ON a.org_id = b.org_id AND a.user_id = "
           "b.user_id AND a.id > b.id",
           "CREATE UNIQUE INDEX IF NOT EXISTS org_user_pair ON org_user (org_id, user_id)",
       }},
  };
  return all;
}

constexpr const char* kLock = "appmsgsrv.migrate";
constexpr auto kLockWait = std::chrono::seconds(60);

}  // namespace

int schema_version() {
  return migrations().back().version;
}

asio::awaitable<void> migrate(asio::any_io_executor ex, mysql::Options db) {
  db.connections = 1;  // the lock belongs to a connection: everything below runs on this one
  mysql::Pool pool(ex, db);
  auto run = [&pool](std::string sql, std::vector<mysql::Value> params = {},
                     std::chrono::milliseconds deadline = std::chrono::seconds(120)) {
    return pool.execute(std::move(sql), std::move(params), deadline);
  };
  auto op1 =
      run("SELECT GET_LOCK(?, ?)", {std::string(kLock), static_cast<int64_t>(kLockWait.count())},
          kLockWait + std::chrono::seconds(5));
  auto lock = co_await std::move(op1);
  if (lock.rows.empty() || lock.rows[0][0].value_or("0") != "1") {
    throw std::runtime_error("migrations: another node holds the lock appmsgsrv.migrate");
  }
  auto op2 =
      run("CREATE TABLE IF NOT EXISTS schema_migrations (version int NOT NULL, description "
          "varchar(255) NOT NULL DEFAULT '', applied datetime NOT NULL, PRIMARY KEY (version)) "
          "DEFAULT CHARSET=utf8mb4");
  co_await std::move(op2);
  auto op3 = run("SELECT version FROM schema_migrations");
  auto done = co_await std::move(op3);
  std::vector<int> applied;
  for (auto& row : done.rows) applied.push_back(std::stoi(row[0].value_or("0")));
  for (auto& m : migrations()) {
    if (std::find(applied.begin(), applied.end(), m.version) != applied.end()) continue;
    spdlog::info("migrations: applying {} ({})", m.version, m.description);
    for (auto* sql : m.statements) {
      auto op = run(sql);
      co_await std::move(op);
    }
    auto op4 = run("INSERT IGNORE INTO schema_migrations VALUES (?, ?, NOW())",
                   {static_cast<int64_t>(m.version), std::string(m.description)});
    co_await std::move(op4);
  }
  auto op5 = run("SELECT RELEASE_LOCK(?)", {std::string(kLock)});
  co_await std::move(op5);
}

}  // namespace appmsg::web::app
