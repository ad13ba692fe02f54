// The fixture of the /app integration tests (app_api_test, app_qun_test): a real cluster in
// app mode (test/support/cluster.hpp): ZooKeeper, Redis, MariaDB, two message nodes, two
// comets and web, all real processes, started once per test binary. The data is the one of
// spec/app-api.md 8.1 (tenant t1 of customer c1 with unlimited quotas, users u1..u4, org
// o1/o2, application a1, qun Q of u1, u2, u3), loaded with SQL once; tests that need their own
// rows add them under other ids.
//
// Sessions are real: a session is a Subscriber on "<uid>_<type>-<device>@user", which the comet
// lists in Redis (common/session_keys.hpp); tests wait until app/getSessions shows a session
// before they push. "Nothing arrived" is shown without sleeping: after the push under test, a
// marker is pushed to the same key through the admin API, and the marker must be the first
// message there.
#pragma once

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
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

#include "common/http.hpp"
#include "common/http_server.hpp"
#include "support/async.hpp"
#include "support/cluster.hpp"
#include "support/servers.hpp"
#include "web/app/password.hpp"

namespace appmsg::test_app {

using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;
using test::Proto;
using test::Subscriber;
using test::TestCluster;

// Runs `command` through the shell; its exit status and output (stdout and stderr). For the
// browser checks (node test/browser/*.mjs).
inline std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline test::ClusterBinaries binaries() {
  return {APPMSG_COMET_BIN, APPMSG_MESSAGE_BIN, APPMSG_WEB_BIN};
}

inline constexpr const char* kQun = "11111111-1111-4111-8111-111111111111";
inline constexpr const char* kAppToken = "app-secret-1";

inline const char* kFixture = R"sql(
INSERT INTO customer VALUES ('c1','Acme',1,NOW(),NOW());
INSERT INTO tenant VALUES ('t1','acme','Acme Corp',1,'c1',NOW(),NOW());
INSERT INTO user (id,name,nickname,avatar,name_py,name_quanpin,status,password,tenant_id,email,mobile,area,created,updated) VALUES
 ('u1','alice','Alice','','A','alice',1,'pw1','t1','alice@acme.test','13800000001','KM',NOW(),NOW()),
 ('u2','bob','Bob','','B','bob',1,'pw2','t1','bob@acme.test','13800000002','KM',NOW(),NOW()),
 ('u3','carol','Carol','','C','carol',1,'pw3','t1','carol@acme.test','13800000003','KM',NOW(),NOW()),
 ('u4','dave','Dave','','D','dave',1,'pw4','t1','dave@acme.test','13800000004','KM',NOW(),NOW()),
 ('u0','probe','Probe','','P','probe',1,'pw0','t1','probe@acme.test','','',NOW(),NOW());
INSERT INTO org (id,name,parent_id,location,tenant_id,sort) VALUES ('o1','HQ','','00','t1',0),('o2','R&D','o1','0000','t1',1);
INSERT INTO org_user VALUES ('ou1','o1','u1',0),('ou2','o2','u2',0),('ou3','o2','u3',0);
INSERT INTO quota (id,customer_id,tenant_id,api_name,type,value) VALUES
 ('q1','c1','*','/app/client/device/login','expire','2099/12/31 23:59:59'),
 ('q2','c1','*','/app/client/device/login','api_cnt','-1'),
 ('q3','c1','*','/app/client/device/push','expire','2099/12/31 23:59:59'),
 ('q4','c1','*','/app/client/device/push','api_cnt','-1'),
 ('q5','c1','*','','expire','2099/12/31 23:59:59'),
 ('q6','c1','*','','push_cnt','-1');
INSERT INTO application (id,name,token,type,status,sort,level,avatar,tenant_id,name_py,name_quanpin,description) VALUES
 ('a1','Flow','app-secret-1','web',1,1,0,'','t1','F','flow','workflow'),
 ('sys','Ops','sys-secret','system',1,9,0,'','','O','ops','a system app: no tenant');
INSERT INTO qun (id,creator_id,name,description,max_member,avatar,tenant_id,created,updated) VALUES
 ('11111111-1111-4111-8111-111111111111','u1','Team','',100,'','t1',NOW(),NOW());
INSERT INTO qun_user (id,qun_id,user_id,sort,role,created,updated) VALUES
 ('qu1','11111111-1111-4111-8111-111111111111','u1',0,0,NOW(),NOW()),
 ('qu2','11111111-1111-4111-8111-111111111111','u2',0,2,NOW() + INTERVAL 1 SECOND,NOW()),
 ('qu3','11111111-1111-4111-8111-111111111111','u3',0,2,NOW() + INTERVAL 2 SECOND,NOW());
)sql";

// TTL of a Redis key, through hiredis (-3 when Redis cannot be asked).
inline long long redis_ttl(int port, const std::string& key) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (!c || c->err) {
    if (c) redisFree(c);
    return -3;
  }
  auto* r = static_cast<redisReply*>(redisCommand(c, "TTL %b", key.data(), key.size()));
  long long ttl = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -3;
  if (r) freeReplyObject(r);
  redisFree(c);
  return ttl;
}

