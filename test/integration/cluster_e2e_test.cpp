// End to end: the built daemons (two message nodes, two comets, one web) with a real ZooKeeper
// and Redis, all child processes of this test (test/support/cluster.hpp), driven only through
// their public interfaces: web's public and admin HTTP APIs, the comets' TCP and WebSocket
// client protocols, web's /stat.
//
// Covers: routing a client to its comet and an admin push reaching it (TCP and WebSocket),
// offline messages fetched in push order, a batch push across both comets, JSONP answers that
// a JavaScript engine runs, resuming from a mid while pushes keep coming (every message once,
// in order), and recovery from a killed comet, a killed message node, a ZooKeeper restart and a
// ring change (migration).
//
// The tests that break nothing share one cluster (ClusterE2ETest); each test that kills or
// restarts something gets a fresh one (ClusterFailureTest). Every wait is a bounded poll or a
// read with a deadline; the bounds are generous, never a measure of speed. On a failure the
// tails of the daemons' logs are printed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/http.hpp"
#include "support/async.hpp"
#include "support/cluster.hpp"
#include "support/servers.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;
using test::Proto;
using test::Subscriber;
using test::TestCluster;
using Clock = std::chrono::steady_clock;

test::ClusterBinaries binaries() {
  return {APPMSG_COMET_BIN, APPMSG_MESSAGE_BIN, APPMSG_WEB_BIN};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The program's path if it is in PATH, else "".
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// Shared by both fixtures: the cluster under test and the assertions on it.
class ClusterTestBase : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << "\nDaemon logs:\n" << cluster_->log_tails();
  }

  TestCluster& cluster() { return *cluster_; }

  std::optional<int64_t> push(const std::string& key, const json& msg, int64_t expire) {
    std::string error;
    auto mid = cluster_->push(key, msg.dump(), expire, &error);
    EXPECT_TRUE(mid) << "push to " << key << ": " << error;
    return mid;
  }

  // /1/msg/get?k=key&m=mid: the messages ({"msg":..,"mid":N,"gid":0}), [] when none.
  json stored(const std::string& key, int64_t after) {
    auto r = cluster_->get("/1/msg/get?k=" + url_encode(key) + "&m=" + std::to_string(after));
    EXPECT_EQ(r.status, 200) << r.error;
    json j = r.json();
    EXPECT_TRUE(j.is_object() && j.value("ret", -1) == 0) << r.body;
    if (!j.is_object() || !j.contains("data")) return json::array();
    return j["data"].value("msgs", json::array());
  }

  // The next message on `sub` is `msg` with `mid` (and gid 0).
  void expect_message(Subscriber& sub, int64_t mid, const json& msg, const std::string& who) {
    auto m = sub.next(5s);
    ASSERT_TRUE(m) << who << ": no message: " << sub.error();
    EXPECT_EQ(*m, (json{{"msg", msg}, {"mid", mid}, {"gid", 0}})) << who;
  }

  TestCluster* cluster_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// One cluster for the tests that leave it as they found it.

class ClusterE2ETest : public ClusterTestBase {
 protected:
  static void SetUpTestSuite() {
    try {
      auto c = std::make_unique<TestCluster>(binaries());
      c->start();
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
    cluster_ = shared_;
  }

  static TestCluster* shared_;
  static std::string* setup_error_;
};

TestCluster* ClusterE2ETest::shared_ = nullptr;
std::string* ClusterE2ETest::setup_error_ = nullptr;

TEST_F(ClusterE2ETest, ClientGetsItsCometAndReceivesAnAdminPush) {
  const std::string key = "e2e-first@user";
  auto r = cluster().get("/1/server/get?k=" + url_encode(key) + "&p=2");
  ASSERT_EQ(r.status, 200) << r.error;
  json j = r.json();
  ASSERT_TRUE(j.is_object() && j.value("ret", -1) == 0) << r.body;
  const std::string tcp = j["data"].value("server", "");
  int n = tcp == cluster().comet_tcp(1) ? 1 : tcp == cluster().comet_tcp(2) ? 2 : 0;
  ASSERT_NE(n, 0) << "not a comet's TCP address: " << r.body;
  EXPECT_EQ(j, (json{{"data", {{"server", tcp}}}, {"ret", 0}}));
  const std::string ws = cluster().server_for(key, Proto::websocket);
  EXPECT_EQ(ws, cluster().comet_ws(n)) << "p=1 must name the same comet's WebSocket listener";

  Subscriber tcp_client(Proto::tcp, tcp, key);
  ASSERT_TRUE(tcp_client.subscribed()) << tcp_client.error();
  Subscriber ws_client(Proto::websocket, ws, key);
  ASSERT_TRUE(ws_client.subscribed()) << ws_client.error();

  const json msg = {{"text", "hello <world> & you"}, {"n", 1}, {"list", {1, 2, 3}}};
  auto mid = push(key, msg, 0);
  ASSERT_TRUE(mid);
  expect_message(tcp_client, *mid, msg, "TCP client");
  expect_message(ws_client, *mid, msg, "WebSocket client");
}

TEST_F(ClusterE2ETest, OfflinePushIsFetchedAfterReconnectInOrder) {
  const std::string key = "e2e-offline@user";
  std::vector<int64_t> mids;
  for (int i = 0; i < 3; ++i) {
    auto mid = push(key, json{{"seq", i}}, 600);
    ASSERT_TRUE(mid);
    mids.push_back(*mid);
  }
  ASSERT_LT(mids[0], mids[1]);
  ASSERT_LT(mids[1], mids[2]);

  json all = stored(key, 0);
  ASSERT_EQ(all.size(), 3u) << all.dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(all[i], (json{{"msg", {{"seq", i}}}, {"mid", mids[i]}, {"gid", 0}})) << i;
  }
  json rest = stored(key, mids[0]);
  ASSERT_EQ(rest.size(), 2u) << rest.dump();
  EXPECT_EQ(rest[0]["mid"], mids[1]);
  EXPECT_EQ(rest[1]["mid"], mids[2]);
  EXPECT_TRUE(stored(key, mids[2]).empty());

