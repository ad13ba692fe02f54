// The comet daemon end to end, in-process: a CometService on loopback ports with a real
// ZooKeeper, real TCP clients (blocking POSIX sockets with deadlines), the comet's RPC and stats
// listeners, and a stand-in message node that records what the comet stores.
//
// Covers spec/comet.md section 1 (TCP protocol, TV1, TV2, TV3), 3 (channels), 5 (RPC, TV6,
// TV11), 7 (stats, TV12), 10 (W1, W4, W5, W6, W7, W10, W13, W15) and the registration in
// ZooKeeper. Every test has its own ZooKeeper paths and ports, so test executables may run in
// parallel; time bounds are generous lower and upper limits, never a measure of speed.
//
// Threads: the test body (blocking clients), one IoThread that is the comet's control context
// (RPC and stats servers, ZooKeeper, the stand-in message nodes, our RPC and HTTP clients) and
// the comet's own client contexts. Everything that lives on the IoThread is created, used and
// destroyed there.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "comet/comet_config.hpp"
#include "comet/comet_service.hpp"
#include "common/http.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/rpc.hpp"
#include "common/zk_client.hpp"
#include "support/async.hpp"
#include "support/comet_harness.hpp"
#include "support/servers.hpp"
#include "support/zk_session.hpp"

