// The /app API of web (part 1: login, tokens, sessions, pushes to names, quotas; part 2's
// directory, org, application and client-version routes) against a real cluster in app mode
// (app_fixture.hpp).
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "app_fixture.hpp"
#include "web/app/password.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;
using namespace test_app;
using nlohmann::json;
using test::eventually;
using test::Proto;
using test::Subscriber;
using test::TestCluster;

// ---------------------------------------------------------------------------------------------
// Login and tokens

TEST_F(AppApiTest, LoginChecksThePasswordAndAnswersTheMemberWithoutIt) {
  json a =
      post("device/login", {{"baseRequest", base("")}, {"userName", "alice"}, {"password", "pw1"}});
  ASSERT_EQ(ret(a), 0) << a.dump();
  EXPECT_EQ(a["uid"], "u1");
  std::string token = a["token"];
  EXPECT_TRUE(std::regex_match(token, std::regex("u1_[0-9a-f]{32}"))) << token;
  json expected_member = {{"uid", "u1"},
                          {"userName", "u1@user"},
                          {"name", "alice"},
                          {"nickName", "Alice"},
                          {"headImgUrl", ""},
                          {"memberCount", 0},
                          {"memberList", nullptr},
                          {"pYInitial", "A"},
                          {"pYQuanPin", "alice"},
                          {"status", "1"},
                          {"starFriend", 0},
                          {"avatar", ""},
                          {"sort", 0},
                          {"password", ""},
                          {"tenantId", "t1"},
                          {"email", "alice@acme.test"},
                          {"mobile", "13800000001"},
                          {"tel", ""},
                          {"area", "KM"},
                          {"description", ""},
                          {"orgName", ""}};
  EXPECT_EQ(a["member"], expected_member);
  EXPECT_EQ(a["baseResponse"], (json{{"ret", 0}, {"errMsg", ""}}));
  // By email too; a wrong password and an unknown user are refused.
  EXPECT_EQ(
      ret(post("device/login",
               {{"baseRequest", base("")}, {"userName", "alice@acme.test"}, {"password", "pw1"}})),
      0);
  json wrong = post("device/login",
                    {{"baseRequest", base("")}, {"userName", "alice"}, {"password", "nope"}});
  EXPECT_EQ(wrong, (json{{"baseResponse", {{"ret", 65539}, {"errMsg", "auth failed"}}}}));
  json unknown =
      post("device/login", {{"baseRequest", base("")}, {"userName", "zed"}, {"password", "x"}});
  EXPECT_EQ(unknown, (json{{"baseResponse", {{"ret", 65539}, {"errMsg", "Auth failure"}}}}));
  // The original's plaintext was replaced by a salted PBKDF2 hash at the first login, and the
  // hash still logs in.
  std::string stored = sql1("SELECT password FROM user WHERE id='u1'");
  EXPECT_TRUE(stored.rfind("pbkdf2-sha256$10000$", 0) == 0) << stored;
  EXPECT_TRUE(web::app::verify_password("pw1", stored));
  EXPECT_FALSE(login("alice", "pw1").empty());
  // The token is in Redis as the original keeps it, with the configured TTL ([token] expire
  // 3600 s, counting down since the login: a slow (sanitized) run reads it a second or more on).
  const long long ttl = redis_ttl(cluster().redis().port(), token);
  EXPECT_LE(ttl, 3600);
  EXPECT_GT(ttl, 3600 - 60);
  // The login log and the API-call counter (written in batches).
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM client WHERE user_id='u1' AND device_id='dev1' AND "
                 "type='iOS'"),
            "1");
  EXPECT_TRUE(eventually([&] {
    return sql1(
               "SELECT SUM(count) FROM api_call WHERE caller_id='u1' AND type='ios' AND "
               "api_name='/app/client/device/login' AND sharding=0") == "3";
  }));
}

TEST_F(AppApiTest, ValidateAndDeleteTokens) {
  std::string t = login("bob", "pw2");
  std::string other = login("carol", "pw3");
  auto validate = [&](const std::string& token) {
    return ret(post("device/validateToken", {{"baseRequest", base("")}, {"validToken", token}}));
  };
  EXPECT_EQ(validate(t), 0);
  EXPECT_EQ(validate("u2_00000000000000000000000000000000"), 1001);
  EXPECT_EQ(ret(post("device/validateToken", {{"baseRequest", base("")}})), 65534);
  // Only the caller's own tokens can be deleted.
  EXPECT_EQ(ret(post("device/delToken", {{"baseRequest", base(t)}, {"delToken", other}})), 65533);
  EXPECT_EQ(validate(other), 0);
  std::string second = login("bob", "pw2", "dev9");
  EXPECT_EQ(ret(post("device/delToken", {{"baseRequest", base(t)}, {"delToken", second}})), 0);
  EXPECT_EQ(validate(second), 1001);
  EXPECT_EQ(validate(t), 0);
  EXPECT_EQ(ret(post("device/delToken", {{"baseRequest", base(t)}})), 65534);
  // app/user/auth: an application checks a user's token against the user it expects.
  auto auth = [&](const std::string& app_token, const std::string& token, const std::string& uid) {
    return ret(post("app/user/auth",
                    {{"baseRequest", base(app_token, "", "")}, {"token", token}, {"uid", uid}}));
  };
  EXPECT_EQ(auth(kAppToken, t, "u2"), 0);
  EXPECT_EQ(auth(kAppToken, t, "u3"), 65533);
  EXPECT_EQ(auth("wrong", t, "u2"), 65533);
}

TEST_F(AppApiTest, AppwebLoginAnswersJsonpAndRefusesHostileCallbacks) {
  auto r = cluster().app_get(
      "/app/client/appweb/login?callbackparam=cb_1&baseRequest%5Buid%5D=u3&password=pw3");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/javascript");
  ASSERT_TRUE(r.body.rfind("cb_1(", 0) == 0) << r.body;
  json j = json::parse(r.body.substr(5, r.body.rfind(')') - 5));
  EXPECT_EQ(ret(j), 0);
  EXPECT_EQ(j["uid"], "u3");
  EXPECT_EQ(j["member"]["password"], "");
  auto wrong = cluster().app_get(
      "/app/client/appweb/login?callbackparam=cb&baseRequest%5Buid%5D=u3&password=no");
  EXPECT_NE(wrong.body.find("\"ret\":65534"), std::string::npos) << wrong.body;
  auto hostile = cluster().app_get(
      "/app/client/appweb/login?callbackparam=alert(1)//&baseRequest%5Buid%5D=u3&password=pw3");
  EXPECT_EQ(hostile.content_type, "application/json");
  EXPECT_EQ(ret(hostile.json()), 65534) << hostile.body;
  auto plain = cluster().app_get("/app/client/appweb/login?baseRequest%5Buid%5D=u3&password=pw3");
  EXPECT_EQ(ret(plain.json()), 0) << plain.body;
}

// ---------------------------------------------------------------------------------------------
// Pushes