  // The client that comes back resumes from the mid it had: it gets the other two, in order.
  Subscriber back(Proto::tcp, cluster().server_for(key, Proto::tcp), key, mids[0]);
  ASSERT_TRUE(back.subscribed()) << back.error();
  expect_message(back, mids[1], json{{"seq", 1}}, "resumed client");
  expect_message(back, mids[2], json{{"seq", 2}}, "resumed client");
}

TEST_F(ClusterE2ETest, BatchPushReachesKeysOnBothComets) {
  const std::string k1 = cluster().key_on(1, "e2e-batch-a");
  const std::string k2 = cluster().key_on(2, "e2e-batch-b");
  Subscriber c1(Proto::tcp, cluster().comet_tcp(1), k1);
  ASSERT_TRUE(c1.subscribed()) << c1.error();
  Subscriber c2(Proto::websocket, cluster().comet_ws(2), k2);
  ASSERT_TRUE(c2.subscribed()) << c2.error();

  const json msg = {{"batch", true}, {"text", "to both"}};
  auto r = cluster().admin_post("/1/admin/push/mprivate?expire=0",
                                json{{"k", {k1, k2}}, {"m", msg}}.dump());
  ASSERT_EQ(r.status, 200) << r.error;
  json j = r.json();
  ASSERT_TRUE(j.is_object() && j.value("ret", -1) == 0) << r.body;
  EXPECT_EQ(j["data"]["fk"], json::array()) << r.body;
  ASSERT_EQ(j["data"]["mids"].size(), 2u) << r.body;
  int64_t mid1 = j["data"]["mids"][0], mid2 = j["data"]["mids"][1];
  EXPECT_GT(mid1, 0);
  EXPECT_GT(mid2, 0);
  expect_message(c1, mid1, msg, "client of " + k1 + " on node1");
  expect_message(c2, mid2, msg, "client of " + k2 + " on node2");
}

