// The sync API for backends (app/syncOrg, syncUser, syncTenant, syncQuota) against a real
// cluster in app mode (app_fixture.hpp): location paths through moves, hashed passwords,
// updates that update, a sync rolled back whole on a bad row, tenant isolation, quotas in
// force at once.
#include <gtest/gtest.h>

#include "app_fixture.hpp"

namespace appmsg {
namespace {

using namespace test_app;
using nlohmann::json;

constexpr const char* kSystemToken = "sys-secret";  // the fixture's application of no tenant

class AppSyncTest : public AppApiTest {
 protected:
  json sync(const std::string& route, const std::string& token, const char* key, json obj,
            json extra = json::object()) {
    extra["baseRequest"] = base(token, "", "");
    extra[key] = std::move(obj);
    return post("app/" + route, extra);
  }
  json org(const std::string& token, const std::string& id, const std::string& parent,
           const std::string& tenant = "t1", const std::string& name = "") {
    return sync("syncOrg", token, "org",
                {{"id", id},
                 {"name", name.empty() ? id : name},
                 {"shortName", ""},
                 {"parentId", parent},
                 {"tenantId", tenant},
                 {"sort", 3}});
  }
  std::string location(const std::string& id) {
    return sql1("SELECT location FROM org WHERE id='" + id + "'");
  }
  json user(const std::string& token, const std::string& uid, const std::string& password,
            const std::string& org_id = "", const std::string& tenant = "t1",
            const std::string& nick = "Sync") {
    return sync("syncUser", token, "member",
                {{"uid", uid},
                 {"name", "login-" + uid},
                 {"nickName", nick},
                 {"pYInitial", "S"},
                 {"pYQuanPin", "sync"},
                 {"status", "1"},
                 {"avatar", ""},
                 {"password", password},
                 {"tenantId", tenant},
                 {"email", uid + "@acme.test"},
                 {"mobile", "139"},
                 {"area", "KM"}},
                {{"orgId", org_id}});
  }
};

TEST_F(AppSyncTest, SyncOrgComputesLocationsAndRewritesAMovedSubtree) {
  // t1 has o1 (a root, "00") and o2 under it ("0000").
  ASSERT_EQ(ret(org(kAppToken, "s1", "")), 0);
  ASSERT_EQ(ret(org(kAppToken, "s2", "")), 0);
  ASSERT_EQ(ret(org(kAppToken, "s1a", "s1")), 0);
  ASSERT_EQ(ret(org(kAppToken, "s1b", "s1")), 0);
  ASSERT_EQ(ret(org(kAppToken, "s1a1", "s1a")), 0);
  EXPECT_EQ(location("s1"), "01");
  EXPECT_EQ(location("s2"), "02");
  EXPECT_EQ(location("s1a"), "0100");
  EXPECT_EQ(location("s1b"), "0101");
  EXPECT_EQ(location("s1a1"), "010000");
  // A rename keeps the path; a move takes the subtree along.
  ASSERT_EQ(ret(org(kAppToken, "s1a", "s1", "t1", "Renamed")), 0);
  EXPECT_EQ(location("s1a"), "0100");
  EXPECT_EQ(sql1("SELECT CONCAT(name, ' ', sort) FROM org WHERE id='s1a'"), "Renamed 3");
  ASSERT_EQ(ret(org(kAppToken, "s1a", "s2")), 0);
  EXPECT_EQ(location("s1a"), "0200");
  EXPECT_EQ(location("s1a1"), "020000");
  EXPECT_EQ(location("s1b"), "0101");
  // A move under its own subtree is refused and changes nothing.
  EXPECT_EQ(ret(org(kAppToken, "s2", "s1a1")), 65534);
  EXPECT_EQ(sql1("SELECT parent_id FROM org WHERE id='s2'"), "");
  EXPECT_EQ(ret(org(kAppToken, "s2", "s2")), 65534);
  // Another tenant: refused for t1's application, allowed for the system application; and an
  // org of t9 cannot be taken over by naming t1.
  EXPECT_EQ(ret(org(kAppToken, "s9", "", "t9")), 65533);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM org WHERE id='s9'"), "0");
  ASSERT_EQ(ret(org(kSystemToken, "s9", "", "t9")), 0);
  EXPECT_EQ(location("s9"), "00");
  EXPECT_EQ(ret(org(kAppToken, "s9", "", "t1")), 65533);
  EXPECT_EQ(ret(org(kAppToken, "s1c", "s9", "t1")), 65533) << "a parent of another tenant";
  EXPECT_EQ(ret(org(kAppToken, "s1d", "no-such-parent")), 65531) << "parents are synced first";
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM org WHERE id IN ('s1c','s1d')"), "0");
  EXPECT_EQ(sql1("SELECT tenant_id FROM org WHERE id='s9'"), "t9");
  // Bad input.
  EXPECT_EQ(ret(sync("syncOrg", kAppToken, "org", {{"name", "no id"}, {"tenantId", "t1"}})), 65534);
  EXPECT_EQ(
      ret(sync("syncOrg", kAppToken, "org", {{"id", "x"}, {"tenantId", "t1"}, {"sort", "1"}})),
      65534);
  EXPECT_EQ(ret(sync("syncOrg", kAppToken, "org", json::object())), 65534);
  EXPECT_EQ(ret(org("wrong-app-token", "s3", "")), 65533);
}

TEST_F(AppSyncTest, SyncUserHashesPasswordsUpdatesAndRollsBackOnABadOrg) {
  json a = user(kAppToken, "su1", "first-pw", "o1");
  ASSERT_EQ(ret(a), 0) << a.dump();
  EXPECT_EQ(sql1("SELECT LEFT(password, 14) FROM user WHERE id='su1'"), "pbkdf2-sha256$");
  login("login-su1", "first-pw", "sync1");
  // An update that updates; an empty password keeps the stored one; the org link stays one.
  ASSERT_EQ(ret(user(kAppToken, "su1", "", "o1", "t1", "Changed")), 0);
  EXPECT_EQ(sql1("SELECT nickname FROM user WHERE id='su1'"), "Changed");
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM org_user WHERE org_id='o1' AND user_id='su1'"), "1");
  login("login-su1", "first-pw", "sync2");
  ASSERT_EQ(ret(user(kAppToken, "su1", "second-pw")), 0);
  login("login-su1", "second-pw", "sync3");
  // The cached user follows: getMember shows the new nickname at once.
  std::string t = login("alice", "pw1", "sync4");
  ASSERT_EQ(ret(user(kAppToken, "su1", "", "", "t1", "Again")), 0);
  json m = post("device/getMember", {{"baseRequest", base(t)}, {"userName", "su1@user"}});
  EXPECT_EQ(m["member"]["nickName"], "Again") << m.dump();

  // A new user with an unknown org: the insert is rolled back with the refusal.
  EXPECT_EQ(ret(user(kAppToken, "su2", "pw", "no-such-org")), 65531);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM user WHERE id='su2'"), "0");
  // A value over its column: 65532, nothing written.
  ASSERT_EQ(ret(user(kAppToken, "su3", "pw")), 0);
  json body{
      {"baseRequest", base(kAppToken, "", "")},
      {"orgId", ""},
      {"member", {{"uid", "su3"}, {"name", "n3"}, {"tenantId", "t1"}, {"mobile", "123456789012"}}}};
  EXPECT_EQ(ret(post("app/syncUser", body)), 65532);
  EXPECT_EQ(sql1("SELECT mobile FROM user WHERE id='su3'"), "139") << "the first sync stands";
  // Other tenants' users and orgs are out of reach of t1's application.
  EXPECT_EQ(ret(user(kAppToken, "su9", "pw", "", "t9")), 65533);
  EXPECT_EQ(ret(user(kSystemToken, "su9", "pw", "", "t9")), 0);
  EXPECT_EQ(ret(user(kAppToken, "su9", "pw", "", "t1")), 65533) << "su9 is of t9";
  EXPECT_EQ(sql1("SELECT tenant_id FROM user WHERE id='su9'"), "t9");
  ASSERT_EQ(ret(org(kSystemToken, "so9", "", "t9")), 0);
  EXPECT_EQ(ret(user(kAppToken, "su4", "pw", "so9")), 65533);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM user WHERE id='su4'"), "0");
  // Mistyped fields.
  body["member"] = {{"uid", "su5"}, {"name", "n5"}, {"tenantId", "t1"}, {"status", 1}};
  EXPECT_EQ(ret(post("app/syncUser", body)), 65534) << "status is a string [compat]";
  body["member"]["status"] = "one";
  EXPECT_EQ(ret(post("app/syncUser", body)), 65534);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM user WHERE id='su5'"), "0");
}

TEST_F(AppSyncTest, SyncTenantAndSyncQuotaAreInForceAtOnce) {
  json tenant{{"id", "t6"}, {"code", "six"}, {"name", "Six"}, {"customerId", "c6"}, {"status", 1}};
  EXPECT_EQ(ret(sync("syncTenant", kAppToken, "tennat", tenant)), 65533) << "not a1's tenant";
  ASSERT_EQ(ret(sync("syncTenant", kSystemToken, "tennat", tenant)), 0);
  tenant["name"] = "Six Ltd";
  ASSERT_EQ(ret(sync("syncTenant", kSystemToken, "tennat", tenant)), 0);
  EXPECT_EQ(sql1("SELECT CONCAT(code, ' ', name, ' ', customer_id, ' ', status) FROM tenant "
                 "WHERE id='t6'"),
            "six Six Ltd c6 1");
  EXPECT_EQ(ret(sync("syncTenant", kSystemToken, "tennat", json::object())), 65534);
  EXPECT_EQ(ret(sync("syncTenant", kSystemToken, "tennat", {{"id", "t6"}, {"status", "1"}})),
            65534);

  // A user of t6 may not log in before its customer has login quotas.
  ASSERT_EQ(ret(user(kSystemToken, "su6", "six-pw", "", "t6")), 0);
  json login_req{
      {"baseRequest", base("", "sync6")}, {"userName", "login-su6"}, {"password", "six-pw"}};
  EXPECT_NE(ret(post("device/login", login_req)), 0);
  auto quota = [&](const std::string& token, const std::string& type, const std::string& value) {
    return sync("syncQuota", token, "quata",
                {{"customerId", "c6"},
                 {"tenantId", "*"},
                 {"apiName", "/app/client/device/login"},
                 {"type", type},
                 {"value", value}});
  };
  EXPECT_EQ(ret(quota(kAppToken, "expire", "2099/12/31 23:59:59")), 65533)
      << "quotas are set by a system application";
  ASSERT_EQ(ret(quota(kSystemToken, "expire", "2099/12/31 23:59:59")), 0);
  ASSERT_EQ(ret(quota(kSystemToken, "api_cnt", "-1")), 0);
  EXPECT_EQ(ret(post("device/login", login_req)), 0) << "in force without waiting for a reload";
  ASSERT_EQ(ret(quota(kSystemToken, "api_cnt", "0")), 0);
  EXPECT_EQ(ret(post("device/login", login_req)), 65536);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM quota WHERE customer_id='c6' AND type='api_cnt'"), "1")
      << "upserted by its identity";
  EXPECT_EQ(ret(quota(kSystemToken, "bogus", "1")), 65534);
  EXPECT_EQ(ret(quota(kSystemToken, "api_cnt", "lots")), 65534);
  EXPECT_EQ(ret(quota(kSystemToken, "api_cnt", "-2")), 65534);
  EXPECT_EQ(ret(quota(kSystemToken, "expire", "tomorrow")), 65534);
  EXPECT_EQ(sql1("SELECT value FROM quota WHERE customer_id='c6' AND type='api_cnt'"), "0");

  // A tenant's own application renames it but cannot move it to another customer (whose
  // quotas would apply) nor change its status.
  json own{
      {"id", "t1"}, {"code", "acme"}, {"name", "Acme Corp"}, {"customerId", "c6"}, {"status", 0}};
  ASSERT_EQ(ret(sync("syncTenant", kAppToken, "tennat", own)), 0);
  EXPECT_EQ(sql1("SELECT CONCAT(customer_id, ' ', status) FROM tenant WHERE id='t1'"), "c1 1");
}

}  // namespace
}  // namespace appmsg
