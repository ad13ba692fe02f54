// Unit tests of the /app API's pure parts: password hashes, session keys, the session selector
// and names, and the configuration read from an original web.conf + db.conf pair.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "common/session_keys.hpp"
#include "web/app/app_config.hpp"
#include "web/app/org_location.hpp"
#include "web/app/password.hpp"
#include "web/app/push_pipeline.hpp"
#include "web/app/qr_page.hpp"
#include "web/app/qun_notices.hpp"
#include "web/app/static_files.hpp"
#include "web/app/tokens.hpp"

namespace appmsg::web::app {
namespace {

using nlohmann::json;

TEST(Password, HashesAreSaltedAndVerify) {
  auto a = hash_password("s3cret", 10000), b = hash_password("s3cret", 10000);
  EXPECT_NE(a, b);  // a salt per hash
  EXPECT_EQ(a.rfind("pbkdf2-sha256$10000$", 0), 0u) << a;
  EXPECT_EQ(a.find("s3cret"), std::string::npos);
  EXPECT_TRUE(verify_password("s3cret", a));
  EXPECT_FALSE(verify_password("s3cret!", a));
  EXPECT_FALSE(verify_password("", a));
  EXPECT_FALSE(needs_rehash(a, 10000));
  EXPECT_TRUE(needs_rehash(a, 20000));
}

TEST(Password, OriginalPlaintextVerifiesAndAsksForAHash) {
  EXPECT_TRUE(verify_password("pw1", "pw1"));
  EXPECT_FALSE(verify_password("pw", "pw1"));
  EXPECT_FALSE(verify_password("", ""));  // an empty stored password matches nothing
  EXPECT_TRUE(needs_rehash("pw1", 10000));
  // Malformed hashes never verify.
  for (auto* bad : {"pbkdf2-sha256$", "pbkdf2-sha256$x$00$00", "pbkdf2-sha256$10$zz$00",
                    "pbkdf2-sha256$10$00$"}) {
    EXPECT_FALSE(verify_password("", bad)) << bad;
    EXPECT_FALSE(verify_password("x", bad)) << bad;
  }
}

TEST(SessionKeys, ParsesSessionKeysOnly) {
  auto s = sessions::parse_session_key("42_iOS-b3afa1@user");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->uid, "42");
  EXPECT_EQ(s->session_id, "42_iOS-b3afa1");
  EXPECT_EQ(s->type, "iOS");
  auto web = sessions::parse_session_key("7_chrome-120-rnd@user");
  ASSERT_TRUE(web);
  EXPECT_EQ(web->type, "chrome");
  EXPECT_EQ(sessions::parse_session_key("42_iOS@user")->type, "iOS");  // no '-': no crash
  for (auto* no :
       {"42@user", "_x@user", "42_@user", "42_iOS-1@app", "42_iOS-1", "a@b_c@user", "@user", ""}) {
    EXPECT_FALSE(sessions::parse_session_key(no)) << no;
  }
}

TEST(Tokens, UidIsTheTextBeforeTheFirstUnderscore) {
  EXPECT_EQ(uid_of_token("42_abc_def"), "42");
  EXPECT_EQ(uid_of_token("abc"), "");
  EXPECT_EQ(uid_of_token("_abc"), "");
}

TEST(SessionSelector, ParsesTheForms) {
  auto all = SessionSelector::parse(json::object());
  ASSERT_TRUE(all);
  EXPECT_EQ(all->kind, SessionSelector::Kind::all);
  EXPECT_EQ(SessionSelector::parse(json{{"sessions", {"all"}}})->kind, SessionSelector::Kind::all);
  EXPECT_EQ(SessionSelector::parse(json{{"sessions", {"active"}}})->kind,
            SessionSelector::Kind::active);
  EXPECT_EQ(SessionSelector::parse(json{{"sessions", {"inactive"}}})->kind,
            SessionSelector::Kind::inactive);
  auto ids = SessionSelector::parse(json{{"sessions", {"a", "b"}}});
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->kind, SessionSelector::Kind::ids);
  EXPECT_EQ(ids->ids, (std::set<std::string>{"a", "b"}));
  EXPECT_FALSE(SessionSelector::parse(json{{"sessions", "all"}}));
  EXPECT_FALSE(SessionSelector::parse(json{{"sessions", {1}}}));
  auto listed = SessionSelector::from_list("x,,y");
  EXPECT_EQ(listed.ids, (std::set<std::string>{"x", "y"}));
  EXPECT_EQ(SessionSelector::from_list("").kind, SessionSelector::Kind::all);
}