TEST_F(ClusterE2ETest, JsonpResponsesAreValidJavascript) {
  const std::string key = "e2e-jsonp@user";
  auto mid = push(key, json{{"jsonp", "a \"quoted\" </script> text"}}, 600);
  ASSERT_TRUE(mid);
  const std::string k = url_encode(key);
  struct Case {
    std::string callback, target, plain;  // plain: the same request without the callback
  };
  const std::vector<Case> cases = {
      {"cbServer", "/1/server/get?k=" + k + "&p=2&cb=cbServer", "/1/server/get?k=" + k + "&p=2"},
      {"cbMsgs", "/1/msg/get?k=" + k + "&m=0&cb=cbMsgs", "/1/msg/get?k=" + k + "&m=0"},
      {"cbTime", "/1/time/get?cb=cbTime", ""},
      {"GoPushCli.callback_1", "/server/get?key=" + k + "&proto=2&callback=GoPushCli.callback_1",
       "/server/get?key=" + k + "&proto=2"},
  };
  std::string script =
      "var calls = [];\n"
      "function cbServer(o) { calls.push(['cbServer', o]); }\n"
      "function cbMsgs(o) { calls.push(['cbMsgs', o]); }\n"
      "function cbTime(o) { calls.push(['cbTime', o]); }\n"
      "var GoPushCli = { callback_1: function (o) { calls.push(['GoPushCli.callback_1', o]); } "
      "};\n";
  json expected_calls = json::array();
  for (auto& c : cases) {
    SCOPED_TRACE(c.target);
    auto r = cluster().get(c.target);
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.content_type.rfind("application/javascript", 0), 0u) << r.content_type;
    const std::string& body = r.body;
    ASSERT_GT(body.size(), c.callback.size() + 2) << body;
    ASSERT_EQ(body.substr(0, c.callback.size() + 1), c.callback + "(") << body;
    ASSERT_EQ(body.back(), ')') << body;
    std::string inner = body.substr(c.callback.size() + 1, body.size() - c.callback.size() - 2);
    json value = json::parse(inner, nullptr, false);
    ASSERT_FALSE(value.is_discarded()) << "not JSON between the parentheses: " << body;
    EXPECT_EQ(value.value("ret", -1), 0) << body;
    if (!c.plain.empty()) {
      auto plain = cluster().get(c.plain);
      EXPECT_EQ(inner, plain.body) << "the JSONP body must wrap exactly the JSON answer";
      EXPECT_EQ(plain.content_type.rfind("application/json", 0), 0u) << plain.content_type;
    } else {
      EXPECT_TRUE(value["data"]["timeid"].is_number_integer()) << body;
    }
    script += body + ";\n";
    expected_calls.push_back(json::array({c.callback, value}));
  }
  script += "process.stdout.write(JSON.stringify(calls));\n";

  const std::string node = find_program("node");
  if (node.empty()) {
    std::cout << "[ INFO     ] node not in PATH: the JSONP bodies were not run\n";
    return;
  }
  test::TempDir dir;
  const std::string out = dir.path() + "/node.out";
  test::ChildProcess js;
  js.spawn({node, "-e", script}, out, dir.path());
  int status = js.wait_exit(30s);
  ASSERT_NE(status, -1) << "node did not finish";
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "node failed on the JSONP bodies:\n"
                                                             << read_file(out) << "\nscript:\n"
                                                             << script;
  json calls = json::parse(read_file(out), nullptr, false);
  ASSERT_FALSE(calls.is_discarded()) << read_file(out);
  EXPECT_EQ(calls, expected_calls) << "each callback must be called once, with the object";
}