TEST_F(AppApiTest, DevicePushReachesEveryTargetSessionTheOfflineKeyAndTheSendersOtherDevice) {
  std::string t1 = login("alice", "pw1");
  auto u2_phone = session("u2", "android-dev2", Proto::tcp);
  auto u2_web = session("u2", "web-9-r1", Proto::websocket);
  auto u1_sender = session("u1", "iOS-dev1");
  auto u1_other = session("u1", "web-1-r2", Proto::websocket);
  ASSERT_EQ(ret(post("device/setSessionState",
                     {{"baseRequest", base(login("bob", "pw2", "dev2"), "dev2", "android")},
                      {"state", "active"},
                      {"sessionId", "u2_android-dev2"}})),
            0);
  json msg{{"fromUserName", "u1@user"},
           {"toUserName", "u2@user"},
           {"msgType", 1},
           {"content", "hi"},
           {"clientMsgId", 1407734409242}};
  json a = post("device/push", {{"baseRequest", base(t1)}, {"sessions", {"all"}}, {"msg", msg}});
  ASSERT_EQ(ret(a), 0) << a.dump();
  EXPECT_EQ(a["msgID"], "msgid");
  EXPECT_EQ(a["clientMsgId"], 1407734409242);
  ASSERT_TRUE(a["mid"].is_number_integer());
  json expected = msg;
  expected["deviceID"] = "dev1";
  expected["fromDisplayName"] = "Alice";
  expected["activeSessions"] = {"u2_android-dev2"};
  auto copy = [&](const std::string& key, const std::string& to, json active) {
    json e = expected;
    e["toUserKey"] = key;
    e["toUserName"] = to;
    e["activeSessions"] = std::move(active);
    return e;
  };
  EXPECT_EQ(next_msg(*u2_phone, "u2 phone"),
            copy("u2_android-dev2@user", "u2@user", {"u2_android-dev2"}));
  EXPECT_EQ(next_msg(*u2_web, "u2 web"), copy("u2_web-9-r1@user", "u2@user", {"u2_android-dev2"}));
  EXPECT_EQ(next_msg(*u1_other, "u1 other device"),
            copy("u1_web-1-r2@user", "u2@user", json::array()));
  expect_nothing_before_marker(*u1_sender, "u1_iOS-dev1@user");
  // One offline copy per user, stored; its mid is the answer's.
  auto offline = stored("u2@user");
  ASSERT_FALSE(offline.empty());
  EXPECT_EQ(offline.back(), copy("u2@user", "u2@user", {"u2_android-dev2"}));
  auto r = cluster().get("/1/msg/get?k=u2%40user&m=0");
  EXPECT_EQ(r.json()["data"]["msgs"].back()["mid"], a["mid"]);
  EXPECT_EQ(stored("u1@user").back(), copy("u1@user", "u2@user", json::array()));
  // Session copies are delivered live, not stored (one offline copy per user).
  EXPECT_TRUE(stored("u2_android-dev2@user").empty());
}

TEST_F(AppApiTest, QunPushReachesEveryMemberWithThePrefixAndRefusesNonMembers) {
  std::string t1 = login("alice", "pw1");
  auto u2 = session("u2", "android-qun2");
  auto u3 = session("u3", "iOS-qun3", Proto::websocket);
  auto u1_sender = session("u1", "iOS-qdev");
  std::string q = std::string(kQun) + "@qun";
  json msg{{"fromUserName", "u1@user"},
           {"toUserName", q},
           {"msgType", 1},
           {"content", "hello all"},
           {"clientMsgId", 2}};
  json a = post("device/push", {{"baseRequest", base(t1, "qdev")}, {"msg", msg}});
  ASSERT_EQ(ret(a), 0) << a.dump();
  json to_u2 = next_msg(*u2, "u2");
  EXPECT_EQ(to_u2["content"], "u1@user|alice|Alice&&hello all");
  EXPECT_EQ(to_u2["fromUserName"], q);
  EXPECT_EQ(to_u2["fromDisplayName"], "Team");
  EXPECT_EQ(to_u2["toUserName"], "u2@user");
  EXPECT_EQ(to_u2["toDisplayName"], "Bob");
  EXPECT_EQ(to_u2["toUserKey"], "u2_android-qun2@user");
  EXPECT_EQ(to_u2["deviceID"], "qdev");
  json to_u3 = next_msg(*u3, "u3");
  EXPECT_EQ(to_u3["toDisplayName"], "Carol");
  EXPECT_EQ(to_u3["content"], "u1@user|alice|Alice&&hello all");
  expect_nothing_before_marker(*u1_sender, "u1_iOS-qdev@user");
  // The sender's offline copy is its own view: from itself, to the qun, the plain text.
  json mine = stored("u1@user").back();
  EXPECT_EQ(mine["fromUserName"], "u1@user");
  EXPECT_EQ(mine["toUserName"], q);
  EXPECT_EQ(mine["content"], "hello all");
  EXPECT_FALSE(mine.contains("toDisplayName"));
  EXPECT_EQ(stored("u3@user").back()["content"], "u1@user|alice|Alice&&hello all");
  // u4 is no member: 65538 and nothing is delivered.
  std::string t4 = login("dave", "pw4");
  json m4 = msg;
  m4["fromUserName"] = "u4@user";
  EXPECT_EQ(post("device/push", {{"baseRequest", base(t4)}, {"msg", m4}}),
            (json{{"baseResponse", {{"ret", 65538}, {"errMsg", ""}}}}));
  expect_nothing_before_marker(*u2, "u2_android-qun2@user");
  json unknown = msg;
  unknown["toUserName"] = "00000000-0000-4000-8000-000000000000@qun";
  EXPECT_EQ(ret(post("device/push", {{"baseRequest", base(t1)}, {"msg", unknown}})), 65535);
}

