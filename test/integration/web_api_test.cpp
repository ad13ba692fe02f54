// Web's public and admin API against the spec's vectors (spec/web-core.md 12.2), in-process:
// a WebService, a comet and a message node on loopback ports, with real ZooKeeper and Redis.
// The whole-cluster behaviour (separate processes, failures) is in cluster_e2e_test.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <set>

#include "common/http_client.hpp"
#include "common/rpc.hpp"
#include "common/zk_client.hpp"
#include "message/message_service.hpp"
#include "support/async.hpp"
#include "support/cluster.hpp"
#include "support/comet_harness.hpp"
#include "support/servers.hpp"
#include "web/web_service.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class WebApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    zk_server_ = new test::ZooKeeperServer();
    zk_server_->start();
    redis_server_ = new test::RedisServer();
    redis_server_->start();
  }
  static void TearDownTestSuite() {
    delete zk_server_;
    delete redis_server_;
  }

  void SetUp() override {
    id_ = test::unique_test_id();
    root_ = "/web_api_test_" + id_;
  }

  void TearDown() override {
    io_.call([&] {
      public_.reset();
      admin_.reset();
      stat_.reset();
    });
    if (web_) io_.run(web_->stop());
    io_.call([&] { web_.reset(); });
    test::stop_comet(io_, comet_);
    if (message_) io_.run(message_->stop());
    io_.call([&] { message_.reset(); });
  }

  void start_message_node() {
    message::MessageConfig c;
    c.rpc_bind = {"127.0.0.1:0"};
    c.stat_bind = {"127.0.0.1:0"};
    c.redis_sources = {{"redis1", 1, redis_server_->address()}};
    c.zk_addr = zk_server_->connect_string();
    c.zk_timeout = 10000ms;
    c.zk_path = root_ + "/message";
    message_ = io_.call([&] { return std::make_unique<message::MessageService>(io_.io(), c); });
    io_.run(message_->start());
  }

  void start_comet() {
    auto c = test::comet_test_config(zk_server_->connect_string(), root_, "node1");
    c.websocket_enabled = true;
    comet_ = test::start_comet(io_, c, 1);
  }

  void start_web(const std::string& admin_secret = "",
                 std::chrono::milliseconds rpc_timeout = 2000ms) {
    web::WebConfig c;
    c.http_bind = c.admin_bind = c.stat_bind = {"127.0.0.1:0"};
    c.zk_addr = zk_server_->connect_string();
    c.zk_timeout = 10000ms;
    c.comet_path = root_ + "/comet";
    c.message_path = root_ + "/message";
    c.rpc_timeout = rpc_timeout;
    c.rpc_retry = 500ms;
    c.admin_secret = admin_secret;
    web_ = io_.call([&] { return std::make_unique<web::WebService>(io_.io(), c); });
    io_.run(web_->start());
    public_ = test::http_client(io_, web_->http_addresses()[0]);
    admin_ = test::http_client(io_, web_->admin_addresses()[0]);
    stat_ = test::http_client(io_, web_->stat_addresses()[0]);
  }

  // Waits until web routes to `comets` comets and knows `messages` message nodes.
  void wait_for_web(size_t comets, size_t messages) {
    ASSERT_TRUE(test::eventually([&] {
      json s = json::parse(get(*stat_, "/stat").body);
      return s["ring"].size() == comets && s["message_nodes"].size() == messages;
    })) << get(*stat_, "/stat").body;
  }

  void start_all() {
    start_message_node();
    start_comet();
    start_web();
    wait_for_web(1, 1);
  }

  HttpResponse get(HttpClient& c, const std::string& target) {
    return io_.run(c.request("GET", target, "", {}, 5s));
  }
  HttpResponse post(HttpClient& c, const std::string& target, const std::string& body,
                    HttpFields headers = {}) {
    return io_.run(c.request("POST", target, body, std::move(headers), 5s));
  }
  std::string pub(const std::string& target) { return get(*public_, target).body; }
  std::string adm(const std::string& target, const std::string& body) {
    return post(*admin_, target, body).body;
  }
  std::string key(const std::string& name) const { return name + "_" + id_ + "@user"; }

  static test::ZooKeeperServer* zk_server_;
  static test::RedisServer* redis_server_;
  test::IoThread io_;
  // An RPC server whose `methods` accept calls and never answer (each call counted in
  // `calls`), and a ZooKeeper client to register it by hand. Returns its address.
  std::string start_hung(std::vector<const char*> methods, std::atomic<int>* calls = nullptr) {
    auto router = std::make_shared<HttpRouter>();
    for (const char* m : methods) {
      add_rpc_method(*router, m, "", [calls](const json&) -> boost::asio::awaitable<json> {
        if (calls) ++*calls;
        boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, 30s);
        co_await t.async_wait(boost::asio::use_awaitable);
        co_return json::object();
      });
    }
    hung_ = io_.call(
        [&] { return std::make_unique<HttpServer>(io_.executor(), HttpServerOptions{}, router); });
    uint16_t port = io_.call([&] { return hung_->listen("127.0.0.1:0"); });
    hung_zk_ = io_.call([&] {
      auto z = std::make_unique<ZkClient>(io_.executor(),
                                          ZkOptions{zk_server_->connect_string(), 10000ms});
      z->start();
      return z;
    });
    io_.run(hung_zk_->wait_connected(20s));
    return "127.0.0.1:" + std::to_string(port);
  }
  void stop_hung() {
    io_.call([&] {
      hung_zk_->close();
      hung_zk_.reset();
    });
    io_.run(hung_->stop(100ms));
    io_.call([&] { hung_.reset(); });
  }

  std::unique_ptr<HttpServer> hung_;
  std::unique_ptr<ZkClient> hung_zk_;
  std::string id_, root_;
  std::unique_ptr<message::MessageService> message_;
  std::unique_ptr<comet::CometService> comet_;
  std::unique_ptr<web::WebService> web_;
  std::unique_ptr<HttpClient> public_, admin_, stat_;
};