// A body is checked once at web and then carried as pushed: keys in their order at every level,
// spaces inside strings, a unicode escape and a '<' unchanged, in every way a client can get it
// back. The version-1 format carries the body as JSON with the whitespace between tokens
// removed; the original format (no version) carries the raw text, whitespace and all.
TEST_F(ClusterE2ETest, PushedBodyComesBackAsPushedOverEveryPath) {
  const std::string key = "e2e-fidelity@user";
  const std::string body =
      R"({"z": 1, "a": {"y": "caf\u00e9 <b>",  "b": [3, {"q": true, "c": null}]}, "m": "x  y"})";
  const std::string compact =
      R"({"z":1,"a":{"y":"caf\u00e9 <b>","b":[3,{"q":true,"c":null}]},"m":"x  y"})";
  auto as_json = [&](int64_t mid) {
    return R"({"msg":)" + compact + R"(,"mid":)" + std::to_string(mid) + R"(,"gid":0})";
  };
  // An original-format message: {"msg":"<the raw body>","mid":N,"gid":0}, in that order.
  auto expect_text = [&](const std::string& raw, int64_t mid, const std::string& who) {
    json j = json::parse(raw, nullptr, false);
    ASSERT_TRUE(j.is_object()) << who << ": " << raw;
    EXPECT_EQ(j.value("msg", ""), body) << who << ": " << raw;
    EXPECT_EQ(j.value("mid", int64_t{0}), mid) << who;
    EXPECT_EQ(raw.rfind(R"({"msg":")", 0), 0u) << who << ": " << raw;
    EXPECT_NE(raw.find(R"(","mid":)" + std::to_string(mid) + R"(,"gid":0})"), std::string::npos)
        << who << ": " << raw;
  };
  const std::string tcp = cluster().server_for(key, Proto::tcp);
  const std::string ws = cluster().server_for(key, Proto::websocket);
  struct Client {
    Proto proto;
    test::Format format;
    std::string name;
  };
  const std::vector<Client> clients = {{Proto::tcp, test::Format::json, "TCP version 1"},
                                       {Proto::tcp, test::Format::text, "TCP original"},
                                       {Proto::websocket, test::Format::json, "WS version 1"},
                                       {Proto::websocket, test::Format::text, "WS original"}};
  std::vector<std::unique_ptr<Subscriber>> live;
  for (auto& c : clients) {
    live.push_back(std::make_unique<Subscriber>(c.proto, c.proto == Proto::tcp ? tcp : ws, key,
                                                std::nullopt, 5s, c.format));
    ASSERT_TRUE(live.back()->subscribed()) << c.name << ": " << live.back()->error();
  }
  auto before = push(key, json{{"before", 1}}, 600);
  ASSERT_TRUE(before);
  std::string error;
  auto mid = cluster().push(key, body, 600, &error);
  ASSERT_TRUE(mid) << error;

  for (size_t i = 0; i < clients.size(); ++i) {
    SCOPED_TRACE("live " + clients[i].name);
    ASSERT_TRUE(live[i]->next_raw()) << live[i]->error();  // the message before
    auto raw = live[i]->next_raw();
    ASSERT_TRUE(raw) << live[i]->error();
    if (clients[i].format == test::Format::json) {
      EXPECT_EQ(*raw, as_json(*mid));
    } else {
      expect_text(*raw, *mid, clients[i].name);
    }
  }
  for (auto& c : clients) {
    SCOPED_TRACE("resumed " + c.name);
    Subscriber back(c.proto, c.proto == Proto::tcp ? tcp : ws, key, *before, 5s, c.format);
    ASSERT_TRUE(back.subscribed()) << back.error();
    auto raw = back.next_raw();
    ASSERT_TRUE(raw) << back.error();
    if (c.format == test::Format::json) {
      EXPECT_EQ(*raw, as_json(*mid));
    } else {
      expect_text(*raw, *mid, c.name);
    }
  }

  const std::string k = url_encode(key);
  const std::string after = std::to_string(*before);
  auto v1 = cluster().get("/1/msg/get?k=" + k + "&m=" + after);
  ASSERT_EQ(v1.status, 200) << v1.error;
  EXPECT_EQ(v1.body, R"({"data":{"msgs":[)" + as_json(*mid) + R"(]},"ret":0})");
  auto jsonp = cluster().get("/1/msg/get?k=" + k + "&m=" + after + "&cb=f");
  ASSERT_EQ(jsonp.status, 200) << jsonp.error;
  EXPECT_EQ(jsonp.body, "f(" + v1.body + ")");

  auto old = cluster().get("/msg/get?key=" + k + "&mid=" + after);
  ASSERT_EQ(old.status, 200) << old.error;
  json j = old.json();
  ASSERT_TRUE(j.is_object() && j["data"]["msgs"].is_array() && j["data"]["msgs"].size() == 1)
      << old.body;
  ASSERT_TRUE(j["data"]["msgs"][0].is_string()) << old.body;
  expect_text(j["data"]["msgs"][0].get<std::string>(), *mid, "/msg/get");
}

// One definition of the limits in every daemon: a key of exactly 255 bytes and a body of
// exactly 65,535 bytes are accepted by web, delivered by the comet over TCP and WebSocket,
// stored by a message node and read back; one byte more is refused at web, and the comet
// refuses the 256-byte key too.
TEST_F(ClusterE2ETest, KeyAndBodyLimitsHoldExactlyAcrossTheDaemons) {
  const std::string key = "e2e-limit@user" + std::string(255 - 14, 'k');
  ASSERT_EQ(key.size(), 255u);
  const std::string tcp = cluster().server_for(key, Proto::tcp);
  Subscriber tcp_sub(Proto::tcp, tcp, key);
  ASSERT_TRUE(tcp_sub.subscribed()) << tcp_sub.error();
  Subscriber ws_sub(Proto::websocket, cluster().server_for(key, Proto::websocket), key);
  ASSERT_TRUE(ws_sub.subscribed()) << ws_sub.error();
  const std::string body = R"({"p":")" + std::string(65535 - 8, 'b') + R"("})";
  ASSERT_EQ(body.size(), 65535u);
  std::string error;
  auto mid = cluster().push(key, body, 600, &error);
  ASSERT_TRUE(mid) << error;
  const std::string framed =
      R"({"msg":)" + body + R"(,"mid":)" + std::to_string(*mid) + "," + R"("gid":0})";
  EXPECT_EQ(tcp_sub.next_raw(), framed);
  EXPECT_EQ(ws_sub.next_raw(), framed);
  auto page = cluster().get("/1/msg/get?k=" + url_encode(key) + "&m=0");
  EXPECT_EQ(page.body, R"({"data":{"msgs":[)" + framed + R"(]},"ret":0})");

  auto over_body = cluster().admin_post(
      "/1/admin/push/private?key=" + url_encode(key) + "&expire=600", body + " ");
  EXPECT_EQ(over_body.json(), (json{{"ret", 65534}})) << over_body.body;
  const std::string long_key = key + "k";
  auto over_key = cluster().admin_post(
      "/1/admin/push/private?key=" + url_encode(long_key) + "&expire=600", "{}");
  EXPECT_EQ(over_key.json(), (json{{"ret", 65534}})) << over_key.body;
  Subscriber refused(Proto::tcp, tcp, long_key);
  EXPECT_FALSE(refused.subscribed()) << "the comet takes keys of at most 255 bytes";
  EXPECT_FALSE(tcp_sub.next_raw(300ms)) << "nothing over a limit is delivered";
}

// A client that keeps disconnecting and resuming from the last mid it saw, over TCP and
// WebSocket, while a steady stream of stored pushes goes to its key: across all its connections
// it sees every pushed message exactly once, in push order.
TEST_F(ClusterE2ETest, ResumeWhilePushesKeepComingGetsEveryMessageOnceInOrder) {
  constexpr int kPushes = 300;
  const std::string key = "e2e-resume@user";
  const std::string tcp = cluster().server_for(key, Proto::tcp);
  const std::string ws = cluster().server_for(key, Proto::websocket);
  ASSERT_FALSE(tcp.empty());
  ASSERT_FALSE(ws.empty());

  auto sub = std::make_unique<Subscriber>(Proto::tcp, tcp, key);
  ASSERT_TRUE(sub->subscribed()) << sub->error();

  std::mutex mu;
  std::vector<int64_t> pushed;  // in push order
  std::string push_error;
  std::atomic<bool> pushing{true};
  std::thread pusher([&] {
    for (int i = 0; i < kPushes; ++i) {
      std::string error;
      auto mid = cluster().push(key, json{{"seq", i}}.dump(), 600, &error);
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!mid) {
          push_error = "push " + std::to_string(i) + ": " + error;
          break;
        }
        pushed.push_back(*mid);
      }
      std::this_thread::sleep_for(3ms);  // a steady stream, not a burst
    }
    pushing = false;
  });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{pusher};

  // Disconnect after this many messages in all, and come back over this protocol.
  const std::vector<std::pair<size_t, Proto>> plan = {
      {20, Proto::tcp},  {60, Proto::tcp},        {100, Proto::websocket},
      {150, Proto::tcp}, {200, Proto::websocket}, {250, Proto::tcp},
  };
  size_t step = 0;
  int reconnects_while_pushing = 0;
  std::vector<int64_t> received;
  std::vector<json> bodies;
  std::string failure;
  while (received.size() < kPushes) {
    if (step < plan.size() && received.size() >= plan[step].first) {
      sub->close();
      reconnects_while_pushing += pushing ? 1 : 0;
      std::this_thread::sleep_for(20ms);  // pushes go on while it is away
      Proto proto = plan[step].second;
      sub =
          std::make_unique<Subscriber>(proto, proto == Proto::tcp ? tcp : ws, key, received.back());
      if (!sub->subscribed()) {
        failure = "resubscribe " + std::to_string(step) + ": " + sub->error();
        break;
      }
      ++step;
      continue;
    }
    auto m = sub->next(10s);
    if (!m) {
      std::lock_guard<std::mutex> lock(mu);
      failure = "after " + std::to_string(received.size()) + " messages (" +
                std::to_string(pushed.size()) + " pushed, connection " + std::to_string(step) +
                "): " + sub->error();
      break;
    }
    int64_t mid = (*m)["mid"].get<int64_t>();
    if (!received.empty() && mid <= received.back()) {
      failure = "mid " + std::to_string(mid) + " after " + std::to_string(received.back()) +
                " (message " + std::to_string(received.size()) + ", connection " +
                std::to_string(step) + "): a duplicate or out of order";
      break;
    }
    received.push_back(mid);
    bodies.push_back((*m)["msg"]);
  }
  pusher.join();
  ASSERT_EQ(push_error, "");
  ASSERT_EQ(failure, "");
  EXPECT_EQ(step, plan.size());
  EXPECT_GE(reconnects_while_pushing, 1) << "the pushes were over before the first reconnect";
  ASSERT_EQ(received, pushed);
  for (size_t i = 0; i < bodies.size(); ++i) {
    ASSERT_EQ(bodies[i], (json{{"seq", i}})) << "message " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// A fresh cluster for each test that breaks something.

class ClusterFailureTest : public ClusterTestBase {
 protected:
  virtual test::ConfigStyle config_style() const { return test::ConfigStyle::ours; }
  void SetUp() override {
    owned_ = std::make_unique<TestCluster>(binaries(), config_style());
    cluster_ = owned_.get();  // TearDown prints its logs if the start fails
    try {
      owned_->start();
    } catch (const std::exception& e) {
      FAIL() << "the cluster did not start: " << e.what();
    }
  }

  std::unique_ptr<TestCluster> owned_;
};

TEST_F(ClusterFailureTest, KilledCometLeavesRoutingAndItsKeysMove) {
  const std::string key = cluster().key_on(2, "e2e-killed");
  cluster().kill_comet(2);
  auto killed = Clock::now();

  // Its ZooKeeper session (4 s) expires, then web drops it from the ring.
  ASSERT_TRUE(eventually(
      [&] { return cluster().server_for(key, Proto::tcp) == cluster().comet_tcp(1); }, 15s))
      << "web still routes " << key << " to " << cluster().server_for(key, Proto::tcp);
  auto moved_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed);
  std::cout << "[ INFO     ] web routed to node1 " << moved_after.count() << " ms after the kill\n";
  EXPECT_EQ(cluster().stat().value("ring", json()), json::array({"node1"}));
  EXPECT_EQ(cluster().server_for(key, Proto::websocket), cluster().comet_ws(1));

  Subscriber client(Proto::tcp, cluster().comet_tcp(1), key);
  ASSERT_TRUE(client.subscribed()) << client.error();
  const json msg = {{"after", "failover"}};
  auto mid = push(key, msg, 0);
  ASSERT_TRUE(mid);
  expect_message(client, *mid, msg, "client moved to node1");
}