TEST_F(AppApiTest, ForgedSenderAndForeignFanOutsAreRefusedAndDeliverNothing) {
  std::string t1 = login("alice", "pw1");
  auto u2 = session("u2", "android-forge");
  json forged{{"fromUserName", "u3@user"}, {"toUserName", "u2@user"}, {"content", "hi"}};
  EXPECT_EQ(ret(post("device/push", {{"baseRequest", base(t1)}, {"msg", forged}})), 65533);
  json foreign{{"fromUserName", "u1@user"}, {"toUserName", "t9@tenant"}, {"content", "x"}};
  EXPECT_EQ(ret(post("device/push", {{"baseRequest", base(t1)}, {"msg", foreign}})), 65533);
  json bad_token{{"fromUserName", "u1@user"}, {"toUserName", "u2@user"}, {"content", "x"}};
  EXPECT_EQ(post("device/push", {{"baseRequest", base("u1_ffff")}, {"msg", bad_token}}),
            (json{{"baseResponse", {{"ret", 65539}, {"errMsg", "Auth failure"}}}}));
  // A user token with deviceType web is read as an app token by the gate.
  EXPECT_EQ(ret(post("device/push", {{"baseRequest", base(t1, "w", "web")}, {"msg", bad_token}})),
            65539);
  // A login name in a push body is no credential: the token decides.
  EXPECT_EQ(ret(post("device/push",
                     {{"baseRequest", base("junk")}, {"userName", "alice"}, {"msg", bad_token}})),
            65539);
  // An org the caller is no member of (o2 is bob's and carol's).
  json not_mine{{"fromUserName", "u1@user"}, {"toUserName", "o2@org"}, {"content", "x"}};
  EXPECT_EQ(ret(post("device/push", {{"baseRequest", base(t1)}, {"msg", not_mine}})), 65533);
  // Over the 65,535 bytes of every daemon.
  json big{
      {"fromUserName", "u1@user"}, {"toUserName", "u2@user"}, {"content", std::string(70000, 'x')}};
  json too_big = post("device/push", {{"baseRequest", base(t1)}, {"msg", big}});
  EXPECT_EQ(too_big["baseResponse"],
            (json{{"ret", 65534}, {"errMsg", "the message is over 65535 bytes"}}));
  expect_nothing_before_marker(*u2, "u2_android-forge@user");
  // An org member reaches the org's users once each, and its own other sessions.
  std::string t2 = login("bob", "pw2", "forge2");
  auto u3 = session("u3", "iOS-org");
  auto u2_other = session("u2", "web-org");
  json org{{"fromUserName", "u2@user"}, {"toUserName", "o2@org"}, {"content", "to R&D"}};
  ASSERT_EQ(
      ret(post("device/push", {{"baseRequest", base(t2, "forge2", "android")}, {"msg", org}})), 0);
  EXPECT_EQ(next_msg(*u3, "u3 via o2")["content"], "to R&D");
  EXPECT_EQ(next_msg(*u2, "u2 via o2")["toUserName"], "o2@org");  // the sender's other device
  EXPECT_EQ(next_msg(*u2_other, "u2 web via o2")["content"], "to R&D");
  expect_nothing_before_marker(*u2, "u2_android-forge@user");  // once, not twice
  expect_nothing_before_marker(*u2_other, "u2_web-org@user");
}

TEST_F(AppApiTest, FileMessagesNeedTheUploadAndAreTracked) {
  std::string t1 = login("alice", "pw1");
  auto u3 = session("u3", "iOS-file");
  json msg{{"fromUserName", "u1@user"},
           {"toUserName", "u3@user"},
           {"msgType", 2},
           {"content", "a.pdf"},
           {"objectContent", {{"name", "a.pdf"}}}};
  EXPECT_EQ(ret(post("device/push", {{"baseRequest", base(t1)}, {"msg", msg}})), 65534);
  expect_nothing_before_marker(*u3, "u3_iOS-file@user");
  msg["objectContent"]["responseUpload"] = {{"fid", "3,0163"},
                                            {"fileName", "a.pdf"},
                                            {"fileUrl", "115.29.107.77:5083/3,0163"},
                                            {"size", 1024}};
  ASSERT_EQ(ret(post("device/push", {{"baseRequest", base(t1)}, {"msg", msg}})), 0);
  EXPECT_EQ(next_msg(*u3, "u3")["objectContent"]["responseUpload"]["fid"], "3,0163");
  EXPECT_EQ(sql1("SELECT CONCAT(file_name, ' ', file_url, ' ', size) FROM file_link WHERE "
                 "sender_id='u1' AND file_id='3,0163'"),
            "a.pdf 115.29.107.77:5083/3,0163 1024");
  // Sent again: the same row, refreshed.
  ASSERT_EQ(ret(post("device/push", {{"baseRequest", base(t1)}, {"msg", msg}})), 0);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM file_link WHERE sender_id='u1' AND file_id='3,0163'"), "1");
}

TEST_F(AppApiTest, AnExpiredLoginQuotaRefusesLogins) {
  cluster().sql(R"sql(
INSERT INTO customer VALUES ('c6','Old',1,NOW(),NOW());
INSERT INTO tenant VALUES ('t6','old','Old Ltd',1,'c6',NOW(),NOW());
INSERT INTO user (id,name,nickname,password,tenant_id,created,updated) VALUES ('u6','frank','Frank','pw6','t6',NOW(),NOW());
INSERT INTO quota (id,customer_id,tenant_id,api_name,type,value) VALUES
 ('q61','c6','*','/app/client/device/login','expire','2099/12/31 23:59:59'),
 ('q62','c6','*','/app/client/device/login','api_cnt','-1');
)sql");
  json login6{{"baseRequest", base("")}, {"userName", "frank"}, {"password", "pw6"}};
  // Once the reload has read the rows, frank logs in; once it has read the past end date, not.
  ASSERT_TRUE(eventually([&] { return ret(post("device/login", login6)) == 0; }, 10s));
  cluster().sql("UPDATE quota SET value='2000/01/01 00:00:00' WHERE id='q61'");
  EXPECT_TRUE(eventually([&] { return ret(post("device/login", login6)) == 65536; }, 10s));
  EXPECT_EQ(post("device/login", login6),
            (json{{"baseResponse", {{"ret", 65536}, {"errMsg", "apicall auth failure"}}}}));
}

TEST_F(AppApiTest, AppwebPushAnswersJsonp) {
  std::string t1 = login("alice", "pw1", "webdev");
  auto u3 = session("u3", "iOS-appweb");
  auto r = cluster().app_get(
      "/app/client/appweb/push?callbackparam=cb&baseRequest%5Btoken%5D=" + t1 +
      "&baseRequest%5BdeviceID%5D=webdev&msg%5BclientMsgId%5D=c9&msg%5BmsgType%5D=1"
      "&msg%5BfromUserName%5D=u1%40user&msg%5BtoUserName%5D=u3%40user&msg%5Bcontent%5D=yo");
  ASSERT_EQ(r.content_type, "application/javascript");
  ASSERT_TRUE(r.body.rfind("cb(", 0) == 0) << r.body;
  json j = json::parse(r.body.substr(3, r.body.rfind(')') - 3));
  EXPECT_EQ(ret(j), 0);
  EXPECT_EQ(j["clientMsgId"], "c9");
  json m = next_msg(*u3, "u3");
  EXPECT_EQ(m["content"], "yo");
  EXPECT_EQ(m["msgType"], 1);
  auto bad = cluster().app_get("/app/client/appweb/push?callbackparam=cb&baseRequest%5Btoken%5D=x");
  EXPECT_NE(bad.body.find("\"ret\":65533"), std::string::npos) << bad.body;
  auto bad_type =
      cluster().app_get("/app/client/appweb/push?callbackparam=cb&baseRequest%5Btoken%5D=" + t1 +
                        "&msg%5BmsgType%5D=one");
  EXPECT_NE(bad_type.body.find("msgType not is int"), std::string::npos) << bad_type.body;
}