test::ZooKeeperServer* WebApiTest::zk_server_ = nullptr;
test::RedisServer* WebApiTest::redis_server_ = nullptr;

TEST_F(WebApiTest, server_get_vectors_1_to_11_and_35) {
  start_all();
  std::string ws = comet_->ws_addresses()[0], tcp = comet_->tcp_addresses()[0];
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=1"), R"({"data":{"server":")" + ws + R"("},"ret":0})");
  auto jsonp = get(*public_, "/1/server/get?k=u1%40user&p=2&cb=f");
  EXPECT_EQ(jsonp.body, R"(f({"data":{"server":")" + tcp + R"("},"ret":0}))");
  EXPECT_EQ(jsonp.content_type, "application/javascript;charset=utf-8");
  EXPECT_EQ(pub("/1/server/get?k=u1@user"), R"({"ret":65534})");
  EXPECT_EQ(pub("/1/server/get?p=1"), R"({"ret":65534})");
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=ws"), R"({"ret":65534})");
  // An unknown protocol is 1003, as documented (the original: 1001, and p=3 gave the comet's
  // RPC address, W-2).
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=9"), R"({"ret":1003})");
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=3"), R"({"ret":1003})");
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=0"), R"({"ret":1003})");
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=-1"), R"({"ret":1003})");
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=%2B1"),
            R"({"data":{"server":")" + ws + R"("},"ret":0})");
  auto wrong_method = post(*public_, "/1/server/get", "");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.body, "Method Not Allowed\n");
  EXPECT_EQ(pub("/server/get?key=u1@user&proto=1&callback=cb"),
            R"(cb({"data":{"server":")" + ws + R"("},"msg":"ok","ret":0}))");
  EXPECT_EQ(pub("/server/get?key=&proto=1"), R"({"msg":"ok","ret":65534})");
  EXPECT_EQ(get(*public_, "/1/server/get/").status, 404);
  // W-3: a callback that is not an identifier path is refused.
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=1&cb=alert(1)//"), R"({"ret":65534})");
}

TEST_F(WebApiTest, server_get_without_a_comet_is_1001) {
  start_message_node();
  start_web();
  wait_for_web(0, 1);
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=1"), R"({"ret":1001})");
  EXPECT_EQ(adm("/1/admin/push/private?key=u1@user&expire=600", R"({"test":3})"),
            R"({"ret":1001})");
}