inline json base(const std::string& token, const std::string& device = "dev1",
                 const std::string& type = "iOS", const std::string& uid = "") {
  return json{{"uid", uid}, {"deviceID", device}, {"deviceType", type}, {"token", token}};
}

class AppApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      auto c = std::make_unique<TestCluster>(binaries(), test::ConfigStyle::ours, true);
      c->set_web_extra(web_extra_);
      c->set_admin_secret(admin_secret_);
      c->start();
      c->sql(kFixture);
      // Web reads the quota rows at its next reload ([app] quota.reload 1s here).
      bool loaded = eventually(
          [&] {
            auto r = c->app_post(
                "/app/client/device/login",
                json{{"baseRequest", base("")}, {"userName", "probe"}, {"password", "pw0"}}.dump());
            return r.json().value("token", "") != "";
          },
          20s);
      if (!loaded) throw std::runtime_error("web did not load the fixture's quotas");
      shared_ = c.release();
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(shared_) << "the cluster did not start: " << (setup_error_ ? *setup_error_ : "");
  }
  void TearDown() override {
    if (HasFailure() && shared_) std::cerr << "\nDaemon logs:\n" << shared_->log_tails();
  }
  TestCluster& cluster() { return *shared_; }

  json post(const std::string& route, const json& body) {
    auto r = cluster().app_post("/app/client/" + route, body.dump());
    EXPECT_EQ(r.status, 200) << route << ": " << r.error << " " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << route;
    json j = r.json();
    EXPECT_TRUE(j.is_object()) << route << ": " << r.body;
    return j;
  }
  static int ret(const json& answer) {
    return answer.is_object() && answer.contains("baseResponse")
               ? answer["baseResponse"].value("ret", -1)
               : -1;
  }

  // device/login; the token.
  std::string login(const std::string& name, const std::string& password,
                    const std::string& device = "dev1") {
    json a = post("device/login",
                  {{"baseRequest", base("", device)}, {"userName", name}, {"password", password}});
    EXPECT_EQ(ret(a), 0) << a.dump();
    return a.value("token", "");
  }

  // A session of `uid`: a subscriber on <uid>_<type>-<device>@user at its comet, once web
  // lists the session.
  std::unique_ptr<Subscriber> session(const std::string& uid, const std::string& type_device,
                                      Proto proto = Proto::tcp) {
    std::string sid = uid + "_" + type_device;
    std::string key = sid + "@user";
    auto sub = std::make_unique<Subscriber>(proto, cluster().server_for(key, proto), key);
    EXPECT_TRUE(sub->subscribed()) << key << ": " << sub->error();
    EXPECT_TRUE(eventually([&] { return session_ids(uid).count(sid) > 0; }, 15s))
        << "web never listed session " << sid;
    return sub;
  }

  std::set<std::string> session_ids(const std::string& uid) {
    json a = post("app/getSessions", {{"baseRequest", base("sys-secret", "", "", uid)}});
    std::set<std::string> ids;
    for (auto& s : a.value("memberList", json::array())) ids.insert(s.value("id", ""));
    return ids;
  }

  // The next message's body on `sub`.
  json next_msg(Subscriber& sub, const std::string& who) {
    auto m = sub.next(5s);
    EXPECT_TRUE(m) << who << ": no message: " << sub.error();
    return m ? (*m)["msg"] : json();
  }

  // Pushes a marker to `key` (admin API, not stored) and checks it is the next message there:
  // nothing else came first.
  void expect_nothing_before_marker(Subscriber& sub, const std::string& key) {
    json marker{{"marker", key}};
    ASSERT_TRUE(cluster().push(key, marker.dump(), 0));
    EXPECT_EQ(next_msg(sub, key), marker) << key << " got a message it should not have";
  }

  // Offline messages of `key` (/1/msg/get), bodies only.
  std::vector<json> stored(const std::string& key) {
    auto r = cluster().get("/1/msg/get?k=" + url_encode(key) + "&m=0");
    json j = r.json();
    std::vector<json> out;
    if (!j.is_object() || !j.contains("data")) return out;
    for (auto& m : j["data"].value("msgs", json::array())) out.push_back(m["msg"]);
    return out;
  }

  // A counter of web's /metrics (exact label text), 0 when absent.
  uint64_t metric(const std::string& name_and_labels) {
    auto r = test::http_request(cluster().web_stat(), "GET", "/metrics");
    auto at = r.body.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) return 0;
    return std::stoull(r.body.substr(at + name_and_labels.size() + 2));
  }

  std::string sql1(const std::string& query) {
    std::string out = cluster().sql(query);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  static inline std::string web_extra_;     // for TestCluster::set_web_extra, set by a subclass
  static inline std::string admin_secret_;  // for TestCluster::set_admin_secret, likewise
  static inline TestCluster* shared_ = nullptr;
  static inline std::string* setup_error_ = nullptr;
};

}  // namespace appmsg::test_app