TEST_F(AppApiTest, AppPushToAThousandUsersIsOnePushBatchPerComet) {
  std::string rows;
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    std::string id = "bulk" + std::to_string(i);
    rows += std::string(rows.empty() ? "" : ",") + "('" + id + "','" + id + "','Bulk " +
            std::to_string(i) + "','t1',NOW(),NOW())";
    names.push_back(id + "@user");
  }
  cluster().sql("INSERT INTO user (id,name,nickname,tenant_id,created,updated) VALUES " + rows);
  auto calls = [&](int n, const char* method) {
    return metric("appmsg_web_comet_calls_total{node=\"" + TestCluster::comet_name(n) +
                  "\",method=\"" + method + "\"}");
  };
  uint64_t batch1 = calls(1, "push_batch"), batch2 = calls(2, "push_batch");
  uint64_t single1 = calls(1, "push"), single2 = calls(2, "push");
  json body{{"baseRequest", base(kAppToken, "", "")},
            {"content", "Task approved"},
            {"msgType", 1},
            {"statusId", "s-9"},
            {"toUserNames", names},
            {"objectContent", {{"appId", "forged"}, {"appSendId", "x1"}}}};
  json a = post("app/user/push", body);
  ASSERT_EQ(ret(a), 0) << a.dump().substr(0, 500);
  ASSERT_EQ(a["mlist"].size(), 1000u);
  for (auto& m : a["mlist"]) EXPECT_GT(m["mid"].get<int64_t>(), 0) << m.dump();
  EXPECT_EQ(calls(1, "push_batch") - batch1, 1u);
  EXPECT_EQ(calls(2, "push_batch") - batch2, 1u);
  EXPECT_EQ(calls(1, "push") - single1, 0u);
  EXPECT_EQ(calls(2, "push") - single2, 0u);
  json first = stored("bulk7@user").back();
  EXPECT_EQ(first["fromUserName"], "a1@app");  // the token's application, not the body's appId
  EXPECT_EQ(first["fromDisplayName"], "Flow");
  EXPECT_EQ(first["toDisplayName"], "Bulk 7");
  EXPECT_EQ(first["statusId"], "s-9");
  // Above 1000 names: 65532.
  names.push_back("one-more@user");
  body["toUserNames"] = names;
  EXPECT_EQ(post("app/user/push", body),
            (json{{"baseResponse", {{"ret", 65532}, {"errMsg", ""}}}}));
  body["baseRequest"] = base("bad-token", "", "");
  EXPECT_EQ(post("app/user/push", body),
            (json{{"baseResponse", {{"ret", 65533}, {"errMsg", ""}}}}));
}

TEST_F(AppApiTest, AppPushSkipsUsersWhoShieldTheApplication) {
  auto u3 = session("u3", "iOS-shield");
  auto u4 = session("u4", "iOS-shield");
  cluster().sql("INSERT INTO shield_msg VALUES ('s1','u4','a1','',1,NOW(),NOW())");
  json a = post("app/user/push", {{"baseRequest", base(kAppToken, "", "")},
                                  {"content", "note"},
                                  {"msgType", 1},
                                  {"statusId", "s"},
                                  {"toUserNames", {"u3@user", "u4@user"}},
                                  {"objectContent", {{"appId", "a1"}}}});
  ASSERT_EQ(ret(a), 0);
  std::set<std::string> keys;
  for (auto& m : a["mlist"]) keys.insert(m["key"]);
  EXPECT_EQ(keys, (std::set<std::string>{"u3@user", "u3_iOS-shield@user"}));
  EXPECT_EQ(next_msg(*u3, "u3")["content"], "note");
  expect_nothing_before_marker(*u4, "u4_iOS-shield@user");
}

// ---------------------------------------------------------------------------------------------
// Directory and client version

TEST_F(AppApiTest, GetMemberAndContactsStayWithinTheCallersTenant) {
  cluster().sql(
      "INSERT INTO tenant VALUES ('t9','other','Other',1,'c1',NOW(),NOW());"
      "INSERT INTO user (id,name,nickname,password,tenant_id,created,updated) VALUES "
      "('u9','ivan','Ivan','pw9','t9',NOW(),NOW())");
  std::string t1 = login("alice", "pw1");
  auto member = [&](const std::string& name) {
    return post("device/getMember", {{"baseRequest", base(t1)}, {"userName", name}});
  };
  json bob = member("u2@user");
  ASSERT_EQ(ret(bob), 0) << bob.dump();
  EXPECT_EQ(bob["member"]["nickName"], "Bob");
  EXPECT_EQ(bob["member"]["password"], "");
  EXPECT_EQ(bob["member"]["starFriend"], 0);
  auto contact = [&](const std::string& uid, int star) {
    return ret(post("device/addOrRemoveContact",
                    {{"baseRequest", base(t1, "dev1", "iOS", "u3")},  // the token decides
                     {"uid", uid},
                     {"starFriend", star}}));
  };
  EXPECT_EQ(contact("u2", 1), 0);
  EXPECT_EQ(contact("u2", 1), 0);  // idempotent
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM user_user WHERE from_user_id='u1' AND to_user_id='u2'"),
            "1");
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM user_user WHERE from_user_id='u3'"), "0");
  EXPECT_EQ(member("u2@user")["member"]["starFriend"], 1);
  EXPECT_EQ(contact("u2", 0), 0);
  EXPECT_EQ(member("u2@user")["member"]["starFriend"], 0);
  // Another tenant's user (no common qun) is not there for u1; nor an unknown one.
  EXPECT_EQ(ret(member("u9@user")), 65531);
  EXPECT_EQ(contact("u9", 1), 65531);
  EXPECT_EQ(ret(member("nobody@user")), 65531);
  EXPECT_EQ(ret(member("u2")), 65534);
  EXPECT_EQ(ret(post("device/getMember", {{"baseRequest", base("bad")}, {"userName", "u2@user"}})),
            65533);
}

TEST_F(AppApiTest, SearchEscapesWildcardsCapsPagesAndStaysInTheTenant) {
  std::string rows =
      "('sr1','sr1','50%_off deal','t1',NOW(),NOW()),"
      "('sr2','sr2','50xxoff deal','t1',NOW(),NOW()),"
      "('sr9','sr9','50%_off elsewhere','t9x',NOW(),NOW())";
  for (int i = 0; i < 120; ++i) {
    rows += ",('cap" + std::to_string(i) + "','cap" + std::to_string(i) + "','Capped " +
            std::to_string(i) + "','t1',NOW(),NOW())";
  }
  cluster().sql("INSERT INTO user (id,name,nickname,tenant_id,created,updated) VALUES " + rows);
  std::string t1 = login("alice", "pw1");
  auto search = [&](const std::string& key, const std::string& type, int offset, int limit) {
    return post("device/search", {{"baseRequest", base(t1)},
                                  {"searchKey", key},
                                  {"searchType", type},
                                  {"offset", offset},
                                  {"limit", limit}});
  };
  json wild = search("50%_off", "user", 0, 10);
  ASSERT_EQ(ret(wild), 0) << wild.dump();
  ASSERT_EQ(wild["memberList"].size(), 1u) << wild.dump();
  EXPECT_EQ(wild["memberList"][0]["uid"], "sr1");
  EXPECT_EQ(wild["count"], 1);
  json capped = search("Capped ", "user", 0, 1000);
  EXPECT_EQ(capped["memberListSize"], 100);
  EXPECT_EQ(capped["count"], 120);
  EXPECT_EQ(search("Capped ", "user", 100, 100)["memberListSize"], 20);
  json apps = search("x", "app", 0, 10);
  EXPECT_EQ(apps["memberList"], json::array());
  EXPECT_EQ(ret(post("device/search", {{"baseRequest", base(t1)}, {"searchKey", "x"}})), 65534);
}