TEST_F(WebApiTest, push_then_fetch_vectors_12_to_20_and_23_24) {
  start_all();
  std::string k = key("u1");
  std::vector<int64_t> mids;
  for (int i = 1; i <= 2; ++i) {
    json r = json::parse(adm("/1/admin/push/private?key=" + k + "&expire=600",
                             R"({"test":)" + std::to_string(i) + "}"));
    ASSERT_EQ(r["ret"], 0) << r;
    mids.push_back(r["data"]["mid"].get<int64_t>());
  }
  ASSERT_LT(mids[0], mids[1]);
  auto m = [&](int i) { return std::to_string(mids[i]); };
  EXPECT_EQ(pub("/1/msg/get?k=" + k + "&m=0"), R"({"data":{"msgs":[{"msg":{"test":1},"mid":)" +
                                                   m(0) + R"(,"gid":0},{"msg":{"test":2},"mid":)" +
                                                   m(1) + R"(,"gid":0}]},"ret":0})");
  EXPECT_EQ(pub("/1/msg/get?k=" + k + "&m=" + m(0)),
            R"({"data":{"msgs":[{"msg":{"test":2},"mid":)" + m(1) + R"(,"gid":0}]},"ret":0})");
  EXPECT_EQ(pub("/1/msg/get?k=" + k + "&m=" + m(1)), R"({"ret":0})");
  EXPECT_EQ(pub("/1/msg/get?k=" + k), R"({"ret":65534})");
  EXPECT_EQ(pub("/1/msg/get?k=" + k + "&m=abc"), R"({"ret":65534})");
  EXPECT_EQ(pub("/1/msg/get?k=" + k + "&m=-1"), R"({"ret":65535})");
  EXPECT_EQ(pub("/msg/get?key=" + k + "&mid=" + m(0)),
            R"({"data":{"msgs":["{\"msg\":\"{\\\"test\\\":2}\",\"mid\":)" + m(1) +
                R"(,\"gid\":0}"],"pmsgs":[]},"msg":"ok","ret":0})");
  EXPECT_EQ(pub("/msg/get?key=nobody_" + id_ + "@user&mid=0"), R"({"msg":"ok","ret":0})");
  // #24: expire 0 is delivered live only, nothing is stored.
  json live = json::parse(adm("/admin/push?key=" + k + "&expire=0", R"({"test":4})"));
  EXPECT_EQ(live["ret"], 0);
  EXPECT_EQ(pub("/1/msg/get?k=" + k + "&m=" + m(1)), R"({"ret":0})");
}

TEST_F(WebApiTest, msg_get_without_a_message_node_is_65535) {
  start_comet();
  start_web();
  wait_for_web(1, 0);
  EXPECT_EQ(pub("/1/msg/get?k=u1@user&m=0"), R"({"ret":65535})");
  EXPECT_EQ(adm("/1/admin/msg/del", "key=u1%40user"), R"({"ret":65535})");
}

TEST_F(WebApiTest, time_get_vectors_21_22) {
  start_web();
  auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  int64_t before = now_us();
  json v1 = json::parse(pub("/1/time/get"));
  std::string old_text = pub("/time/get?callback=t");
  int64_t after = now_us();
  EXPECT_EQ(v1["ret"], 0);
  EXPECT_FALSE(v1.contains("msg"));
  int64_t t1 = v1["data"]["timeid"].get<int64_t>();
  EXPECT_GE(t1, before);
  EXPECT_LE(t1, after);
  ASSERT_EQ(old_text.substr(0, 2), "t(");
  json old = json::parse(old_text.substr(2, old_text.size() - 3));
  EXPECT_EQ(old["msg"], "ok");
  int64_t t0 = old["data"]["timeid"].get<int64_t>();  // 100 ns units
  EXPECT_GE(t0, before * 10);
  EXPECT_LE(t0, after * 10 + 9);
}

TEST_F(WebApiTest, admin_push_parameter_vectors_25_to_30) {
  start_all();
  EXPECT_EQ(adm("/1/admin/push/private?key=u1@user", "{}"), R"({"ret":65534})");
  for (const char* e : {"-1", "4294967296", "%2B5", "", "1.5", "%201"}) {
    EXPECT_EQ(adm(std::string("/1/admin/push/private?key=u1@user&expire=") + e, "{}"),
              R"({"ret":65534})")
        << e;
  }
  EXPECT_EQ(adm("/1/admin/push/private?expire=60", "{}"), R"({"ret":65534})");
  EXPECT_EQ(adm("/1/admin/push/private?key=u1@user&expire=60", ""), R"({"ret":65534})");  // W-28
  EXPECT_EQ(adm("/1/admin/push/private?key=u1@user&expire=60", "{not json"), R"({"ret":65534})");
  EXPECT_EQ(adm("/1/admin/push/private?key=u1@user&expire=60", std::string(64 * 1024 + 1, ' ')),
            R"({"ret":65534})");  // W-27
  EXPECT_EQ(get(*admin_, "/1/admin/push/private?key=u1@user&expire=1").status, 405);
  // The comet refuses what web cannot check: an expire above a year is a parameter error.
  EXPECT_EQ(adm("/1/admin/push/private?key=u1@user&expire=4294967295", "{}"), R"({"ret":65534})");
}