TEST_F(ClusterFailureTest, KilledMessageNodePushesKeepSucceeding) {
  const std::string key = "e2e-store@user";
  auto before = push(key, json{{"seq", -1}}, 600);
  ASSERT_TRUE(before);
  cluster().kill_message(1);

  // Within 10 s, 20 stored pushes in a row succeed (with a healthy node left, none should
  // fail at all: each failure is reported).
  std::vector<int64_t> ok;
  std::vector<std::string> errors;
  int in_a_row = 0;
  auto deadline = Clock::now() + 10s;
  for (int i = 0; in_a_row < 20 && Clock::now() < deadline; ++i) {
    std::string error;
    auto mid = cluster().push(key, json{{"seq", i}}.dump(), 600, &error);
    if (mid) {
      ok.push_back(*mid);
      ++in_a_row;
    } else {
      errors.push_back(error);
      in_a_row = 0;
      std::this_thread::sleep_for(100ms);
    }
  }
  ASSERT_GE(in_a_row, 20) << errors.size()
                          << " failed pushes, the last: " << (errors.empty() ? "" : errors.back());
  EXPECT_TRUE(errors.empty()) << errors.size()
                              << " pushes failed before 20 in a row, the first: " << errors.front();

  // Web reads them through the node that is left; the one stored before the kill too.
  json all = stored(key, 0);
  std::vector<int64_t> mids;
  for (auto& m : all) mids.push_back(m["mid"].get<int64_t>());
  EXPECT_TRUE(std::is_sorted(mids.begin(), mids.end())) << all.dump();
  EXPECT_EQ(std::count(mids.begin(), mids.end(), *before), 1) << "stored before the kill";
  for (int64_t mid : ok) EXPECT_EQ(std::count(mids.begin(), mids.end(), mid), 1) << mid;
}