TEST_F(AppApiTest, OrgTreeIsSortedAtEveryLevelAndOrgRoutesStayInTheTenant) {
  cluster().sql(
      "INSERT INTO org (id,name,parent_id,location,tenant_id,sort) VALUES "
      "('o3','Sales','o1','0001','t1',0),('o4','Ops','','01','t1',-1),"
      "('o5','Orphan','zz','zz00','t1',0),('o6','Elsewhere','','00','t8',0);"
      "INSERT INTO tenant VALUES ('t8','t8','Eight',1,'c1',NOW(),NOW());"
      "INSERT INTO user (id,name,nickname,password,tenant_id,created,updated) VALUES "
      "('u8x','eve','Eve','pw8x','t8',NOW(),NOW());"
      "INSERT INTO application (id,name,token,tenant_id) VALUES ('a8','Eight app','app-8','t8')");
  std::string t1 = login("alice", "pw1");
  ASSERT_EQ(ret(post("device/addOrRemoveContact",
                     {{"baseRequest", base(t1)}, {"uid", "u3"}, {"starFriend", 1}})),
            0);
  json info = post("device/getOrgInfo", {{"baseRequest", base(t1)}});
  ASSERT_EQ(ret(info), 0) << info.dump();
  const json& top = info["ognizationMemberList"];
  EXPECT_EQ(top["uid"], "t1");
  EXPECT_EQ(top["userName"], "t1@tenant");
  EXPECT_EQ(top["nickName"], "Acme Corp");
  EXPECT_EQ(top["memberCount"], 2);
  std::vector<std::string> roots, hq;
  for (auto& n : top["memberList"]) roots.push_back(n["uid"]);
  EXPECT_EQ(roots, (std::vector<std::string>{"o4", "o1"}));  // by sort, the orphan dropped
  for (auto& n : top["memberList"][1]["memberList"]) hq.push_back(n["uid"]);
  EXPECT_EQ(hq, (std::vector<std::string>{"o3", "o2"}));
  EXPECT_EQ(top["memberList"][1]["userName"], "o1@org");
  EXPECT_EQ(top["memberList"][1]["memberCount"], 2);
  EXPECT_TRUE(top["memberList"][0]["memberList"].is_null());  // no children
  EXPECT_EQ(info["userOgnization"], "o1");
  ASSERT_EQ(info["starMemberCount"], 1);
  EXPECT_EQ(info["starMemberList"][0]["uid"], "u3");
  // getOrgUserList: device (same tenant) and app (its tenant), ordered.
  json users = post("device/getOrgUserList", {{"baseRequest", base(t1)}, {"orgid", "o2"}});
  ASSERT_EQ(ret(users), 0);
  EXPECT_EQ(users["memberCount"], 2);
  EXPECT_EQ(users["memberList"][0]["uid"], "u2");
  EXPECT_EQ(users["memberList"][1]["uid"], "u3");
  EXPECT_EQ(ret(post("device/getOrgUserList", {{"baseRequest", base(t1)}, {"orgid", "o6"}})),
            65533);
  EXPECT_EQ(ret(post("device/getOrgUserList", {{"baseRequest", base("x")}, {"orgid", "o2"}})),
            65533);
  auto app = [&](const std::string& token) { return base(token, "", ""); };
  EXPECT_EQ(
      post("app/getOrgUserList", {{"baseRequest", app(kAppToken)}, {"orgid", "o2"}})["memberCount"],
      2);
  EXPECT_EQ(ret(post("app/getOrgUserList", {{"baseRequest", app("app-8")}, {"orgid", "o2"}})),
            65533);
  json orgs = post("app/getOrgList", {{"baseRequest", app(kAppToken)}, {"uid", "u2"}});
  ASSERT_EQ(orgs["orgCount"], 1) << orgs.dump();
  EXPECT_EQ(orgs["orgList"][0], (json{{"id", "o2"},
                                      {"name", "R&D"},
                                      {"shortName", ""},
                                      {"parentId", "o1"},
                                      {"tenantId", "t1"},
                                      {"location", "0000"},
                                      {"sort", 1}}));
  // addOrgUser is idempotent; removeOrgUser removes; another tenant's user is refused.
  auto change = [&](const std::string& route, const std::string& token, const std::string& org,
                    const std::string& uid) {
    return post("app/" + route, {{"baseRequest", app(token)}, {"orgid", org}, {"uid", uid}});
  };
  EXPECT_EQ(change("addOrgUser", kAppToken, "o3", "u4")["successed"], true);
  EXPECT_EQ(change("addOrgUser", kAppToken, "o3", "u4")["successed"], true);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM org_user WHERE org_id='o3' AND user_id='u4'"), "1");
  EXPECT_EQ(change("removeOrgUser", kAppToken, "o3", "u4")["successed"], true);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM org_user WHERE org_id='o3' AND user_id='u4'"), "0");
  json foreign = change("addOrgUser", kAppToken, "o3", "u8x");
  EXPECT_EQ(ret(foreign), 65533);
  EXPECT_EQ(foreign["successed"], false);
  EXPECT_EQ(ret(change("addOrgUser", "app-8", "o3", "u4")), 65533);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM org_user WHERE org_id='o3'"), "0");
}