TEST_F(WebApiTest, msg_del_vectors_31_to_33) {
  start_all();
  std::string k = key("del");
  json r = json::parse(adm("/1/admin/push/private?key=" + k + "&expire=600", R"({"test":1})"));
  ASSERT_EQ(r["ret"], 0);
  ASSERT_NE(pub("/1/msg/get?k=" + k + "&m=0"), R"({"ret":0})");
  EXPECT_EQ(adm("/1/admin/msg/del", "key=" + url_encode(k)), R"({"ret":0})");
  EXPECT_EQ(pub("/1/msg/get?k=" + k + "&m=0"), R"({"ret":0})");
  EXPECT_EQ(adm("/admin/msg/clean", ""), R"({"ret":65534})");
  EXPECT_EQ(adm("/1/admin/msg/del", "key=%zz"), R"({"ret":65534})");
  // The key may also come in the query (the original read the body only).
  EXPECT_EQ(adm("/admin/msg/clean?key=" + url_encode(k), ""), R"({"ret":0})");
}

TEST_F(WebApiTest, batch_push_answers_each_key_and_delivers) {
  start_all();
  test::TestClient client(comet_->tcp_addresses()[0]);
  std::string k1 = key("b1"), k2 = key("b2");
  client.send(test::multi_bulk({"sub", k1, "30", "", "1"}));
  ASSERT_EQ(client.read_exact(test::kPlusH.size()), test::kPlusH);
  json body{{"k", {k1, k2}}, {"m", {{"hello", "all"}}}};
  json r = json::parse(adm("/1/admin/push/mprivate?expire=600", body.dump()));
  ASSERT_EQ(r["ret"], 0) << r;
  EXPECT_TRUE(r["data"]["fk"].empty());
  ASSERT_EQ(r["data"]["mids"].size(), 2u);
  int64_t mid1 = r["data"]["mids"][0].get<int64_t>();
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(*frame, R"({"msg":{"hello":"all"},"mid":)" + std::to_string(mid1) + R"(,"gid":0})");
  EXPECT_NE(pub("/1/msg/get?k=" + k2 + "&m=0"), R"({"ret":0})");
  // Bad bodies.
  EXPECT_EQ(adm("/1/admin/push/mprivate?expire=600", R"({"k":[],"m":{}})"), R"({"ret":65534})");
  EXPECT_EQ(adm("/1/admin/push/mprivate?expire=600", R"({"k":["a@user"]})"), R"({"ret":65534})");
  EXPECT_EQ(adm("/1/admin/push/mprivate?expire=600", R"({"k":[1],"m":{}})"), R"({"ret":65534})");
  EXPECT_EQ(adm("/1/admin/push/mprivate", R"({"k":["a@user"],"m":{}})"), R"({"ret":65534})");
}