// One of two message nodes stopped (SIGSTOP: connected, silent). Stored pushes answer 0 (the
// comet gives each node a share of store.timeout, then stores on the other) or 1004
// (delivered, not stored), never "outcome unknown" or "not delivered"; live-only pushes made
// while a stored push waits on the stopped node are answered and delivered meanwhile.
TEST_F(ClusterFailureTest, StoppedMessageNodeNeitherBlocksLivePushesNorHangsStoredOnes) {
  const std::string live_keys[2] = {cluster().key_on(1, "e2e-stall-live"),
                                    cluster().key_on(2, "e2e-stall-live")};
  const std::string stored_keys[2] = {cluster().key_on(1, "e2e-stall-stored"),
                                      cluster().key_on(2, "e2e-stall-stored")};
  std::vector<std::unique_ptr<Subscriber>> live_subs, stored_subs;
  for (int i = 0; i < 2; ++i) {
    live_subs.push_back(
        std::make_unique<Subscriber>(Proto::tcp, cluster().comet_tcp(i + 1), live_keys[i]));
    stored_subs.push_back(
        std::make_unique<Subscriber>(Proto::tcp, cluster().comet_tcp(i + 1), stored_keys[i]));
    ASSERT_TRUE(live_subs.back()->subscribed()) << live_subs.back()->error();
    ASSERT_TRUE(stored_subs.back()->subscribed()) << stored_subs.back()->error();
  }
  struct Timed {
    Clock::time_point start, end;
    int ret = -1;
    int64_t mid = 0;
    std::optional<json> received;  // stored pushes: what their subscriber got
    std::string receive_error;
  };
  auto timed_push = [&](const std::string& key, int seq, int64_t expire) {
    Timed t;
    t.start = Clock::now();
    auto r = cluster().admin_post(
        "/1/admin/push/private?key=" + url_encode(key) + "&expire=" + std::to_string(expire),
        json{{"seq", seq}}.dump());
    t.end = Clock::now();
    json j = r.json();
    if (j.is_object()) {
      t.ret = j.value("ret", -1);
      if (j.contains("data")) t.mid = j["data"].value("mid", int64_t{0});
    }
    return t;
  };

  cluster().pause_message(1);
  // Stored pushes for 3 s (at most 1,000), alternating the comets. Each comet starts one of its
  // first two on the stopped node, which waits there; from then on the node gets no calls,
  // only pings, past the 1 s [rpc] retry too. Each one's message is read as soon as it is
  // answered (delivery comes first), so that its subscriber never becomes a slow consumer,
  // which the comet would close.
  std::vector<Timed> saves;
  std::atomic<bool> stored_done{false};
  std::thread storer([&] {
    auto until = Clock::now() + 3s;
    for (int i = 0; i < 1000 && (i < 4 || Clock::now() < until); ++i) {
      Timed t = timed_push(stored_keys[i % 2], i, 600);
      t.received = stored_subs[i % 2]->next(5s);
      if (!t.received) t.receive_error = stored_subs[i % 2]->error();
      saves.push_back(std::move(t));
    }
    stored_done = true;
  });
  std::vector<Timed> live;
  for (int i = 0; !stored_done || live.size() < 2; ++i) {
    live.push_back(timed_push(live_keys[i % 2], i, 0));
    EXPECT_EQ(live.back().ret, 0) << "live-only push " << i;
    auto m = live_subs[i % 2]->next(5s);
    ASSERT_TRUE(m) << "live-only push " << i << ": " << live_subs[i % 2]->error();
    EXPECT_EQ((*m)["msg"], (json{{"seq", i}}));
  }
  storer.join();
  cluster().resume_message(1);

  const int kStored = static_cast<int>(saves.size());
  int waited = 0, live_meanwhile = 0, waited_on[2] = {0, 0};
  for (int i = 0; i < kStored; ++i) {
    SCOPED_TRACE("stored push " + std::to_string(i));
    EXPECT_TRUE(saves[i].ret == 0 || saves[i].ret == 1004) << "ret " << saves[i].ret;
    ASSERT_TRUE(saves[i].received) << saves[i].receive_error;
    EXPECT_EQ((*saves[i].received)["msg"], (json{{"seq", i}}));
    if (saves[i].ret == 0) {
      json page = stored(stored_keys[i % 2], saves[i].mid - 1);
      ASSERT_FALSE(page.empty()) << "answered 0 but not stored";
      EXPECT_EQ(page[0]["mid"], saves[i].mid);
    }
    // A push that took half of store.timeout (2 s) waited on the stopped node.
    if (saves[i].end - saves[i].start < 900ms) continue;
    ++waited;
    ++waited_on[i % 2];
    for (auto& l : live) live_meanwhile += l.start > saves[i].start && l.end < saves[i].end;
  }
  std::cout << "[ INFO     ] " << waited << " of " << kStored
            << " stored pushes waited on the stopped node; " << live.size() << " live-only pushes, "
            << live_meanwhile << " answered during such a wait\n";
  EXPECT_EQ(waited_on[0], 1) << "comet 1: only its first call to the stopped node may wait";
  EXPECT_EQ(waited_on[1], 1) << "comet 2: only its first call to the stopped node may wait";
  EXPECT_GE(live_meanwhile, 1) << "no live-only push was answered while a stored one waited";
}

