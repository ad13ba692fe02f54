// The browser side of a real cluster in app mode (app_fixture.hpp) with `[cors] origins *` and
// an admin secret: CORS answers of the public and /app listeners, the admin overview behind
// the secret, device/getQunList, the pages' routes, and the demo page with the SDK in
// headless Chromium (test/browser/demo.mjs: two users, a group, a comet killed under a page,
// a page closed and reopened, the original SDK's requests), which saves screenshots in the
// build folder's artifacts/.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "app_fixture.hpp"

namespace appmsg {
namespace {

using namespace test_app;

constexpr const char* kSecret = "browser-secret";

class AppBrowserTest : public AppApiTest {
 protected:
  static void SetUpTestSuite() {
    web_extra_ = "\n[cors]\norigins *\n";
    admin_secret_ = kSecret;
    AppApiTest::SetUpTestSuite();
  }
  void SetUp() override {
    AppApiTest::SetUp();
    cluster().sql(
        "INSERT IGNORE INTO user_user (id,from_user_id,to_user_id,remark_name,sort,created,updated)"
        " VALUES ('uu-browser','u1','u2','',0,NOW(),NOW());");
  }
};

TEST_F(AppBrowserTest, PublicAndAppListenersAnswerCorsAndPreflights) {
  const std::vector<std::pair<std::string, std::string>> origin{{"Origin", "http://pages.test"}};
  auto get = test::http_request(cluster().web_http(), "GET", "/1/server/get?k=u1%40user&p=1", "",
                                "", 5s, origin);
  ASSERT_EQ(get.status, 200) << get.error;
  EXPECT_EQ(get.header("access-control-allow-origin"), "http://pages.test");
  EXPECT_EQ(get.header("vary"), "Origin");

  auto pre = test::http_request(cluster().web_app(), "OPTIONS", "/app/client/device/getQunList", "",
                                "", 5s,
                                {{"Origin", "http://pages.test"},
                                 {"Access-Control-Request-Method", "POST"},
                                 {"Access-Control-Request-Headers", "content-type"}});
  ASSERT_EQ(pre.status, 204) << pre.body;
  EXPECT_EQ(pre.header("access-control-allow-origin"), "http://pages.test");
  EXPECT_EQ(pre.header("access-control-allow-methods"), "GET, POST, OPTIONS");
  EXPECT_EQ(pre.header("access-control-allow-headers"), "content-type");

  // No Origin: no CORS headers; an OPTIONS that is no preflight is routed (405).
  auto plain = test::http_request(cluster().web_http(), "GET", "/1/server/get?k=u1%40user&p=1");
  EXPECT_EQ(plain.header("access-control-allow-origin"), "");
  auto options = test::http_request(cluster().web_app(), "OPTIONS", "/app/client/device/push");
  EXPECT_EQ(options.status, 405);
  // The admin listener is for its own pages only.
  auto admin = test::http_request(cluster().web_admin(), "GET", "/admin/cluster", "", "", 5s,
                                  {{"Origin", "http://pages.test"}, {"X-Appmsg-Secret", kSecret}});
  EXPECT_EQ(admin.status, 200);
  EXPECT_EQ(admin.header("access-control-allow-origin"), "");
}

TEST_F(AppBrowserTest, TheAdminOverviewNeedsTheSecretAndAsksEveryNode) {
  auto refused = test::http_request(cluster().web_admin(), "GET", "/admin/cluster");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.json().value("ret", -1), 65533);

  auto sub = std::make_unique<Subscriber>(
      Proto::websocket, cluster().server_for("u3@user", Proto::websocket), "u3@user");
  auto r = cluster().admin_get("/admin/cluster");
  ASSERT_EQ(r.status, 200) << r.body;
  json d = r.json()["data"];
  ASSERT_TRUE(d.is_object()) << r.body;
  ASSERT_EQ(d["comets"].size(), 2u) << r.body;
  int64_t websockets = 0;
  for (auto& [name, s] : d["comets"].items()) {
    ASSERT_FALSE(s.contains("error")) << name << ": " << s;
    websockets += s["connections"]["websocket"].get<int64_t>();
    EXPECT_TRUE(s["store"].contains("latency_us_sum"));
  }
  EXPECT_GE(websockets, 1) << "the subscriber is counted";
  ASSERT_EQ(d["message_nodes"].size(), 2u) << r.body;
  for (auto& [address, s] : d["message_nodes"].items()) {
    EXPECT_EQ(s.value("backend", ""), "redis") << address << ": " << s;
  }
  EXPECT_EQ(d["web"]["ring"].size(), 2u);

