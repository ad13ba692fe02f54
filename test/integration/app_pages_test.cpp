// The QR page (/app/user/erweima and its QR image) and the static files (/app/static/) of a
// real cluster in app mode (app_fixture.hpp): over plain HTTP (codes, escaping, what the
// static listener refuses), and in headless Chromium (test/browser/erweima.mjs), which saves a
// screenshot in the build folder's artifacts/.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "app_fixture.hpp"

namespace appmsg {
namespace {

using namespace test_app;

// A nickname that would run a script and open a dialog if it were not escaped (45 characters
// at most: user.nickname).
constexpr const char* kHostile = "<script>alert(1)</script>&\"'";
constexpr const char* kHostileEscaped = "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;";

// `text` with each ' replaced by `quote` (SQL: '', shell: '\'').
std::string quoted(const std::string& text, const std::string& quote) {
  std::string out;
  for (char c : text) out += c == '\'' ? quote : std::string(1, c);
  return out;
}

class AppPagesTest : public AppApiTest {
 protected:
  void SetUp() override {
    AppApiTest::SetUp();
    cluster().sql(
        "INSERT IGNORE INTO user (id,name,nickname,password,tenant_id,email,mobile,created,"
        "updated) VALUES ('xss1','xss','" +
        quoted(kHostile, "''") + "','pw','t1','x@acme.test','13900000009',NOW(),NOW());");
  }
};

TEST_F(AppPagesTest, TheQrPageEscapesValuesHidesContactsAndAnswers404ForUnknownIds) {
  auto page = cluster().app_get("/app/user/erweima?id=xss1");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.content_type, "text/html;charset=utf-8");
  EXPECT_NE(page.body.find("<title>用户信息</title>"), std::string::npos);
  EXPECT_NE(page.body.find(std::string("<h1 class=\"nickname\">") + kHostileEscaped + "</h1>"),
            std::string::npos)
      << page.body;
  EXPECT_EQ(page.body.find("<script>"), std::string::npos) << "nothing of the value is markup";
  EXPECT_EQ(page.body.find("13900000009"), std::string::npos) << "[app] qr.contact is off";
  EXPECT_EQ(page.body.find("x@acme.test"), std::string::npos);
  EXPECT_NE(page.body.find("src=\"/app/user/erweima/qr.svg?id=xss1\""), std::string::npos);

  auto unknown = cluster().app_get("/app/user/erweima?id=nobody");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "Not Found");
  EXPECT_EQ(cluster().app_get("/app/user/erweima").status, 404);

  auto qr = cluster().app_get("/app/user/erweima/qr.svg?id=xss1");
  ASSERT_EQ(qr.status, 200);
  EXPECT_EQ(qr.content_type, "image/svg+xml");
  EXPECT_NE(qr.body.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(cluster().app_get("/app/user/erweima/qr.svg?id=nobody").status, 404);
}

TEST_F(AppPagesTest, StaticFilesAreServedByExactPathWithoutListingsOrEscapes) {
  auto css = cluster().app_get("/app/static/css/user.css");
  ASSERT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css;charset=utf-8");
  EXPECT_NE(css.body.find(".nickname"), std::string::npos);
  for (auto* image : {"/app/static/images/head-photo-big.png", "/app/static/images/line-big.png"}) {
    auto png = cluster().app_get(image);
    ASSERT_EQ(png.status, 200) << image;
    EXPECT_EQ(png.content_type, "image/png");
    EXPECT_EQ(png.body.substr(0, 4), "\x89PNG") << image;
  }
  for (auto* refused : {"/app/static/", "/app/static/css", "/app/static/css/",
                        "/app/static/../view/erweima.html", "/app/static/%2e%2e/view/erweima.html",
                        "/app/static/css/../../view/erweima.html", "/app/static/nope.css"}) {
    auto r = cluster().app_get(refused);
    EXPECT_EQ(r.status, 404) << refused;
    EXPECT_EQ(r.body.find("{{nickname}}"), std::string::npos) << refused;
  }
}

TEST_F(AppPagesTest, TheQrPageRendersInChromiumWithTheHostileNicknameAsText) {
  const std::string browser_dir = APPMSG_SOURCE_DIR "/test/browser";
  ASSERT_TRUE(std::filesystem::exists(browser_dir + "/node_modules/playwright-core"))
      << "run scripts/test (it installs playwright-core) or npm ci in " << browser_dir;
  std::filesystem::create_directories(APPMSG_ARTIFACTS_DIR);
  const std::string shot = APPMSG_ARTIFACTS_DIR "/erweima.png";
  std::filesystem::remove(shot);
  const std::string url = "http://" + cluster().web_app() + "/app/user/erweima?id=xss1";
  auto [status, out] = run("timeout 90 node " + browser_dir + "/erweima.mjs '" + url + "' '" +
                           quoted(kHostile, "'\\''") + "' " + shot);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\"qr\":true"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(shot)) << "no screenshot at " << shot;
}

}  // namespace
}  // namespace appmsg