TEST_F(ClusterFailureTest, ZookeeperRestartClusterRecovers) {
  const std::string k1 = cluster().key_on(1, "e2e-zk");
  const std::string k2 = cluster().key_on(2, "e2e-zk");
  Subscriber c1(Proto::tcp, cluster().comet_tcp(1), k1);
  ASSERT_TRUE(c1.subscribed()) << c1.error();
  Subscriber c2(Proto::websocket, cluster().comet_ws(2), k2);
  ASSERT_TRUE(c2.subscribed()) << c2.error();

  auto restarted = Clock::now();
  cluster().restart_zookeeper();
  auto deadline = restarted + 30s;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  ASSERT_TRUE(cluster().wait_ring({"node1", "node2"}, left()))
      << "ring after the restart: " << cluster().stat().dump();

  // A stored push to each client succeeds again within the bound, and reaches it (a push that
  // failed to store may still have been delivered: those come first, with lower mids).
  for (auto [key, client] : {std::pair{k1, &c1}, std::pair{k2, &c2}}) {
    SCOPED_TRACE(key);
    const json msg = {{"after", "zookeeper restart"}};
    std::optional<int64_t> mid;
    std::string error;
    eventually(
        [&] {
          mid = cluster().push(key, msg.dump(), 600, &error);
          return mid.has_value();
        },
        std::max(left(), std::chrono::milliseconds(0)));
    ASSERT_TRUE(mid) << "no push succeeded within 30 s of the restart; the last: " << error;
    std::optional<json> got;
    while ((got = client->next(5s)) && (*got)["mid"].get<int64_t>() < *mid) {
    }
    ASSERT_TRUE(got) << client->error();
    EXPECT_EQ(*got, (json{{"msg", msg}, {"mid", *mid}, {"gid", 0}}));
    json all = stored(key, *mid - 1);
    ASSERT_EQ(all.size(), 1u) << all.dump();
    EXPECT_EQ(all[0]["mid"], *mid);
  }
  std::cout
      << "[ INFO     ] recovered "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted).count()
      << " ms after the restart began\n";
}