  auto pages = cluster().admin_get("/admin");
  EXPECT_EQ(pages.status, 200);
  EXPECT_NE(pages.body.find("<title>appmsgsrv cluster</title>"), std::string::npos);
}

TEST_F(AppBrowserTest, GetQunListListsTheCallersGroupsOnly) {
  std::string token = login("alice", "pw1");
  auto a = post("device/getQunList", json{{"baseRequest", base(token)}});
  ASSERT_EQ(ret(a), 0) << a;
  ASSERT_EQ(a["qunCount"], 1) << a;
  EXPECT_EQ(a["qunList"][0]["userName"], std::string(kQun) + "@qun");
  EXPECT_EQ(a["qunList"][0]["nickName"], "Team");
  EXPECT_EQ(a["qunList"][0]["memberCount"], 3);
  std::string dave = login("dave", "pw4");
  auto d = post("device/getQunList", json{{"baseRequest", base(dave)}});
  EXPECT_EQ(ret(d), 0);
  EXPECT_EQ(d["qunCount"], 0) << d;
  EXPECT_EQ(ret(post("device/getQunList", json{{"baseRequest", base("u1_bogus")}})), 65533);
}

TEST_F(AppBrowserTest, TheDemoPageAndTheSdkAreServed) {
  for (auto* path : {"/", "/demo"}) {
    auto page = cluster().app_get(path);
    ASSERT_EQ(page.status, 200) << path;
    EXPECT_EQ(page.content_type, "text/html;charset=utf-8");
    std::string port = cluster().web_http().substr(cluster().web_http().rfind(':') + 1);
    EXPECT_NE(page.body.find("content=\"" + port + "\""), std::string::npos) << page.body;
  }
  for (auto* file : {"/app/static/appmsg.js", "/app/static/appmsg.mjs", "/app/static/demo.js"}) {
    auto js = cluster().app_get(file);
    ASSERT_EQ(js.status, 200) << file;
    EXPECT_EQ(js.content_type, "text/javascript;charset=utf-8") << file;
  }
}

// Last in this file: it kills a comet (the one serving the second page).
TEST_F(AppBrowserTest, TwoUsersChatInChromiumThroughACometFailureAndAClosedPage) {
  const std::string browser_dir = APPMSG_SOURCE_DIR "/test/browser";
  ASSERT_TRUE(std::filesystem::exists(browser_dir + "/node_modules/playwright-core"))
      << "run scripts/test (it installs playwright-core) or npm ci in " << browser_dir;
  std::filesystem::create_directories(APPMSG_ARTIFACTS_DIR);
  json comets = json::object();
  for (int n = 1; n <= TestCluster::kComets; ++n) {
    comets[cluster().comet_ws(n)] = cluster().comet_pid(n);
  }
  json cfg{{"app", "http://" + cluster().web_app()},
           {"admin", "http://" + cluster().web_admin()},
           {"public", "http://" + cluster().web_http()},
           {"secret", kSecret},
           {"comets", comets},
           {"qun", std::string(kQun) + "@qun"},
           {"a", {{"uid", "u1"}, {"password", "pw1"}}},
           {"b", {{"uid", "u2"}, {"password", "pw2"}}},
           {"shots", APPMSG_ARTIFACTS_DIR}};
  auto [status, out] = run("timeout 150 node " + browser_dir + "/demo.mjs '" + cfg.dump() + "'");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\"failover\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"originalSdk\""), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(APPMSG_ARTIFACTS_DIR "/demo.png"));
  EXPECT_TRUE(std::filesystem::exists(APPMSG_ARTIFACTS_DIR "/admin.png"));
  std::cout << out;
}

}  // namespace
}  // namespace appmsg