TEST_F(AppApiTest, ApplicationsMenusAndShieldsOfTheCaller) {
  cluster().sql(
      "INSERT INTO application (id,name,token,tenant_id,sort) VALUES ('a7x','Hidden','app-7x',"
      "'t7x',0);"
      "INSERT INTO operation (id,app_id,content,action,operation_type,sort,parent_id) VALUES "
      "('op1','a1','Later','http://a/1','1',2,NULL),('op2','a1','First','http://a/2','2',1,NULL),"
      "('op21','a1','Child B','http://a/21','1',2,'op2'),"
      "('op22','a1','Child A','http://a/22','2',1,'op2')");
  std::string t1 = login("alice", "pw1");
  json apps = post("device/getApplicationList", {{"baseRequest", base(t1)}});
  ASSERT_EQ(ret(apps), 0) << apps.dump();
  std::vector<std::string> ids;
  for (auto& m : apps["memberList"]) ids.push_back(m["uid"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"a1", "sys"}));  // its tenant and the global ones
  EXPECT_EQ(apps["memberList"][0]["userName"], "a1@app");
  EXPECT_EQ(apps["memberList"][0]["description"], "workflow");
  EXPECT_EQ(apps["memberList"][0]["status"], "1");
  json ops =
      post("device/getAppOperationList", {{"baseRequest", base(t1)}, {"username", "a1@app"}});
  ASSERT_EQ(ops["operationCount"], 2) << ops.dump();
  EXPECT_EQ(ops["operationList"][0]["id"], "op2");
  EXPECT_EQ(ops["operationList"][0]["operationType"], "2");
  EXPECT_EQ(ops["operationList"][0]["operationList"][0]["id"], "op22");
  EXPECT_EQ(ops["operationList"][0]["operationList"][1]["id"], "op21");
  EXPECT_EQ(ops["operationList"][1]["id"], "op1");
  EXPECT_EQ(ops["operationList"][1]["operationList"], json::array());
  EXPECT_EQ(post("device/getAppOperationList", {{"baseRequest", base(t1)}, {"username", "a1"}}),
            (json{{"baseResponse", {{"ret", 65533}, {"errMsg", "username没有以 @app 结尾"}}}}));
  EXPECT_EQ(post("device/getAppOperationList",
                 {{"baseRequest", base(t1)}, {"username", "a7x@app"}})["operationCount"],
            0);  // another tenant's application
  auto shield = [&](const std::string& route, const std::string& source) {
    return post("device/" + route,
                {{"baseRequest", base(t1)}, {"sourceId", source}, {"targetId", "a1"}, {"type", 1}});
  };
  EXPECT_EQ(ret(shield("setShieldMsg", "u1")), 0);
  EXPECT_EQ(ret(shield("setShieldMsg", "u1")), 0);  // idempotent
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM shield_msg WHERE source_id='u1' AND target_id='a1'"), "1");
  EXPECT_EQ(ret(shield("setShieldMsg", "u2")), 65533);  // only for oneself
  EXPECT_EQ(shield("isUserShieldApp", "u1")["isShield"], true);
  EXPECT_EQ(ret(shield("cancelShieldMsg", "u1")), 0);
  EXPECT_EQ(shield("isUserShieldApp", "u1")["isShield"], false);
}

TEST_F(AppApiTest, CheckUpdateAnswersTheNewestVersion) {
  cluster().sql(
      "INSERT INTO client_version (id,type,ver_code,ver_name,ver_description,download_url,"
      "file_name) VALUES ('v1','android',1,'1.0','first','http://x/1.apk','1.apk'),"
      "('v3','android',3,'3.0','third','http://x/3.apk','3.apk'),"
      "('v2','android',2,'2.0','second','http://x/2.apk','2.apk')");
  std::string t1 = login("alice", "pw1");
  json a = post("device/checkUpdate", {{"baseRequest", base(t1)}, {"type", "android"}});
  ASSERT_EQ(ret(a), 0) << a.dump();
  EXPECT_EQ(a["msg"], (json{{"msgType", 1001},
                            {"content", "third"},
                            {"objectContent",
                             {{"versionCode", 3},
                              {"versionName", "3.0"},
                              {"url", "http://x/3.apk"},
                              {"fileName", "3.apk"}}}}));
  EXPECT_EQ(ret(post("device/checkUpdate", {{"baseRequest", base(t1)}, {"type", "ios"}})), 65535);
  EXPECT_EQ(ret(post("device/checkUpdate", {{"baseRequest", base("x")}, {"type", "android"}})),
            65533);
}

// ---------------------------------------------------------------------------------------------
// Sessions

TEST_F(AppApiTest, SessionStateIsSetByItsOwnerAndSelectsSessions) {
  std::string t3 = login("carol", "pw3", "s1");
  auto a = session("u3", "android-s1");
  auto b = session("u3", "iOS-s2");
  auto set = [&](const std::string& token, const std::string& type, const std::string& sid,
                 const std::string& state) {
    return ret(
        post("device/setSessionState",
             {{"baseRequest", base(token, "s1", type)}, {"state", state}, {"sessionId", sid}}));
  };
  EXPECT_EQ(set(t3, "android", "u3_android-s1", "active"), 0);
  EXPECT_EQ(set(t3, "android", "u3_android-s1", "sleeping"), 65534);
  EXPECT_EQ(set(t3, "android", "u2_android-dev2", "active"), 65531);  // not the caller's
  EXPECT_EQ(set(t3, "android", "u3_android-gone", "active"), 65531);  // not live
  EXPECT_EQ(ret(post("app/setSessionState", {{"baseRequest", base(kAppToken, "", "")},
                                             {"state", "inactive"},
                                             {"sessionId", "u3_iOS-s2"}})),
            0);
  json list = post("app/getSessions", {{"baseRequest", base(kAppToken, "", "", "u3")}});
  std::map<std::string, json> by_id;
  for (auto& s : list["memberList"]) by_id[s["id"]] = s;
  ASSERT_TRUE(by_id.count("u3_android-s1")) << list.dump();
  EXPECT_EQ(by_id["u3_android-s1"]["sate"], "active");
  EXPECT_EQ(by_id["u3_android-s1"]["type"], "android");
  EXPECT_EQ(by_id["u3_android-s1"]["userId"], "u3");
  EXPECT_EQ(by_id["u3_iOS-s2"]["sate"], "inactive");
  // sessions ["active"] reaches the active session (and the offline key) only.
  std::string t1 = login("alice", "pw1");
  json msg{{"fromUserName", "u1@user"}, {"toUserName", "u3@user"}, {"content", "fg"}};
  ASSERT_EQ(
      ret(post("device/push", {{"baseRequest", base(t1)}, {"sessions", {"active"}}, {"msg", msg}})),
      0);
  json got = next_msg(*a, "active session");
  EXPECT_EQ(got["content"], "fg");
  EXPECT_EQ(got["activeSessions"], json({"u3_android-s1"}));
  expect_nothing_before_marker(*b, "u3_iOS-s2@user");
  // A closed session leaves the list.
  b->close();
  EXPECT_TRUE(eventually([&] { return session_ids("u3").count("u3_iOS-s2") == 0; }, 15s));
}

TEST_F(AppApiTest, ApnsTokensAreSavedMovedAndDeleted) {
  std::string t1 = login("alice", "pw1");
  std::string t2 = login("bob", "pw2");
  std::string tok(64, 'a');
  auto add = [&](const std::string& token) {
    return post("device/addApnsToken", {{"baseRequest", base(token)}, {"apnsToken", tok}});
  };
  EXPECT_EQ(add(t1)["baseResponse"]["errMsg"], "Save apns_token success");
  EXPECT_EQ(sql1("SELECT user_id FROM apns_token WHERE device_id='" + tok + "'"), "u1");
  EXPECT_EQ(ret(add(t2)), 0);  // the device now belongs to bob: one row
  EXPECT_EQ(sql1("SELECT GROUP_CONCAT(user_id) FROM apns_token WHERE device_id='" + tok + "'"),
            "u2");
  EXPECT_EQ(ret(post("device/delApnsToken", {{"baseRequest", base(t1)}, {"apnsToken", tok}})), 0);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM apns_token WHERE device_id='" + tok + "'"), "1");
  EXPECT_EQ(ret(post("device/delApnsToken", {{"baseRequest", base(t2)}, {"apnsToken", tok}})), 0);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM apns_token WHERE device_id='" + tok + "'"), "0");
  EXPECT_EQ(ret(post("device/addApnsToken", {{"baseRequest", base("nope")}, {"apnsToken", tok}})),
            65533);
  // At login.
  std::string apns(64, 'b');
  ASSERT_EQ(ret(post("device/login", {{"baseRequest", base("")},
                                      {"userName", "carol"},
                                      {"password", "pw3"},
                                      {"apnsToken", apns}})),
            0);
  EXPECT_EQ(sql1("SELECT user_id FROM apns_token WHERE apns_token='" + apns + "'"), "u3");
}