TEST_F(ClusterFailureTest, MigrateMovesClientsAfterRingChange) {
  const std::string moved = cluster().key_on(2, "e2e-moved");  // node2's in the full ring
  const std::string stays = cluster().key_on(1, "e2e-stays");
  cluster().stop_comet(2);  // SIGTERM: it leaves ZooKeeper at once
  ASSERT_TRUE(eventually(
      [&] { return cluster().server_for(moved, Proto::tcp) == cluster().comet_tcp(1); }, 10s))
      << "web still routes " << moved << " to " << cluster().server_for(moved, Proto::tcp);

  Subscriber moved_tcp(Proto::tcp, cluster().comet_tcp(1), moved);
  ASSERT_TRUE(moved_tcp.subscribed()) << moved_tcp.error();
  Subscriber moved_ws(Proto::websocket, cluster().comet_ws(1), moved);
  ASSERT_TRUE(moved_ws.subscribed()) << moved_ws.error();
  Subscriber staying(Proto::tcp, cluster().comet_tcp(1), stays);
  ASSERT_TRUE(staying.subscribed()) << staying.error();

  cluster().start_comet(2);  // returns once web's ring is [node1, node2] again
  // Web calls migrate (after 200 ms of quiet) with grace 500 ms: then node1 closes the
  // connections of the keys it no longer owns.
  EXPECT_TRUE(moved_tcp.closed_by_server(5s)) << moved_tcp.error();
  EXPECT_TRUE(moved_ws.closed_by_server(5s)) << moved_ws.error();
  EXPECT_EQ(moved_ws.close_code(), 1012) << "a migrated WebSocket client gets 1012";
  EXPECT_EQ(moved_tcp.skipped() + moved_ws.skipped(), 0);

  // node1 keeps the key it still owns.
  const json msg = {{"still", "here"}};
  auto mid = push(stays, msg, 0);
  ASSERT_TRUE(mid);
  expect_message(staying, *mid, msg, "client of a key node1 keeps");

  // The moved client asks again and lands on node2, which delivers.
  ASSERT_EQ(cluster().server_for(moved, Proto::tcp), cluster().comet_tcp(2));
  Subscriber again(Proto::tcp, cluster().comet_tcp(2), moved);
  ASSERT_TRUE(again.subscribed()) << again.error();
  const json msg2 = {{"moved", "to node2"}};
  auto mid2 = push(moved, msg2, 0);
  ASSERT_TRUE(mid2);
  expect_message(again, *mid2, msg2, "client back on node2");
}

// Two comets and two message nodes on one host, each started from a file with only the
// original's keys (message nodes and web with no stat.bind: their pprof.bind is the stats
// listener), start, find each other and serve: no two daemons reach for the same default port.
class ClusterOriginalConfigTest : public ClusterFailureTest {
 protected:
  test::ConfigStyle config_style() const override { return test::ConfigStyle::original; }
};

TEST_F(ClusterOriginalConfigTest, TwoOfEachDaemonOnOneHostStartAndServe) {
  for (int n = 1; n <= TestCluster::kMessageNodes; ++n) {
    auto r = test::http_request(cluster().message_stat(n), "GET", "/metrics");
    EXPECT_EQ(r.status, 200) << "message node " << n << " stats on its pprof.bind: " << r.error;
  }
  EXPECT_EQ(cluster().stat().value("message_nodes", json()).size(), 2u) << cluster().stat();
  for (int n = 1; n <= TestCluster::kComets; ++n) {
    SCOPED_TRACE("comet " + std::to_string(n));
    const std::string key = cluster().key_on(n, "orig-conf");
    Subscriber client(Proto::tcp, cluster().comet_tcp(n), key);
    ASSERT_TRUE(client.subscribed()) << client.error();
    const json msg = {{"n", n}};
    auto mid = push(key, msg, 600);
    ASSERT_TRUE(mid);
    expect_message(client, *mid, msg, "client on comet " + std::to_string(n));
    EXPECT_EQ(stored(key, 0), json::array({json{{"msg", msg}, {"mid", *mid}, {"gid", 0}}}));
  }
}

}  // namespace
}  // namespace appmsg