TEST(Names, SplitAtTheLastAt) {
  EXPECT_EQ(split_name("42@user"), (std::pair<std::string, std::string>{"42", "user"}));
  EXPECT_EQ(split_name("a@b@qun"), (std::pair<std::string, std::string>{"a@b", "qun"}));
  EXPECT_EQ(split_name("plain"), (std::pair<std::string, std::string>{"plain", ""}));
}

// The shipped web.conf and db.conf of the original (their /app keys).
constexpr const char* kOriginalWeb =
    "[base]\nhttp.bind 192.168.1.122:8090\nadmin.bind 192.168.1.122:8091\n"
    "app.bind 192.168.1.122:8093\n[redis]\ntimeout 28800s\nidle 100\nactive 300\nstore 20\n"
    "ketama.base 255\n[redis.source]\nnode1:1 192.168.1.122:6379\n[token]\nexpire 3600\n"
    "[msg]\nexpire 604800\n[apns]\ntype develop\n[weedfs]\naddress 115.29.107.77:5083\n";
constexpr const char* kOriginalDb =
    "[base]\napp.dbURL root:123456@tcp(10.180.120.63:3308)/appmsgsrv?parseTime=true\n"
    "app.dbMaxIdleConns 10\napp.dbMaxOpenConns 100\n";

TEST(AppConfig, ReadsTheOriginalFiles) {
  auto c = AppConfig::load(Config::parse(kOriginalWeb), Config::parse(kOriginalDb));
  ASSERT_TRUE(c.enabled());
  EXPECT_EQ(c.bind, std::vector<std::string>{"192.168.1.122:8093"});
  EXPECT_EQ(c.token_expire.count(), 3600);
  EXPECT_EQ(c.msg_expire, 604800);
  ASSERT_EQ(c.redis_sources.size(), 1u);
  EXPECT_EQ(c.redis_sources[0].address, "192.168.1.122:6379");
  EXPECT_EQ(c.db.host, "10.180.120.63");
  EXPECT_EQ(c.db.port, 3308);
  EXPECT_EQ(c.db.database, "appmsgsrv");
  EXPECT_EQ(c.db.connections, 16);  // dbMaxOpenConns 100, capped
  EXPECT_EQ(c.weedfs, "115.29.107.77:5083");
  EXPECT_EQ(c.apns_type, "develop");
}

TEST(AppConfig, DefaultsAndRefusals) {
  auto off = AppConfig::load(Config::parse(""), Config::parse(""));
  EXPECT_FALSE(off.enabled());
  EXPECT_EQ(off.token_expire.count(), 3600);  // not the original's 0
  // app.bind without a database or without Redis cannot start.
  EXPECT_THROW(AppConfig::load(Config::parse("[base]\napp.bind :8093\n[redis.source]\nn:1 a:1\n"),
                               Config::parse("")),
               ConfigError);
  EXPECT_THROW(
      AppConfig::load(Config::parse("[base]\napp.bind :8093\n"), Config::parse(kOriginalDb)),
      ConfigError);
  EXPECT_THROW(AppConfig::load(Config::parse("[token]\nexpire 0\n"), Config::parse("")),
               ConfigError);
  EXPECT_THROW(
      AppConfig::load(Config::parse(kOriginalWeb), Config::parse("[base]\napp.dbURL nonsense(\n")),
      ConfigError);
}

}  // namespace

TEST(OrgLocation, ChildrenCountInBase36PastTheGreatestSibling) {
  EXPECT_EQ(next_location("", {}), "00");
  EXPECT_EQ(next_location("0a", {}), "0a00");
  EXPECT_EQ(next_location("", {"00", "03", "01"}), "04");
  EXPECT_EQ(next_location("", {"09"}), "0a");
  EXPECT_EQ(next_location("", {"0z"}), "10");
  EXPECT_EQ(next_location("00", {"0009", "00z0"}), "00z1");
}