// ---------------------------------------------------------------------------------------------
// Quotas

TEST_F(AppApiTest, ApiCallAndPushQuotasRejectOverQuotaCallsAndFollowReloads) {
  cluster().sql(R"sql(
INSERT INTO customer VALUES ('c7','Small',1,NOW(),NOW());
INSERT INTO tenant VALUES ('t7','small','Small Ltd',1,'c7',NOW(),NOW());
INSERT INTO user (id,name,nickname,password,tenant_id,created,updated) VALUES
 ('u7','grace','Grace','pw7','t7',NOW(),NOW()), ('u8','heidi','Heidi','pw8','t7',NOW(),NOW());
INSERT INTO quota (id,customer_id,tenant_id,api_name,type,value) VALUES
 ('q71','c7','*','/app/client/device/login','expire','2099/12/31 23:59:59'),
 ('q72','c7','t7','/app/client/device/login','api_cnt','2'),
 ('q73','c7','*','/app/client/device/push','expire','2099/12/31 23:59:59'),
 ('q74','c7','*','/app/client/device/push','api_cnt','-1'),
 ('q75','c7','*','','expire','2099/12/31 23:59:59'),
 ('q76','c7','*','','push_cnt','0');
)sql");
  // The quota rows are read at the next reload ([app] quota.reload 1s in the test cluster).
  json login7{{"baseRequest", base("")}, {"userName", "grace"}, {"password", "pw7"}};
  ASSERT_TRUE(eventually([&] { return ret(post("device/login", login7)) == 0; }, 10s));
  // The query string does not change the counted API name.
  auto r = cluster().app_post("/app/client/device/login?x=1", login7.dump());
  EXPECT_EQ(ret(r.json()), 0) << r.body;
  EXPECT_EQ(post("device/login", login7),
            (json{{"baseResponse", {{"ret", 65536}, {"errMsg", "apicall auth failure"}}}}));
  // The push quota of 0: 65537, the answer's fields, nothing delivered.
  std::string t8 = [&] {
    cluster().sql("UPDATE quota SET value='-1' WHERE id='q72'");
    std::string t;
    eventually(
        [&] {
          json a = post("device/login",
                        {{"baseRequest", base("")}, {"userName", "heidi"}, {"password", "pw8"}});
          t = a.value("token", "");
          return ret(a) == 0;
        },
        10s);
    return t;
  }();
  ASSERT_FALSE(t8.empty());
  auto u7 = session("u7", "iOS-q");
  json msg{
      {"fromUserName", "u8@user"}, {"toUserName", "u7@user"}, {"content", "x"}, {"clientMsgId", 5}};
  json refused = post("device/push", {{"baseRequest", base(t8)}, {"msg", msg}});
  EXPECT_EQ(refused, (json{{"baseResponse", {{"ret", 65537}, {"errMsg", ""}}},
                           {"msgID", "msgid"},
                           {"clientMsgId", 5},
                           {"mid", 0}}));
  expect_nothing_before_marker(*u7, "u7_iOS-q@user");
  // Raised in the database: applied at the reload, counted afterwards.
  cluster().sql("UPDATE quota SET value='3' WHERE id='q76'");
  ASSERT_TRUE(eventually(
      [&] {
        return ret(post("device/push", {{"baseRequest", base(t8)}, {"msg", msg}})) == 0;
      },
      10s));
  EXPECT_EQ(next_msg(*u7, "u7")["content"], "x");
  // That push made 3 copies (u7's offline key and session, u8's offline key): the limit is used.
  EXPECT_EQ(ret(post("device/push", {{"baseRequest", base(t8)}, {"msg", msg}})), 65537);
  EXPECT_TRUE(eventually([&] {
    return sql1(
               "SELECT SUM(count) FROM push_cnt WHERE caller_id='u8' AND push_type='@user' AND "
               "type='ios' AND sharding=1") == "3";
  }));
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST_F(AppApiTest, BadInputGetsItsCodeAndTheNodeKeepsServing) {
  auto raw = [&](const std::string& route, const std::string& body) {
    return cluster().app_post("/app/client/" + route, body);
  };
  for (auto* route :
       {"device/login", "device/push", "device/validateToken", "device/delToken", "app/user/push",
        "app/user/auth", "device/setSessionState", "app/getSessions", "device/addApnsToken"}) {
    for (auto* body : {"", "not json", "[]", "{\"baseRequest\":7}",
                       "{\"baseRequest\":{\"token\":5}}", "{\"baseRequest\":{}}"}) {
      auto r = raw(route, body);
      EXPECT_EQ(r.status, 200) << route << " " << body;
      json j = r.json();
      int code = ret(j);
      EXPECT_TRUE(code == 65534 || code == 65533 || code == 65539)
          << route << " " << body << ": " << r.body;
    }
  }
  EXPECT_EQ(ret(raw("device/login", R"({"baseRequest":{},"userName":5,"password":"x"})").json()),
            65534);
  EXPECT_EQ(ret(raw("device/push",
                    R"({"baseRequest":{"token":"t","deviceType":"iOS","deviceID":"d"},"msg":"x"})")
                    .json()),
            65534);
  auto get = cluster().app_get("/app/client/device/login");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.body, "Method Not Allowed\n");
  EXPECT_EQ(cluster().app_get("/app/client/nothing").status, 404);
  // A body over [app] body.max (1 MiB): 413 as soon as its length is known.
  auto [host, port] = split_host_port(cluster().web_app());
  test::TestClient big(cluster().web_app());
  ASSERT_TRUE(big.send("POST /app/client/device/login HTTP/1.1\r\nHost: " + host +
                       "\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{"));
  EXPECT_EQ(big.read_line(), "HTTP/1.1 413 Payload Too Large\r\n");
  (void)port;
  // Still serving.
  EXPECT_FALSE(login("alice", "pw1").empty());
}

// ---------------------------------------------------------------------------------------------
// Schema