TEST_F(WebApiTest, admin_secret_guards_the_admin_api) {
  start_message_node();
  start_comet();
  start_web("s3cret");
  wait_for_web(1, 1);
  auto no = post(*admin_, "/1/admin/push/private?key=u1@user&expire=0", "{}");
  EXPECT_EQ(no.status, 401);
  EXPECT_EQ(no.body, R"({"ret":65533})");
  auto wrong = post(*admin_, "/1/admin/msg/del", "key=a", {{"X-Appmsg-Secret", "s3creT"}});
  EXPECT_EQ(wrong.status, 401);
  auto ok = post(*admin_, "/1/admin/push/private?key=u1@user&expire=0", "{}",
                 {{"X-Appmsg-Secret", "s3cret"}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(json::parse(ok.body)["ret"], 0);
  // The public API needs no secret.
  EXPECT_EQ(json::parse(pub("/1/time/get"))["ret"], 0);
}

TEST_F(WebApiTest, stat_and_metrics_report_routes_and_the_ring) {
  start_all();
  pub("/1/server/get?k=u1@user&p=1");
  pub("/1/server/get?k=u1@user&p=9");
  json s = json::parse(get(*stat_, "/stat").body);
  EXPECT_EQ(s["ring"], json::array({"node1"}));
  EXPECT_EQ(s["requests"]["/1/server/get"]["0"], 1);
  EXPECT_EQ(s["requests"]["/1/server/get"]["1003"], 1);
  auto m = get(*stat_, "/metrics");
  EXPECT_NE(m.body.find(R"(appmsg_web_requests_total{route="/1/server/get",ret="1003"} 1)"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("appmsg_web_comets 1"), std::string::npos);
}

// A comet that accepts calls but never answers (registered by hand, in the original's data
// format): every push still answers, 65535 at the [rpc] timeout, and the failures are counted.
TEST_F(WebApiTest, a_hung_comet_costs_a_push_its_deadline_not_more) {
  std::string a = start_hung({"push", "push_batch", "ping", "migrate"});
  io_.call([&] {
    hung_zk_->register_ephemeral(root_ + "/comet/node1/",
                                 "tcp://" + a + ",ws://" + a + ",rpc://" + a, true);
  });
  start_web("", 500ms);
  wait_for_web(1, 0);

  // Three pushes at once: one call in flight, two queued behind it; each answers in time.
  auto started = std::chrono::steady_clock::now();
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < 3; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      return test::http_request(
                 web_->admin_addresses()[0], "POST",
                 "/1/admin/push/private?key=k" + std::to_string(i) + "@user&expire=0", "{}",
                 "application/json", 20s)
          .body;
    }));
  }
  // The one sent is answered 1005 (the comet has it, outcome unknown), the two still queued
  // 65535 (never sent), all at their one deadline, queueing included.
  // (Which of the two depends on whether a push was still queued when its deadline came.)
  for (auto& f : answers) {
    auto got = f.get();
    EXPECT_TRUE(got == R"({"ret":1005})" || got == R"({"ret":65535})") << got;
  }
  // Bounded by one deadline each, not by the 30 s hang (nor by two deadlines in a row).
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  json s = json::parse(get(*stat_, "/stat").body);
  EXPECT_EQ(s["comets"][0]["push_errors"], 3);
  EXPECT_TRUE(test::eventually([&] {
    return json::parse(get(*stat_, "/stat").body)["comets"][0]["healthy"] == false;
  })) << "the pings time out too";

  io_.run(web_->stop());
  io_.call([&] { web_.reset(); });
  stop_hung();
}

// A message node that accepts calls but never answers: a stored push waits for the store (and
// answers 1004, delivered but not stored, at [rpc] store.timeout), while a live-only push to
// another key of the same comet, sent after it, is answered without waiting behind it.
TEST_F(WebApiTest, a_live_push_does_not_wait_behind_a_stalled_store) {
  std::atomic<int> saves{0};
  std::string node = start_hung({"save", "save_batch", "get", "ping"}, &saves);
  io_.call([&] { hung_zk_->register_ephemeral(root_ + "/message/", node, true); });
  start_comet();
  start_web("", 8000ms);  // longer than the comet's store.timeout: web hears the comet's answer
  wait_for_web(1, 1);

  auto admin_push = [&](const std::string& key, int expire) {
    return test::http_request(
               web_->admin_addresses()[0], "POST",
               "/1/admin/push/private?key=" + key + "&expire=" + std::to_string(expire),
               R"({"b":1,"a":2})", "application/json", 20s)
        .body;
  };
  // Pushed again until one reaches the hung store (the comet may not know the node yet).
  std::future<std::string> stored;
  ASSERT_TRUE(test::eventually([&] {
    if (saves.load() > 0) return true;
    if (!stored.valid() || stored.wait_for(0s) == std::future_status::ready) {
      if (stored.valid()) stored.get();
      stored = std::async(std::launch::async, [&] { return admin_push("a@user", 600); });
    }
    return false;
  })) << "the store was not called";
  // The stored push is now waiting on the hung store; a live-only push answers meanwhile.
  json live = json::parse(admin_push("b@user", 0));
  EXPECT_EQ(live["ret"], 0);
  EXPECT_EQ(stored.wait_for(0s), std::future_status::timeout)
      << "the stored push should still be waiting for its store";
  json a = json::parse(stored.get());
  EXPECT_EQ(a["ret"], 1004) << a;  // delivered (no connection here), not stored

  io_.run(web_->stop());
  io_.call([&] { web_.reset(); });
  test::stop_comet(io_, comet_);
  stop_hung();
}

TEST_F(WebApiTest, a_comet_leaving_zookeeper_leaves_the_ring_at_once) {
  start_all();
  test::stop_comet(io_, comet_);  // deregisters first
  wait_for_web(0, 1);
  EXPECT_EQ(pub("/1/server/get?k=u1@user&p=2"), R"({"ret":1001})");
}

}  // namespace
}  // namespace appmsg