TEST(OrgLocation, PastZzTakesAFreeCodeAndMalformedSiblingsAreIgnored) {
  EXPECT_EQ(next_location("", {"zz", "00"}), "01");
  EXPECT_EQ(next_location("", {"zz", "00", "01", "03"}), "02");
  std::vector<std::string> all;
  for (int i = 0; i < 36 * 36; ++i) {
    const char* a = "0123456789abcdefghijklmnopqrstuvwxyz";
    all.push_back(std::string{a[i / 36], a[i % 36]});
  }
  EXPECT_EQ(next_location("", all), std::nullopt);
  // Shorter than two characters, of another parent, or off the alphabet: not siblings' codes.
  EXPECT_EQ(next_location("", {"0", "", "A1", "0_", "0000"}), "00");
  EXPECT_EQ(next_location("01", {"0205", "0103"}), "0104");
  EXPECT_EQ(code_under("01", "0103"), "03");
  EXPECT_EQ(code_under("01", "01"), std::nullopt);
}

TEST(QunNotices, TheOriginalTemplates) {
  using namespace notice_text;
  EXPECT_EQ(created("T"), "您创建了群\"T\"");
  EXPECT_EQ(renamed_by_you("N"), "您修改了群名为\"N\"");
  EXPECT_EQ(renamed("Bob", "N"), "Bob修改了群名为\"N\"");
  EXPECT_EQ(you_invited({"A", "B"}), "您邀请A、B等2人加入了群聊");
  EXPECT_EQ(invited_you("Bob"), "您被Bob邀请加入群聊");
  EXPECT_EQ(invited("Bob", {"A"}), "Bob邀请A等1人加入了群聊");
  EXPECT_EQ(left("Bob"), "Bob退出了群聊");
  EXPECT_EQ(you_left(), "您退出了群聊");
  EXPECT_EQ(you_removed({"A", "B"}), "您将A、B移出了群聊");
  EXPECT_EQ(removed("Bob", {"A"}), "Bob将A移除了群聊");
  EXPECT_EQ(removed_you("Bob"), "您被Bob移出了群聊");
}

TEST(QrPage, TemplatesEscapeEveryValueAndRefuseUnknownPlaceholders) {
  EXPECT_EQ(html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(render_template("<h1>{{a}}</h1><p>{{b}}{{a}}</p>", {{"a", "<b>"}, {"b", ""}}),
            "<h1>&lt;b&gt;</h1><p>&lt;b&gt;</p>");
  EXPECT_THROW(render_template("{{nope}}", {{"a", "1"}}), std::runtime_error);
  EXPECT_THROW(render_template("x {{a", {{"a", "1"}}), std::runtime_error);
  EXPECT_EQ(render_template("no placeholders", {}), "no placeholders");
}

TEST(QrPage, QrCodesAreSvgOfTheRightSize) {
  // 56 bytes at level M: version 4, 33 modules, plus a quiet zone of 4 on each side.
  std::string svg = qr_svg("http://127.0.0.1:8093/app/user/erweima?id=1001&x=01234567");
  EXPECT_NE(svg.find("viewBox=\"0 0 41 41\""), std::string::npos) << svg.substr(0, 200);
  EXPECT_NE(svg.find("M4,4h1v1h-1z"), std::string::npos) << "the finder pattern's corner";
  EXPECT_EQ(svg.find("M0,0"), std::string::npos) << "the quiet zone is white";
  EXPECT_THROW(qr_svg(std::string(4000, 'x')), std::runtime_error);
}

TEST(StaticFiles, OnlyRegularFilesInsideTheFolderAreServed) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("static-test-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "css");
  fs::create_directories(root / "empty");
  std::ofstream(root / "css" / "user.css") << "body{}";
  std::ofstream(root / "a.png") << "PNG";
  std::ofstream(root / "empty.txt");
  std::ofstream(root / ".env") << "SECRET=1";
  fs::create_directories(root / ".git");
  std::ofstream(root / ".git" / "config") << "x";
  std::ofstream(root.string() + "-secret.txt") << "outside";
  fs::create_symlink(root.string() + "-secret.txt", root / "link.txt");
  auto files = load_static_files(root.string());
  fs::remove_all(root);
  fs::remove(root.string() + "-secret.txt");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files.at("empty.txt").body, "");
  EXPECT_EQ(files.at("css/user.css").body, "body{}");
  EXPECT_EQ(files.at("css/user.css").content_type, "text/css;charset=utf-8");
  EXPECT_EQ(files.at("a.png").content_type, "image/png");
  EXPECT_FALSE(files.count("link.txt")) << "a symbolic link out of the folder";
  EXPECT_TRUE(load_static_files("/no/such/folder").empty());
}
}  // namespace appmsg::web::app