TEST_F(AppApiTest, MigrationsAreRecordedAndConcurrentRunsAreSafe) {
  EXPECT_EQ(sql1("SELECT GROUP_CONCAT(version ORDER BY version) FROM schema_migrations"), "1,2,3");
  cluster().sql("CREATE DATABASE fresh CHARACTER SET utf8mb4");
  test::TempDir dir;
  std::string conf = dir.path() + "/web.conf", db = dir.path() + "/db.conf";
  std::ofstream(conf) << "[base]\npidfile " << dir.path() << "/w.pid\n";
  std::ofstream(db) << "[base]\napp.dbURL root:@tcp(127.0.0.1:" << cluster().mariadb().port()
                    << ")/fresh?parseTime=true\n";
  test::ChildProcess a, b;
  a.spawn({APPMSG_WEB_BIN, "-c", conf, "-dbc", db, "--migrate"}, dir.path() + "/a.log");
  b.spawn({APPMSG_WEB_BIN, "-c", conf, "-dbc", db, "--migrate"}, dir.path() + "/b.log");
  int sa = a.wait_exit(60s), sb = b.wait_exit(60s);
  EXPECT_TRUE(WIFEXITED(sa) && WEXITSTATUS(sa) == 0) << test::tail_file(dir.path() + "/a.log");
  EXPECT_TRUE(WIFEXITED(sb) && WEXITSTATUS(sb) == 0) << test::tail_file(dir.path() + "/b.log");
  EXPECT_EQ(sql1("SELECT GROUP_CONCAT(version ORDER BY version) FROM fresh.schema_migrations"),
            "1,2,3");
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema='fresh' "
                 "AND table_name='qun_user' AND index_name='qun_user_pair' AND non_unique=0 AND "
                 "seq_in_index=1"),
            "1");
}

// A database the original's install.sql made (application without description and follow,
// api_call without a primary key, counters and quotas duplicated by its racy upserts): the
// migrations complete it, summing the duplicated counters.
TEST_F(AppApiTest, MigrationsUpgradeAnOriginalDatabase) {
  cluster().sql(R"sql(
CREATE DATABASE legacy CHARACTER SET utf8;
CREATE TABLE legacy.application (id varchar(64) NOT NULL, name varchar(45) DEFAULT NULL,
  token varchar(45) DEFAULT NULL, type varchar(45) DEFAULT NULL, status int DEFAULT NULL,
  sort int DEFAULT NULL, level int DEFAULT NULL, avatar varchar(255) DEFAULT NULL,
  tenant_id varchar(64) DEFAULT NULL, created datetime DEFAULT NULL, updated datetime DEFAULT NULL,
  name_py varchar(45) DEFAULT NULL, name_quanpin varchar(45) DEFAULT NULL, PRIMARY KEY (id));
CREATE TABLE legacy.api_call (id varchar(64) DEFAULT NULL, customer_id varchar(64) DEFAULT NULL,
  tenant_id varchar(64) DEFAULT NULL, caller_id varchar(64) DEFAULT NULL, type varchar(45) DEFAULT NULL,
  api_name varchar(255) DEFAULT NULL, count int DEFAULT NULL, sharding int DEFAULT NULL,
  created datetime DEFAULT NULL, updated datetime DEFAULT NULL);
CREATE TABLE legacy.user (id varchar(64) NOT NULL, name varchar(45) DEFAULT '', nickname varchar(45) DEFAULT '',
  avatar varchar(45) DEFAULT '', name_py varchar(45) DEFAULT '', name_quanpin varchar(255) DEFAULT '',
  status int DEFAULT 0, rand int DEFAULT 0, password varchar(32) DEFAULT '', tenant_id varchar(64) DEFAULT '',
  level int DEFAULT 0, email varchar(64) DEFAULT '', mobile varchar(11) DEFAULT '', area varchar(128) DEFAULT '',
  created datetime NOT NULL, updated datetime NOT NULL, PRIMARY KEY (id));
INSERT INTO legacy.application (id, name, token) VALUES ('a1', 'Flow', 'secret');
INSERT INTO legacy.api_call VALUES
  ('k1','c1','t1','u1','ios','/app/client/device/login',3,0,NOW(),NOW()),
  ('k2','c1','t1','u1','ios','/app/client/device/login',4,0,NOW(),NOW()),
  ('k3','c1','t1','u2','ios','/app/client/device/login',1,0,NOW(),NOW());
)sql");
  test::TempDir dir;
  std::string conf = dir.path() + "/web.conf", db = dir.path() + "/db.conf";
  std::ofstream(conf) << "[base]\npidfile " << dir.path() << "/w.pid\n";
  std::ofstream(db) << "[base]\napp.dbURL root:@tcp(127.0.0.1:" << cluster().mariadb().port()
                    << ")/legacy\n";
  test::ChildProcess m;
  m.spawn({APPMSG_WEB_BIN, "-c", conf, "-dbc", db, "--migrate"}, dir.path() + "/m.log");
  int status = m.wait_exit(60s);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << test::tail_file(dir.path() + "/m.log");
  EXPECT_EQ(sql1("SELECT GROUP_CONCAT(CONCAT(caller_id, '=', count) ORDER BY caller_id) FROM "
                 "legacy.api_call"),
            "u1=7,u2=1");
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema='legacy' "
                 "AND table_name='application' AND column_name IN ('description','follow')"),
            "2");
  EXPECT_EQ(sql1("SELECT character_maximum_length FROM information_schema.columns WHERE "
                 "table_schema='legacy' AND table_name='user' AND column_name='password'"),
            "255");
}

// ---------------------------------------------------------------------------------------------
// The original's files

// An original web.conf + db.conf pair (only the original's keys) starts the /app API as it is:
// a login and a push to a user's session work. The user has no tenant, so no quota applies
// (the original's quota reload is 5 minutes away).
TEST(AppApiOriginalConfig, OriginalWebConfAndDbConfServeTheAppApi) {
  TestCluster c(binaries(), test::ConfigStyle::original, true);
  try {
    c.start();
  } catch (const std::exception& e) {
    FAIL() << e.what() << "\n" << c.log_tails();
  }
  c.sql(
      "INSERT INTO user (id,name,nickname,password,tenant_id,created,updated) VALUES "
      "('o1','olive','Olive','pw','',NOW(),NOW()), ('o2','otto','Otto','pw','',NOW(),NOW())");
  auto login =
      c.app_post("/app/client/device/login",
                 json{{"baseRequest", base("")}, {"userName", "olive"}, {"password", "pw"}}.dump());
  ASSERT_EQ(login.json()["baseResponse"]["ret"], 0) << login.body << c.log_tails();
  std::string key = "o2_android-1@user";
  Subscriber otto(Proto::tcp, c.server_for(key, Proto::tcp), key);
  ASSERT_TRUE(otto.subscribed()) << otto.error();
  json push{{"baseRequest", base(login.json()["token"])},
            {"msg", {{"fromUserName", "o1@user"}, {"toUserName", "o2@user"}, {"content", "hey"}}}};
  // The session is listed once the comet's presence flush has written it.
  std::optional<json> got;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = c.app_post("/app/client/device/push", push.dump());
        if (r.json()["baseResponse"]["ret"] != 0) return false;
        auto m = otto.next(300ms);
        if (m) got = (*m)["msg"];
        return got.has_value();
      },
      20s))
      << c.log_tails();
  EXPECT_EQ((*got)["content"], "hey");
  EXPECT_EQ((*got)["toUserKey"], key);
}

}  // namespace
}  // namespace appmsg