namespace appmsg::comet {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using test::eventually;
using test::kPlusH;
using test::multi_bulk;
using test::TestClient;

// `sub` with key and heartbeat only (old format), or with an empty token and a version (new).
std::string sub_old(const std::string& key, const std::string& heartbeat = "30") {
  return multi_bulk({"sub", key, heartbeat});
}
std::string sub_new(const std::string& key, const std::string& heartbeat = "30") {
  return multi_bulk({"sub", key, heartbeat, "", "1"});
}

int64_t mid_of(const std::string& payload) {
  return json::parse(payload).at("mid").get<int64_t>();
}

// The stored copy's message as a JSON value, whether the comet sent it as JSON text or a value.
json stored_msg(const json& item) {
  const json& m = item.at("msg");
  return m.is_string() ? json::parse(m.get<std::string>()) : m;
}

// True when `v` (a string, or an array of strings) names `address` (also as "tcp://address").
bool names_address(const json& v, const std::string& address) {
  if (v.is_string()) return v.get<std::string>().find(address) != std::string::npos;
  if (v.is_array()) {
    for (auto& e : v) {
      if (names_address(e, address)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// A stand-in message node: answers save_batch, records the items, and fails or stalls on demand.

struct StandIn {
  enum class Mode { ok, error, slow };
  std::unique_ptr<HttpServer> server;
  std::string address;
  std::atomic<Mode> mode{Mode::ok};
  std::chrono::milliseconds delay{1500};  // in Mode::slow
  std::atomic<int> calls{0}, finished{0};
  mutable std::mutex mu;
  std::vector<json> items;

  std::vector<json> saved() const {
    std::lock_guard lock(mu);
    return items;
  }
};

// ---------------------------------------------------------------------------------------------

class CometTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    zk_server_ = new test::ZooKeeperServer();
    zk_server_->start();
  }
  static void TearDownTestSuite() {
    delete zk_server_;
    zk_server_ = nullptr;
  }

  void SetUp() override {
    std::string id = test::unique_test_id();
    root_ = "/comet_test_" + id;
    node_ = "comet_" + id;
    zk_ = io_.call([&] {
      auto c = std::make_unique<ZkClient>(io_.executor(),
                                          ZkOptions{zk_server_->connect_string(), 10000ms});
      c->start();
      return c;
    });
    io_.run(zk_->wait_connected(20s));
  }

  void TearDown() override {
    io_.call([&] {
      rpc_.reset();
      http_.reset();
    });
    stop_comet();
    for (auto& s : stand_ins_) {
      // A stalled save may still be sleeping: it must finish before the stand-in goes.
      eventually([&] { return s->finished.load() == s->calls.load(); }, 10s);
      io_.run(s->server->stop(200ms));
      io_.call([&] { s->server.reset(); });
    }
    io_.call([&] {
      zk_->close();
      zk_.reset();
    });
  }

  CometConfig config() const {
    CometConfig c = test::comet_test_config(zk_server_->connect_string(), root_, node_);
    c.min_heartbeat = 1;
    c.heartbeat_grace = 300ms;
    c.first_command_timeout = 500ms;
    return c;
  }
  std::string message_path() const { return root_ + "/message"; }

  void start_comet(const CometConfig& c, size_t io_threads = 2) {
    comet_ = test::start_comet(io_, c, io_threads);
    ASSERT_EQ(comet_->tcp_addresses().size(), 1u);
    ASSERT_EQ(comet_->rpc_addresses().size(), 1u);
    ASSERT_EQ(comet_->stat_addresses().size(), 1u);
    tcp_ = comet_->tcp_addresses()[0];
    rpc_ = test::rpc_client(io_, comet_->rpc_addresses()[0], c.rpc_secret);
    http_ = test::http_client(io_, comet_->stat_addresses()[0]);
  }

  void stop_comet() {
    if (!comet_) return;
    test::stop_comet(io_, comet_, stopped_);
    stopped_ = true;
  }

  json rpc(const std::string& method, const json& params) {
    return io_.run(rpc_->call(method, params, 10s));
  }
  // The error code of a call (0 when it succeeded).
  // The error code of a call, or the "code" of its result (a push delivered but not stored).
  int rpc_code(const std::string& method, const json& params) {
    try {
      json r = rpc(method, params);
      return r.is_object() ? r.value("code", 0) : 0;
    } catch (const RpcError& e) {
      return e.code();
    }
  }
  int64_t push(const std::string& key, const std::string& body, int64_t expire = 0) {
    return rpc("push", json{{"key", key}, {"msg", body}, {"expire", expire}})
        .at("mid")
        .get<int64_t>();
  }

  HttpResponse http(const std::string& method, const std::string& target) {
    return io_.run(http_->request(method, target, "", {}, 5s));
  }

  // A connection that subscribed and got its +h.
  std::unique_ptr<TestClient> subscribe(const std::string& key, bool new_format = false,
                                        const std::string& heartbeat = "30") {
    auto c = std::make_unique<TestClient>(tcp_);
    c->send(new_format ? sub_new(key, heartbeat) : sub_old(key, heartbeat));
    EXPECT_EQ(c->read_exact(kPlusH.size()), kPlusH) << "subscribe " << key;
    return c;
  }

  // True when the connection answers a heartbeat (it is alive and subscribed).
  static bool answers_heartbeat(TestClient& c) {
    return c.send("h") && c.read_exact(kPlusH.size()) == kPlusH;
  }

  std::shared_ptr<StandIn> start_stand_in() {
    auto s = std::make_shared<StandIn>();
    StandIn* raw = s.get();  // the stand-in outlives its server (TearDown)
    auto router = std::make_shared<HttpRouter>();
    add_rpc_method(*router, "save_batch", "", [raw](const json& p) -> asio::awaitable<json> {
      struct Finished {
        std::atomic<int>& n;
        ~Finished() { ++n; }
      } finished{raw->finished};
      ++raw->calls;
      if (raw->mode.load() == StandIn::Mode::slow) {
        asio::steady_timer t(co_await asio::this_coro::executor, raw->delay);
        co_await t.async_wait(asio::use_awaitable);
      }
      if (raw->mode.load() == StandIn::Mode::error) throw RpcError(500, "stand-in: disk full");
      {
        std::lock_guard lock(raw->mu);
        for (auto& item : p.at("items")) raw->items.push_back(item);
      }
      co_return json{{"errors", json::array()}};
    });
    io_.call([&] {
      HttpServerOptions opts;
      opts.name = "stand-in message node";
      s->server = std::make_unique<HttpServer>(io_.executor(), opts, router);
      s->address = "127.0.0.1:" + std::to_string(s->server->listen("127.0.0.1:0"));
    });
    stand_ins_.push_back(s);
    return s;
  }

  // Registers a message node at `address` (which need not be listening) under message_path.
  void register_message_node(const std::string& address) {
    std::string data = json{{"rpc", json::array({address})}}.dump();
    std::string prefix = message_path() + "/";
    auto id = io_.call([&] { return zk_->register_ephemeral(prefix, data, true); });
    ASSERT_TRUE(
        eventually([&] { return !io_.call([&] { return zk_->registered_path(id); }).empty(); }));
  }

  // The children of a ZooKeeper path, read through the test's own session (empty if missing).
  std::vector<std::string> children_of(const std::string& path) {
    try {
      return io_.run(zk_->children(path));
    } catch (const ZkError&) {
      return {};
    }
  }

  // Pushes offline copies until one is stored: the comet has discovered a message node.
  bool wait_for_store() {
    json p{{"key", "warmup@user"}, {"msg", "{}"}, {"expire", 60}};
    return eventually([&] { return rpc_code("push", p) == 0; });
  }

  static test::ZooKeeperServer* zk_server_;
  test::IoThread io_;  // first: outlives everything that runs on it
  std::string root_, node_;
  std::unique_ptr<ZkClient> zk_;
  std::unique_ptr<CometService> comet_;
  bool stopped_ = false;
  std::string tcp_;
  std::unique_ptr<RpcClient> rpc_;
  std::unique_ptr<HttpClient> http_;
  std::vector<std::shared_ptr<StandIn>> stand_ins_;
};

test::ZooKeeperServer* CometTest::zk_server_ = nullptr;

// ---------------------------------------------------------------------------------------------
// Subscribe and message formats (TV1 row 1, 1.8, TV3)

TEST_F(CometTest, subscribe_gets_plus_h_and_receives_a_push_in_both_formats) {
  start_comet(config());
  const std::string key = "23370005043469383_Android-123@user";
  TestClient old_client(tcp_);
  ASSERT_TRUE(old_client.send(
      "*3\r\n$3\r\nsub\r\n$34\r\n23370005043469383_Android-123@user\r\n$2\r\n30\r\n"));
  ASSERT_EQ(old_client.read_exact(4), "+h\r\n");
  TestClient new_client(tcp_);
  ASSERT_TRUE(new_client.send(
      "*5\r\n$3\r\nsub\r\n$34\r\n23370005043469383_Android-123@user\r\n$2\r\n30\r\n$0\r\n\r\n"
      "$1\r\n1\r\n"));
  ASSERT_EQ(new_client.read_exact(4), "+h\r\n");
  EXPECT_EQ(comet_->table().count(key), 2u);

  // TV3 bodies; the exact new-format payload where the spec fixes it (nullopt: compare parsed).
  struct Case {
    std::string body;
    std::optional<std::string> new_msg, old_msg;  // the bytes of "msg" in each format
  };
  std::vector<Case> cases = {
      {R"({"a":1})", R"({"a":1})", R"("{\"a\":1}")"},
      {R"("hi")", R"("hi")", R"("\"hi\"")"},
      {R"({"a": "<b>&"})", std::nullopt, std::nullopt},
      {"{\"text\":\"\xE4\xBD\xA0\xE5\xA5\xBD\"}", "{\"text\":\"\xE4\xBD\xA0\xE5\xA5\xBD\"}",
       std::nullopt},
      {"{ \"spaced\" : [1, 2] }", R"({"spaced":[1,2]})", R"("{ \"spaced\" : [1, 2] }")"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.body);
    int64_t mid = push(key, c.body);
    EXPECT_GT(mid, 0);
    std::string why;
    auto fresh = new_client.read_frame(5s, &why);
    ASSERT_TRUE(fresh) << why;
    auto legacy = old_client.read_frame(5s, &why);
    ASSERT_TRUE(legacy) << why;
    EXPECT_EQ(json::parse(*fresh), (json{{"msg", json::parse(c.body)}, {"mid", mid}, {"gid", 0}}));
    EXPECT_EQ(json::parse(*legacy), (json{{"msg", c.body}, {"mid", mid}, {"gid", 0}}));
    std::string tail = ",\"mid\":" + std::to_string(mid) + ",\"gid\":0}";
    for (auto* p : {&*fresh, &*legacy}) {
      EXPECT_EQ(p->rfind("{\"msg\":", 0), 0u) << *p;  // fields in the order msg, mid, gid
      EXPECT_TRUE(p->size() > tail.size() &&
                  p->compare(p->size() - tail.size(), tail.size(), tail) == 0)
          << *p;
      EXPECT_EQ(p->find_first_of("\r\n"), std::string::npos) << *p;
    }
    if (c.new_msg) {
      EXPECT_EQ(*fresh, "{\"msg\":" + *c.new_msg + tail);
    }
    if (c.old_msg) {
      EXPECT_EQ(*legacy, "{\"msg\":" + *c.old_msg + tail);
    }
  }
  EXPECT_TRUE(old_client.quiet_for(100ms));
  EXPECT_TRUE(new_client.quiet_for(100ms));
}

// ---------------------------------------------------------------------------------------------
// Heartbeats (TV2, W13)

TEST_F(CometTest, heartbeat_h_gets_plus_h) {
  start_comet(config());
  auto c = subscribe("hb@user");
  ASSERT_TRUE(c->send("h"));
  EXPECT_EQ(c->read_exact(4), "+h\r\n");
  ASSERT_TRUE(c->send("h"));
  EXPECT_EQ(c->read_exact(4), "+h\r\n");
  EXPECT_TRUE(c->quiet_for(100ms));
}

TEST_F(CometTest, hh_gets_two) {
  start_comet(config());
  auto c = subscribe("hh@user");
  ASSERT_TRUE(c->send("hh"));
  EXPECT_EQ(c->read_exact(8), "+h\r\n+h\r\n");
  EXPECT_TRUE(c->quiet_for(100ms));
}

TEST_F(CometTest, heartbeats_pipelined_right_after_the_command_are_answered) {
  start_comet(config());
  TestClient c(tcp_);
  ASSERT_TRUE(c.send(sub_old("pipelined@user") + "hh"));
  EXPECT_EQ(c.read_exact(12), "+h\r\n+h\r\n+h\r\n");
  EXPECT_TRUE(c.quiet_for(100ms));
  EXPECT_EQ(comet_->table().count("pipelined@user"), 1u);
}

TEST_F(CometTest, a_byte_other_than_h_closes) {
  start_comet(config());
  auto x = subscribe("x@user");
  ASSERT_TRUE(x->send("x"));
  EXPECT_EQ(x->read_until_close(3s), "");
  EXPECT_TRUE(x->closed());

  // "h\r\n": the h is answered, the CR closes (TV2).
  auto crlf = subscribe("crlf@user");
  ASSERT_TRUE(crlf->send("h\r\n"));
  EXPECT_EQ(crlf->read_until_close(3s), "+h\r\n");
  EXPECT_TRUE(crlf->closed());

  EXPECT_TRUE(eventually([&] { return comet_->table().channels() == 0; }, 5s));
}

// ---------------------------------------------------------------------------------------------
// Bad commands (TV1, W1)

TEST_F(CometTest, every_bad_command_gets_its_documented_reply_or_a_silent_close) {
  auto cfg = config();
  cfg.min_heartbeat = 30;  // the original's minimum, so that "29" is refused as in TV1
  start_comet(cfg);
  struct Case {
    std::string bytes, reply;
  };
  const std::vector<Case> cases = {
      {"*1\r\n$3\r\nsub\r\n", "-p\r\n"},
      {"*2\r\n$3\r\nsub\r\n$1\r\nk\r\n", "-p\r\n"},               // heartbeat missing
      {"*3\r\n$3\r\nsub\r\n$0\r\n\r\n$2\r\n30\r\n", "-p\r\n"},    // empty key
      {"*3\r\n$3\r\nsub\r\n$1\r\nk\r\n$2\r\n29\r\n", "-p\r\n"},   // heartbeat < 30
      {"*3\r\n$3\r\nsub\r\n$1\r\nk\r\n$3\r\n30s\r\n", "-p\r\n"},  // not a number
      {"*3\r\n$3\r\nSUB\r\n$1\r\nk\r\n$2\r\n30\r\n", "-p\r\n"},   // case-sensitive
      {"*1\r\n$03\r\nsub\r\n", "-p\r\n"},                         // parses to [sub]
      {"*3\r\n$3\r\nget\r\n$1\r\nk\r\n$2\r\n30\r\n", "-p\r\n"},   // unknown command
      {"*6\r\n", ""},  // the 6th element (resume mid) is allowed here: the deadline closes it
      {"*7\r\n", ""},
      {"*0\r\n", ""},
      {"*\r\n", ""},
      {"*2\n", ""},
      {"*1\r\n$4\r\nsub\r\n", ""},    // length mismatch
      {"*1\r\n$3\r\nsu\nb\r\n", ""},  // LF inside the data
      {"*1\r\n$-1\r\n\n", ""},        // W1: crashed the original
      {"$3\r\nsub\r\n", ""},
      {"*1\r\n$99999999999\r\n", ""},  // W2: oversized length
      {"*1\r\n$" + std::to_string(4096) + "\r\n" + std::string(4096, 'k') + "\r\n", ""},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(json(c.bytes).dump());
    TestClient client(tcp_);
    ASSERT_TRUE(client.send(c.bytes));
    EXPECT_EQ(client.read_until_close(5s), c.reply);
    EXPECT_TRUE(client.closed());
  }
  // TV1: a sign is accepted.
  {
    TestClient plus(tcp_);
    ASSERT_TRUE(plus.send("*3\r\n$3\r\nsub\r\n$1\r\nk\r\n$3\r\n+30\r\n"));
    EXPECT_EQ(plus.read_exact(4), "+h\r\n");
    EXPECT_TRUE(answers_heartbeat(plus));
  }
  // The comet still serves others.
  auto c = subscribe("survivor@user", true);
  int64_t mid = push("survivor@user", R"({"ok":true})");
  auto frame = c->read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(mid_of(*frame), mid);
  EXPECT_GT(comet_->stats().closed_protocol.load(), 0u);
  EXPECT_GT(comet_->stats().sub_rejected_param.load(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Deadlines

TEST_F(CometTest, first_command_deadline_closes_a_silent_connection) {
  start_comet(config());  // first_command_timeout 500 ms
  TestClient silent(tcp_);
  auto started = Clock::now();
  EXPECT_EQ(silent.read_until_close(5s), "");
  EXPECT_TRUE(silent.closed());
  EXPECT_GE(Clock::now() - started, 300ms);

  // An incomplete command is closed the same way.
  TestClient partial(tcp_);
  ASSERT_TRUE(partial.send("*3\r\n$3\r\nsu"));
  EXPECT_EQ(partial.read_until_close(5s), "");
  EXPECT_TRUE(partial.closed());
  EXPECT_EQ(comet_->table().channels(), 0u);
}

TEST_F(CometTest, heartbeat_timeout_closes_a_client_that_stops_sending_h) {
  start_comet(config());  // heartbeat 1 s + grace 300 ms
  auto c = subscribe("quiet@user", false, "1");
  // Heartbeats keep it open well past one window.
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(answers_heartbeat(*c)) << "heartbeat " << i;
  }
  auto last = Clock::now();
  EXPECT_EQ(c->read_until_close(8s), "");
  EXPECT_TRUE(c->closed());
  EXPECT_GE(Clock::now() - last, 1000ms);
  EXPECT_TRUE(eventually([&] { return comet_->stats().closed_heartbeat.load() == 1; }, 5s));
  EXPECT_TRUE(eventually([&] { return comet_->table().channels() == 0; }, 5s));
}

// ---------------------------------------------------------------------------------------------
// Limits (TV10, W15)

TEST_F(CometTest, max_subscriber_closes_the_third_connection_with_no_bytes) {
  auto cfg = config();
  cfg.max_subscriber = 2;
  start_comet(cfg);
  auto first = subscribe("full@user");
  auto second = subscribe("full@user", true);
  TestClient third(tcp_);
  ASSERT_TRUE(third.send(sub_old("full@user")));
  EXPECT_EQ(third.read_until_close(3s), "");
  EXPECT_TRUE(third.closed());
  EXPECT_EQ(comet_->table().count("full@user"), 2u);
  EXPECT_EQ(comet_->stats().sub_rejected_full.load(), 1u);

  int64_t mid = push("full@user", R"({"a":1})");
  auto f1 = first->read_frame();
  auto f2 = second->read_frame();
  ASSERT_TRUE(f1 && f2);
  EXPECT_EQ(mid_of(*f1), mid);
  EXPECT_EQ(mid_of(*f2), mid);
  EXPECT_TRUE(answers_heartbeat(*first));
  EXPECT_TRUE(answers_heartbeat(*second));
}

TEST_F(CometTest, slow_consumer_is_closed) {
  auto cfg = config();
  cfg.msgbuf_num = 2;
  start_comet(cfg);
  TestClient sleeper(tcp_, 4096);  // never reads after +h
  ASSERT_TRUE(sleeper.send(sub_new("sleeper@user")));
  ASSERT_EQ(sleeper.read_exact(4), "+h\r\n");
  auto reader = subscribe("reader@user", true);

  const std::string big = "\"" + std::string(60 * 1024, 'x') + "\"";
  int pushes = 0;
  while (pushes < 400 && comet_->stats().closed_slow.load() == 0) {
    push("sleeper@user", big);
    ++pushes;
  }
  EXPECT_EQ(comet_->stats().closed_slow.load(), 1u) << "after " << pushes << " pushes";
  EXPECT_GE(comet_->stats().drops.load(), 1u);
  EXPECT_TRUE(eventually([&] { return comet_->table().count("sleeper@user") == 0; }, 5s));

  // The client sees the close once it drains what was written before it.
  sleeper.read_until_close(20s);
  EXPECT_TRUE(sleeper.closed());

  // Another key is not affected.
  int64_t mid = push("reader@user", R"({"still":"here"})");
  auto frame = reader->read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(mid_of(*frame), mid);

  auto metrics = http("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("\nappmsg_comet_slow_closes_total 1\n"), std::string::npos)
      << metrics.body;
}

// ---------------------------------------------------------------------------------------------
// Channels (W4)

TEST_F(CometTest, channel_is_freed_after_last_close) {
  start_comet(config());
  auto a = subscribe("two@user");
  auto b = subscribe("two@user", true);
  EXPECT_EQ(comet_->table().channels(), 1u);
  EXPECT_EQ(comet_->table().count("two@user"), 2u);

  a->close();
  EXPECT_TRUE(eventually([&] { return comet_->table().count("two@user") == 1; }, 5s));
  EXPECT_EQ(comet_->table().channels(), 1u);
  b->close();
  EXPECT_TRUE(eventually([&] { return comet_->table().channels() == 0; }, 5s));

  auto stat = http("GET", "/stat?type=channel");
  ASSERT_EQ(stat.status, 200);
  auto j = json::parse(stat.body);
  EXPECT_EQ(j.at("current"), 0);
  EXPECT_EQ(j.at("create"), 1);
  EXPECT_EQ(j.at("delete"), 1);

  // A push to a key with no connection answers a mid and creates nothing.
  EXPECT_GT(push("nobody@user", R"({"a":1})"), 0);
  EXPECT_EQ(comet_->table().channels(), 0u);
  auto none = http("GET", "/stat?type=channel&key=nobody@user");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body, "");
  stat = http("GET", "/stat?type=channel");
  EXPECT_EQ(json::parse(stat.body).at("create"), 1);
  EXPECT_EQ(json::parse(stat.body).at("current"), 0);
}

// ---------------------------------------------------------------------------------------------
// Push RPC (TV11, W6, W7)

TEST_F(CometTest, mids_strictly_increase_per_key) {
  auto cfg = config();
  // 100 pushes in a few milliseconds to a client that reads only afterwards: flow control is
  // not what this test is about (slow_consumer_is_closed is).
  cfg.msgbuf_num = 1000;
  start_comet(cfg);
  const std::string key = "mids@user";
  auto c = subscribe(key, true);
  std::vector<int64_t> mids;
  for (int i = 0; i < 40; ++i) {
    mids.push_back(push(key, json{{"i", i}}.dump()));
    push("other@user", "1");  // other keys in between do not matter
  }
  json keys = json::array();
  for (int i = 0; i < 30; ++i) keys.push_back(key);
  auto r = rpc("push_batch", json{{"keys", keys}, {"msg", R"({"batch":"keys"})"}, {"expire", 0}});
  for (auto& res : r.at("results")) {
    EXPECT_FALSE(res.contains("code")) << res;
    mids.push_back(res.at("mid").get<int64_t>());
  }
  json items = json::array();
  for (int i = 0; i < 30; ++i) items.push_back(json{{"key", key}, {"msg", std::to_string(i)}});
  r = rpc("push_batch", json{{"items", items}});
  for (auto& res : r.at("results")) {
    EXPECT_FALSE(res.contains("code")) << res;
    mids.push_back(res.at("mid").get<int64_t>());
  }
  ASSERT_EQ(mids.size(), 100u);
  for (size_t i = 1; i < mids.size(); ++i) EXPECT_LT(mids[i - 1], mids[i]) << "at " << i;

  // The client receives them in the same order, with the same mids.
  for (size_t i = 0; i < mids.size(); ++i) {
    std::string why;
    auto frame = c->read_frame(5s, &why);
    ASSERT_TRUE(frame) << "frame " << i << ": " << why;
    EXPECT_EQ(mid_of(*frame), mids[i]) << "frame " << i;
  }
}

// A batch carrying more than msgbuf_num messages for one key reaches a client that keeps up:
// only messages waiting on a full socket count against the limit, not the ones queued behind
// a write the kernel has already taken.
TEST_F(CometTest, a_batch_larger_than_msgbuf_num_reaches_a_healthy_client) {
  auto cfg = config();
  cfg.msgbuf_num = 30;
  cfg.sndbuf = 0;  // the kernel's default send buffer: room for the whole burst
  start_comet(cfg);
  auto c = subscribe("burst@user", true);
  json keys = json::array();
  for (int i = 0; i < 40; ++i) keys.push_back("burst@user");
  auto r = rpc("push_batch", json{{"keys", keys}, {"msg", R"({"burst":1})"}, {"expire", 0}});
  ASSERT_EQ(r.at("results").size(), 40u);
  for (size_t i = 0; i < 40; ++i) {
    std::string why;
    auto frame = c->read_frame(5s, &why);
    ASSERT_TRUE(frame) << "frame " << i << ": " << why;
    EXPECT_EQ(mid_of(*frame), r["results"][i].at("mid").get<int64_t>());
  }
  EXPECT_TRUE(answers_heartbeat(*c));
  EXPECT_EQ(comet_->stats().closed_slow.load(), 0u);
}

TEST_F(CometTest, batch_push_delivers_to_each_key_with_per_item_results) {
  start_comet(config());
  auto k1 = subscribe("k1@user");  // old format
  auto k2 = subscribe("k2@user", true);
  auto k3 = subscribe("k3@user", true);
  json items = json::array({
      json{{"key", "k1@user"}, {"msg", R"({"n":1})"}},
      json{{"key", ""}, {"msg", R"({"n":2})"}},
      json{{"key", "k2@user"}, {"msg", "{bad"}},
      json{{"key", "k2@user"}, {"msg", R"({"n":3})"}},
      json{{"key", "k3@user"}, {"msg", R"({"n":4})"}, {"expire", 0}},
  });
  auto r = rpc("push_batch", json{{"items", items}}).at("results");
  ASSERT_EQ(r.size(), 5u);
  for (size_t i : {0u, 3u, 4u}) {
    EXPECT_FALSE(r[i].contains("code")) << i << ": " << r[i];
    EXPECT_GT(r[i].at("mid").get<int64_t>(), 0) << i;
  }
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(r[i].value("code", 0), 100) << i << ": " << r[i];
    EXPECT_TRUE(r[i].contains("error")) << i;
  }
  auto f1 = k1->read_frame();
  auto f2 = k2->read_frame();
  auto f3 = k3->read_frame();
  ASSERT_TRUE(f1 && f2 && f3);
  EXPECT_EQ(json::parse(*f1), (json{{"msg", R"({"n":1})"}, {"mid", r[0]["mid"]}, {"gid", 0}}));
  // The bad item reached nobody: k2's first message is the good one.
  EXPECT_EQ(json::parse(*f2), (json{{"msg", {{"n", 3}}}, {"mid", r[3]["mid"]}, {"gid", 0}}));
  EXPECT_EQ(json::parse(*f3), (json{{"msg", {{"n", 4}}}, {"mid", r[4]["mid"]}, {"gid", 0}}));

  // One message to many keys.
  r = rpc("push_batch", json{{"keys", json::array({"k1@user", "k2@user", "k3@user"})},
                             {"msg", R"({"all":1})"},
                             {"expire", 0}})
          .at("results");
  ASSERT_EQ(r.size(), 3u);
  std::vector<TestClient*> clients = {k1.get(), k2.get(), k3.get()};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(r[i].contains("code")) << r[i];
    auto f = clients[i]->read_frame();
    ASSERT_TRUE(f) << i;
    EXPECT_EQ(mid_of(*f), r[i].at("mid").get<int64_t>());
  }

  // Single push: bad parameters are code 100 (TV11).
  EXPECT_EQ(rpc_code("push", json{{"key", ""}, {"msg", "{}"}}), 100);
  EXPECT_EQ(rpc_code("push", json{{"key", "k1@user"}, {"msg", ""}}), 100);
  EXPECT_EQ(rpc_code("push", json{{"key", "k1@user"}, {"msg", "{bad"}}), 100);
  EXPECT_TRUE(k1->quiet_for(100ms));
  EXPECT_EQ(rpc("ping", json::object()).at("node"), node_);
}

// ---------------------------------------------------------------------------------------------
// Close and migrate (TV6, TV11)

TEST_F(CometTest, close_rpc_closes_that_keys_connections) {
  start_comet(config());
  auto a1 = subscribe("gone@user");
  auto a2 = subscribe("gone@user", true);
  auto b = subscribe("stays@user");
  auto r = rpc("close", json{{"key", "gone@user"}});
  EXPECT_EQ(r.at("closed"), 2);
  for (auto* c : {a1.get(), a2.get()}) {
    EXPECT_EQ(c->read_until_close(3s), "");
    EXPECT_TRUE(c->closed());
  }
  EXPECT_TRUE(answers_heartbeat(*b));
  EXPECT_EQ(comet_->table().count("gone@user"), 0u);
  EXPECT_EQ(comet_->table().channels(), 1u);
  EXPECT_EQ(rpc_code("close", json{{"key", "gone@user"}}), 103);
  EXPECT_EQ(rpc_code("close", json{{"key", "nokey"}}), 103);
  EXPECT_EQ(rpc_code("close", json{{"key", ""}}), 100);
}

TEST_F(CometTest, migrate_closes_keys_no_longer_owned) {
  auto cfg = config();
  cfg.comet_node = "node1";
  start_comet(cfg);
  std::map<std::string, std::unique_ptr<TestClient>> clients;
  for (const char* key : {"c", "u1@user", "a", "u3@user"}) clients[key] = subscribe(key);

  // Without self: an error, and nothing changes.
  EXPECT_EQ(rpc_code("migrate", json{{"nodes", json::array({"node2", "node3"})}, {"vnode", 255}}),
            104);
  EXPECT_EQ(rpc_code("migrate", json{{"nodes", json::array()}, {"vnode", 255}}), 100);
  EXPECT_EQ(comet_->table().channels(), 4u);
  for (auto& [key, c] : clients) EXPECT_TRUE(answers_heartbeat(*c)) << key;

  auto r =
      rpc("migrate", json{{"nodes", json::array({"node1", "node2", "node3"})}, {"vnode", 255}});
  EXPECT_EQ(r.at("closed"), 2);
  for (const char* key : {"a", "u3@user"}) {
    EXPECT_EQ(clients[key]->read_until_close(3s), "") << key;
    EXPECT_TRUE(clients[key]->closed()) << key;
    EXPECT_EQ(comet_->table().count(key), 0u) << key;
  }
  for (const char* key : {"c", "u1@user"}) {
    EXPECT_TRUE(answers_heartbeat(*clients[key])) << key;
    EXPECT_EQ(comet_->table().count(key), 1u) << key;
  }
  EXPECT_EQ(comet_->table().channels(), 2u);
}

TEST_F(CometTest, migrate_with_a_grace_period_closes_later_against_the_newest_ring) {
  auto cfg = config();
  cfg.comet_node = "node1";
  start_comet(cfg);
  // Owners (spec 12.3): ring [node1,node2,node3]: key1, u2@user, key3 -> node3, abc -> node2;
  // ring [node1,node2]: key1, u2@user -> node1, abc, key3 -> node2.
  std::map<std::string, std::unique_ptr<TestClient>> clients;
  for (const char* key : {"key1", "u2@user", "abc", "key3"}) clients[key] = subscribe(key);

  auto r = rpc(
      "migrate",
      json{{"nodes", json::array({"node1", "node2", "node3"})}, {"vnode", 255}, {"grace_ms", 600}});
  EXPECT_EQ(r.at("closed"), 0);
  EXPECT_EQ(r.at("grace_ms"), 600);
  // node3 leaves again within the grace period: the closes use the newest ring.
  rpc("migrate",
      json{{"nodes", json::array({"node1", "node2"})}, {"vnode", 255}, {"grace_ms", 600}});
  for (auto& [key, c] : clients) EXPECT_TRUE(answers_heartbeat(*c)) << key << " closed early";
  EXPECT_EQ(comet_->table().channels(), 4u);
  for (const char* key : {"abc", "key3"}) {
    clients[key]->read_until_close(3s);
    EXPECT_TRUE(clients[key]->closed()) << key;
  }
  for (const char* key : {"key1", "u2@user"}) EXPECT_TRUE(answers_heartbeat(*clients[key])) << key;
  EXPECT_EQ(comet_->table().channels(), 2u);
  EXPECT_EQ(comet_->stats().closed_migrated.load(), 2u);
  EXPECT_EQ(rpc_code("migrate", json{{"nodes", json::array({"node1"})}, {"grace_ms", -1}}), 100);
}

// ---------------------------------------------------------------------------------------------
// Offline store through message nodes (W5, W6, W23)

TEST_F(CometTest, push_with_expire_is_stored_with_the_same_mid) {
  auto store = start_stand_in();
  register_message_node(store->address);
  start_comet(config());
  ASSERT_TRUE(wait_for_store());
  auto c = subscribe("stored@user", true);
  int calls = store->calls.load();

  int64_t mid = push("stored@user", R"({"a": 1, "b": "<x>"})", 60);
  auto frame = c->read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(mid_of(*frame), mid);
  EXPECT_EQ(store->calls.load(), calls + 1);
  auto saved = store->saved();
  ASSERT_FALSE(saved.empty());
  const json& item = saved.back();
  EXPECT_EQ(item.at("key"), "stored@user");
  EXPECT_EQ(item.at("mid"), mid);
  EXPECT_EQ(item.at("expire"), 60);
  EXPECT_EQ(stored_msg(item), json::parse(R"({"a": 1, "b": "<x>"})"));

  // expire 0 is online only: the store is not called.
  push("stored@user", R"({"online":"only"})", 0);
  ASSERT_TRUE(c->read_frame());
  EXPECT_EQ(store->calls.load(), calls + 1);

  // A batch stores its offline copies in one call, each with its own mid.
  json batch = json::array();
  batch.push_back(json{{"key", "stored@user"}, {"msg", "1"}, {"expire", 5}});
  batch.push_back(json{{"key", "offline@user"}, {"msg", "2"}, {"expire", 7}});
  batch.push_back(json{{"key", "stored@user"}, {"msg", "3"}, {"expire", 0}});
  auto r = rpc("push_batch", json{{"items", batch}}).at("results");
  ASSERT_EQ(r.size(), 3u);
  for (auto& res : r) EXPECT_FALSE(res.contains("code")) << res;
  EXPECT_EQ(store->calls.load(), calls + 2);
  saved = store->saved();
  ASSERT_GE(saved.size(), 2u);
  const json& s1 = saved[saved.size() - 2];
  const json& s2 = saved[saved.size() - 1];
  EXPECT_EQ(s1.at("key"), "stored@user");
  EXPECT_EQ(s1.at("mid"), r[0].at("mid"));
  EXPECT_EQ(s1.at("expire"), 5);
  EXPECT_EQ(stored_msg(s1), 1);
  EXPECT_EQ(s2.at("key"), "offline@user");
  EXPECT_EQ(s2.at("mid"), r[1].at("mid"));
  EXPECT_EQ(s2.at("expire"), 7);
  EXPECT_EQ(stored_msg(s2), 2);
}

TEST_F(CometTest, store_error_gives_code_101_but_the_online_client_still_gets_the_message) {
  auto store = start_stand_in();
  store->mode = StandIn::Mode::error;
  register_message_node(store->address);
  start_comet(config());
  json warm{{"key", "warmup@user"}, {"msg", "{}"}, {"expire", 60}};
  ASSERT_TRUE(eventually([&] {
    rpc_code("push", warm);
    return store->calls.load() > 0;
  }));
  auto c = subscribe("online@user", true);
  EXPECT_EQ(rpc_code("push", json{{"key", "online@user"}, {"msg", R"({"a":1})"}, {"expire", 60}}),
            101);
  auto frame = c->read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(json::parse(*frame).at("msg"), json::parse(R"({"a":1})"));

  auto r =
      rpc("push_batch", json{{"keys", json::array({"online@user"})}, {"msg", "2"}, {"expire", 60}});
  ASSERT_EQ(r.at("results").size(), 1u);
  EXPECT_EQ(r["results"][0].value("code", 0), 101);
  frame = c->read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(mid_of(*frame), r["results"][0].at("mid").get<int64_t>());
  EXPECT_TRUE(store->saved().empty());
  EXPECT_GE(comet_->stats().store_errors.load(), 2u);
}

TEST_F(CometTest, store_too_slow_gives_code_101_but_the_online_client_still_gets_the_message) {
  auto store = start_stand_in();
  store->mode = StandIn::Mode::slow;
  store->delay = 1500ms;
  register_message_node(store->address);
  auto cfg = config();
  cfg.store_timeout = 300ms;
  start_comet(cfg);
  json warm{{"key", "warmup@user"}, {"msg", "{}"}, {"expire", 60}};
  ASSERT_TRUE(eventually([&] {
    rpc_code("push", warm);
    return store->calls.load() > 0;
  }));
  auto c = subscribe("online@user", true);
  int64_t before = comet_->stats().store_errors.load();
  EXPECT_EQ(rpc_code("push", json{{"key", "online@user"}, {"msg", R"({"a":1})"}, {"expire", 60}}),
            101);
  auto frame = c->read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(json::parse(*frame).at("msg"), json::parse(R"({"a":1})"));
  EXPECT_GT(static_cast<int64_t>(comet_->stats().store_errors.load()), before);
}

TEST_F(CometTest, store_retries_another_node_when_one_is_dead) {
  auto live = start_stand_in();
  register_message_node("127.0.0.1:" + std::to_string(test::free_port()));  // nobody listens
  register_message_node(live->address);
  auto cfg = config();
  cfg.rpc_retry = 1ms;  // the dead node is not skipped for long: calls keep meeting it
  start_comet(cfg);
  ASSERT_TRUE(wait_for_store());
  size_t before = live->saved().size();
  for (int i = 0; i < 10; ++i) {
    json p{{"key", "retry@user"}, {"msg", std::to_string(i)}, {"expire", 60}};
    EXPECT_EQ(rpc_code("push", p), 0) << "push " << i;
  }
  EXPECT_EQ(live->saved().size(), before + 10);
}

// ---------------------------------------------------------------------------------------------
// Stats (TV12)

TEST_F(CometTest, stat_bodies_match_the_original) {
  start_comet(config());
  auto r = http("GET", "/stat?type=connection");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\n    \"add\": 0,\n    \"current\": 0,\n    \"remove\": 0\n}");

  auto c = subscribe("k");
  r = http("GET", "/stat?type=connection");
  EXPECT_EQ(r.body, "{\n    \"add\": 1,\n    \"current\": 1,\n    \"remove\": 0\n}");
  r = http("GET", "/stat?type=channel&key=k");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\n    \"channel\": {\n        \"conn\": 1\n    }\n}");

  r = http("POST", "/stat");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, "Method Not Allowed\n");
  r = http("GET", "/stat?type=nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "Not Found\n");
  r = http("GET", "/stat");
  EXPECT_EQ(r.status, 404);

  r = http("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\nappmsg_comet_connections{proto=\"tcp\"} 1\n"), std::string::npos)
      << r.body;

  c->close();
  EXPECT_TRUE(eventually(
      [&] {
        return http("GET", "/stat?type=connection").body ==
               "{\n    \"add\": 1,\n    \"current\": 0,\n    \"remove\": 1\n}";
      },
      5s));
}

// ---------------------------------------------------------------------------------------------
// Registration in ZooKeeper (W17, W25)

TEST_F(CometTest, registration_appears_after_start_and_is_gone_after_stop) {
  start_comet(config());
  const std::string parent = root_ + "/comet/" + node_;
  std::vector<std::string> children;
  ASSERT_TRUE(eventually([&] {
    children = children_of(parent);
    return !children.empty();
  }));
  std::this_thread::sleep_for(200ms);  // a second registration would show by now
  children = children_of(parent);
  ASSERT_EQ(children.size(), 1u);
  auto data = io_.run(zk_->get(parent + "/" + children[0]));
  ASSERT_TRUE(data);
  auto j = json::parse(*data, nullptr, false);
  ASSERT_TRUE(j.is_object()) << *data;
  EXPECT_TRUE(names_address(j.value("tcp", json()), comet_->tcp_addresses()[0])) << *data;
  EXPECT_TRUE(names_address(j.value("rpc", json()), comet_->rpc_addresses()[0])) << *data;

  auto c = subscribe("shutdown@user");
  io_.run(comet_->stop());
  stopped_ = true;
  EXPECT_TRUE(eventually([&] { return children_of(parent).empty(); }, 5s));
  // Shutdown closes the clients, with no bytes.
  EXPECT_EQ(c->read_until_close(5s), "");
  EXPECT_TRUE(c->closed());
}

// Graceful stop closes every connection, also those that have not finished their sub command
// (long before the first-command deadline would), and returns once they are gone.
TEST_F(CometTest, graceful_stop_closes_connections_still_in_their_handshake) {
  auto cfg = config();
  cfg.first_command_timeout = 60s;
  start_comet(cfg);
  test::TestClient silent(tcp_);
  test::TestClient partial(tcp_);
  partial.send("*3\r\n$3\r\nsub\r\n$4\r\nha");
  auto subscribed = subscribe("stop-subscribed@user");
  ASSERT_TRUE(eventually([&] { return comet_->stats().tcp_current.load() == 3; }));
  io_.run(comet_->stop());
  stopped_ = true;
  EXPECT_EQ(comet_->stats().tcp_current.load(), 0)
      << "every connection closed before stop returned";
  for (auto* c : {&silent, &partial, subscribed.get()}) {
    EXPECT_EQ(c->read_until_close(5s), "");
    EXPECT_TRUE(c->closed());
  }
}

// While the session was gone, web routed this comet's keys elsewhere: its clients may have
// missed messages there, so each is closed (as migrated) to subscribe again and resume.
TEST_F(CometTest, registration_comes_back_after_a_session_expiry_and_clients_are_sent_to_resume) {
  start_comet(config());
  const std::string parent = root_ + "/comet/" + node_;
  ASSERT_TRUE(eventually([&] { return children_of(parent).size() == 1; }));
  const std::string first = children_of(parent)[0];
  auto c = subscribe("expiry@user");
  auto credentials = io_.call([&] { return comet_->zk().session_credentials(); });
  test::expire_zk_session(zk_server_->connect_string(), credentials);
  EXPECT_TRUE(eventually(
      [&] {
        auto ch = children_of(parent);
        return ch.size() == 1 && ch[0] != first;
      },
      30s));
  auto data = io_.run(zk_->get(parent + "/" + children_of(parent)[0]));
  ASSERT_TRUE(data);
  EXPECT_TRUE(names_address(json::parse(*data).value("tcp", json()), comet_->tcp_addresses()[0]));
  EXPECT_EQ(c->read_until_close(5s), "");
  EXPECT_TRUE(c->closed());
  EXPECT_EQ(comet_->stats().closed_migrated.load(), 1u);
  auto again = subscribe("expiry@user");  // a new connection is served as before
  again->send("h");
  EXPECT_EQ(again->read_exact(4, 5s), "+h\r\n");
}

}  // namespace
}  // namespace appmsg::comet
