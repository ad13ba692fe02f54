// The comet's offline copies stored by real message nodes: a CometService and one or two
// MessageServices sharing one ZooKeeper and one Redis, all in-process on loopback ports. The
// comet finds the message nodes under its message.path, which is the nodes' zk_path.
//
// Covers spec/message.md sections 0 and 3.1 (the comet assigns the mid and saves the copy when
// expire > 0; the copy is stored under the key with the mid as score), 5.2 and 5.3 with the
// fixes of section 7 #3 (a stopped node, or a dead node still listed in ZooKeeper, costs no
// push: calls move on to the other node within the store deadline).
//
// Threads: the test body, and one IoThread that is the control context of the comet and of the
// message nodes and runs the test's RPC clients, Redis client and ZooKeeper client; each of them
// is created, used and destroyed there. Every test has its own ZooKeeper paths and keys.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "comet/comet_config.hpp"
#include "comet/comet_service.hpp"
#include "common/http_server.hpp"
#include "common/redis_client.hpp"
#include "common/rpc.hpp"
#include "common/zk_client.hpp"
#include "message/message_config.hpp"
#include "message/message_service.hpp"
#include "support/async.hpp"
#include "support/comet_harness.hpp"
#include "support/servers.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using nlohmann::json;
using test::eventually;

class CometStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    zk_server_ = new test::ZooKeeperServer();
    zk_server_->start();
    redis_server_ = new test::RedisServer();
    redis_server_->start();
  }
  static void TearDownTestSuite() {
    delete zk_server_;
    zk_server_ = nullptr;
    delete redis_server_;
    redis_server_ = nullptr;
  }

  void SetUp() override {
    id_ = test::unique_test_id();
    root_ = "/comet_store_test_" + id_;
    io_.call([&] {
      RedisOptions o;
      o.address = redis_server_->address();
      redis_ = std::make_unique<RedisClient>(io_.executor(), o);
      redis_->start();
      zk_ = std::make_unique<ZkClient>(io_.executor(),
                                       ZkOptions{zk_server_->connect_string(), 10000ms});
      zk_->start();
    });
    io_.run(zk_->wait_connected(20s));
  }

  void TearDown() override {
    io_.call([&] { comet_rpc_.reset(); });
    test::stop_comet(io_, comet_);
    for (auto& node : nodes_) {
      if (!node.stopped) io_.run(node.service->stop());
      io_.call([&] { node.service.reset(); });
    }
    io_.call([&] {
      redis_.reset();
      zk_->close();
      zk_.reset();
    });
  }

  std::string message_path() const { return root_ + "/message"; }
  std::string key(const std::string& name) const { return name + "_" + id_ + "@user"; }

  // Starts a message node registered under message_path(); returns its index in nodes_.
  size_t start_message_node() {
    message::MessageConfig c;
    c.rpc_bind = {"127.0.0.1:0"};
    c.stat_bind = {"127.0.0.1:0"};
    c.type = "redis";
    c.redis_sources = {{"redis1", 1, redis_server_->address()}};
    c.store = store_;
    c.zk_addr = zk_server_->connect_string();
    c.zk_timeout = 10000ms;
    c.zk_path = message_path();
    auto s = io_.call([&] { return std::make_unique<message::MessageService>(io_.io(), c); });
    io_.run(s->start());
    nodes_.push_back({std::move(s), false});
    return nodes_.size() - 1;
  }
  void stop_message_node(size_t i) {
    io_.run(nodes_[i].service->stop());
    nodes_[i].stopped = true;
  }
  message::MessageService& node(size_t i) { return *nodes_[i].service; }

  void start_comet(const std::function<void(comet::CometConfig&)>& tweak = {}) {
    comet::CometConfig c =
        test::comet_test_config(zk_server_->connect_string(), root_, "comet_" + id_);
    c.store_timeout = 2000ms;
    c.rpc_retry = 1000ms;
    if (tweak) tweak(c);
    comet_ = test::start_comet(io_, c, 1);
    ASSERT_EQ(comet_->rpc_addresses().size(), 1u);
    comet_rpc_ = test::rpc_client(io_, comet_->rpc_addresses()[0]);
  }

  // The comet's push: the mid, or the error code (negative mid) when it failed.
  int64_t push(const std::string& k, const std::string& body, int64_t expire) {
    try {
      json r = io_.run(
          comet_rpc_->call("push", json{{"key", k}, {"msg", body}, {"expire", expire}}, 10s));
      return r.at("mid").get<int64_t>();
    } catch (const RpcError& e) {
      ADD_FAILURE() << "push " << k << ": code " << e.code() << ": " << e.what();
      return -e.code();
    }
  }
  int push_code(const std::string& k, int64_t expire) {
    try {
      auto r = io_.run(
          comet_rpc_->call("push", json{{"key", k}, {"msg", "{}"}, {"expire", expire}}, 10s));
      return r.value("code", 0);
    } catch (const RpcError& e) {
      return e.code();
    }
  }
  // Pushes until one is stored: the comet has discovered a message node.
  bool wait_for_store() {
    return eventually([&] { return push_code(key("warmup"), 60) == 0; });
  }
  std::vector<std::string> children(const std::string& path) {
    try {
      return io_.run(zk_->children(path));
    } catch (const ZkError&) {
      return {};
    }
  }

  // (member, score) of every member of a key's sorted set, rising score.
  std::vector<std::pair<json, int64_t>> stored(const std::string& k) {
    auto r = io_.run(redis_->command({"ZRANGE", k, "0", "-1", "WITHSCORES"}));
    std::vector<std::pair<json, int64_t>> out;
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      out.emplace_back(json::parse(r.elements[i].str), std::stoll(r.elements[i + 1].str));
    }
    return out;
  }

  struct Node {
    std::unique_ptr<message::MessageService> service;
    bool stopped = false;
  };

  static test::ZooKeeperServer* zk_server_;
  static test::RedisServer* redis_server_;
  test::IoThread io_;  // first: outlives everything that runs on it
  std::string id_, root_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<ZkClient> zk_;
  std::vector<Node> nodes_;
  std::unique_ptr<comet::CometService> comet_;
  std::unique_ptr<RpcClient> comet_rpc_;
  int store_ = 20;  // messages the message nodes keep per key
};

test::ZooKeeperServer* CometStoreTest::zk_server_ = nullptr;
test::RedisServer* CometStoreTest::redis_server_ = nullptr;

TEST_F(CometStoreTest, a_push_with_expire_is_stored_under_its_key_with_the_mid_as_score) {
  start_message_node();
  start_comet();
  ASSERT_TRUE(wait_for_store());
  const std::string k = key("stored");
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  int64_t mid = push(k, R"({"text":"hi"})", 60);
  const int64_t after = static_cast<int64_t>(std::time(nullptr));
  ASSERT_GT(mid, 0);
  auto s = stored(k);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].second, mid);
  EXPECT_EQ(s[0].first.at("msg"), (json{{"text", "hi"}}));
  EXPECT_GE(s[0].first.at("expire").get<int64_t>(), before + 60);
  EXPECT_LE(s[0].first.at("expire").get<int64_t>(), after + 60);

  // A second push gets a larger mid and is stored after the first.
  int64_t mid2 = push(k, R"({"text":"again"})", 60);
  EXPECT_GT(mid2, mid);
  s = stored(k);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].second, mid2);

  // expire 0: online only, nothing stored.
  int64_t online = push(k, R"({"text":"online only"})", 0);
  EXPECT_GT(online, mid2);
  EXPECT_EQ(stored(k).size(), 2u);

  // The message node returns what the comet stored.
  auto rpc = io_.call([&] {
    return std::make_unique<RpcClient>(io_.executor(),
                                       RpcClientOptions{node(0).rpc_addresses()[0], ""});
  });
  json got = io_.run(rpc->call("get", json{{"key", k}, {"mid", 0}}, 5s));
  // Each body as the text that was pushed (a string: no parse on the way can reorder it).
  EXPECT_EQ(got.at("msgs"), json::array({json{{"msg", R"({"text":"hi"})"}, {"mid", mid}},
                                         json{{"msg", R"({"text":"again"})"}, {"mid", mid2}}}));
  io_.call([&] { rpc.reset(); });
}

// ---------------------------------------------------------------------------------------------
// Resume from a mid

// Reads frames until one with mid `last` (or a timeout); returns the mids in arrival order.
std::vector<int64_t> read_mids_until(test::TestClient& c, int64_t last,
                                     std::chrono::milliseconds timeout = 10s) {
  std::vector<int64_t> mids;
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    auto f = c.read_frame(100ms);
    if (!f) {
      if (c.closed()) break;
      continue;
    }
    mids.push_back(json::parse(*f).at("mid").get<int64_t>());
    if (mids.back() == last) break;
  }
  return mids;
}

// A TCP client subscribed to k (version 1), resuming after `mid` when given.
std::unique_ptr<test::TestClient> resume_client(comet::CometService& comet, const std::string& k,
                                                std::optional<int64_t> mid) {
  auto c = std::make_unique<test::TestClient>(comet.tcp_addresses()[0]);
  std::vector<std::string> args{"sub", k, "30", "", "1"};
  if (mid) args.push_back(std::to_string(*mid));
  c->send(test::multi_bulk(args));
  EXPECT_EQ(c->read_exact(test::kPlusH.size()), test::kPlusH);
  return c;
}

TEST_F(CometStoreTest, resume_replays_the_stored_messages_after_the_mid_then_live_ones) {
  start_message_node();
  start_comet();
  ASSERT_TRUE(wait_for_store());
  const std::string k = key("resume");
  int64_t m1 = push(k, R"({"n":1})", 60);
  int64_t online = push(k, R"({"n":"online only"})", 0);  // never stored, so never replayed
  int64_t m2 = push(k, R"({"n":2})", 60);
  int64_t m3 = push(k, R"({"n":3})", 60);
  ASSERT_LT(m1, online);

  auto c = resume_client(*comet_, k, m1);
  auto f2 = c->read_frame();
  ASSERT_TRUE(f2);
  EXPECT_EQ(*f2, R"({"msg":{"n":2},"mid":)" + std::to_string(m2) + R"(,"gid":0})");
  auto f3 = c->read_frame();
  ASSERT_TRUE(f3);
  EXPECT_EQ(json::parse(*f3).at("mid"), m3);
  int64_t m4 = push(k, R"({"n":4})", 0);
  EXPECT_EQ(read_mids_until(*c, m4), std::vector<int64_t>{m4});
  EXPECT_TRUE(c->quiet_for(200ms));
  EXPECT_EQ(comet_->stats().resumes.load(), 1u);
  EXPECT_EQ(comet_->stats().resumed_messages.load(), 2u);

  // From the newest mid there is nothing to replay; without a mid nothing is replayed either.
  auto latest = resume_client(*comet_, k, m3);
  auto plain = resume_client(*comet_, k, std::nullopt);
  EXPECT_TRUE(latest->quiet_for(300ms));
  EXPECT_TRUE(plain->quiet_for(10ms));
  int64_t m5 = push(k, R"({"n":5})", 60);
  EXPECT_EQ(read_mids_until(*latest, m5), std::vector<int64_t>{m5});
  EXPECT_EQ(read_mids_until(*plain, m5), std::vector<int64_t>{m5});
}

// A backlog far larger than a connection's send queue is fed as the client reads it, not
// counted against it (else a client with much to catch up would be closed as slow each time).
TEST_F(CometStoreTest, resume_feeds_a_backlog_larger_than_the_send_queue) {
  store_ = 10000;
  start_message_node();
  start_comet([](comet::CometConfig& c) {
    c.max_send_queue_bytes = 16 * 1024;
    c.msgbuf_num = 30;
    c.resume_max = 1000;
  });
  ASSERT_TRUE(wait_for_store());
  const std::string k = key("backlog");
  const std::string pad(300, 'x');
  json items = json::array();
  for (int i = 0; i < 400; ++i) {
    items.push_back({{"key", k}, {"msg", json{{"i", i}, {"pad", pad}}.dump()}, {"expire", 60}});
  }
  json r = io_.run(comet_rpc_->call("push_batch", json{{"items", items}}, 10s));
  std::vector<int64_t> pushed;
  for (auto& x : r.at("results")) pushed.push_back(x.at("mid").get<int64_t>());
  ASSERT_EQ(pushed.size(), 400u);  // about 130 KB stored, eight times the send queue

  auto c = resume_client(*comet_, k, 0);
  int64_t live = push(k, R"({"live":true})", 0);  // behind the backlog, still in order
  pushed.push_back(live);
  EXPECT_EQ(read_mids_until(*c, live, 20s), pushed);
  EXPECT_FALSE(c->closed());
  EXPECT_EQ(comet_->stats().closed_slow.load(), 0u);
}

TEST_F(CometStoreTest, resume_racing_a_stream_of_pushes_gets_every_mid_once_in_order) {
  store_ = 10000;
  start_message_node();
  start_comet();
  ASSERT_TRUE(wait_for_store());
  const std::string k = key("race");
  constexpr int kPushes = 400;
  std::vector<int64_t> pushed;
  std::mutex mu;
  std::atomic<bool> go{false};
  // The pusher has its own RPC client so that its calls overlap the client's subscribes.
  std::thread pusher([&] {
    test::IoThread io;
    auto rpc = test::rpc_client(io, comet_->rpc_addresses()[0]);
    while (!go) std::this_thread::yield();
    for (int i = 0; i < kPushes; ++i) {
      json r = io.run(
          rpc->call("push", json{{"key", k}, {"msg", json{{"i", i}}.dump()}, {"expire", 60}}, 10s));
      std::lock_guard<std::mutex> lock(mu);
      pushed.push_back(r.at("mid").get<int64_t>());
    }
    io.call([&] { rpc.reset(); });
  });
  go = true;
  // Reconnect several times while the pushes go on, each time resuming from the last mid seen.
  std::vector<int64_t> received;
  for (int round = 0; round < 6; ++round) {
    auto c = resume_client(*comet_, k, received.empty() ? 0 : received.back());
    auto until = std::chrono::steady_clock::now() + 30ms * (round + 1);
    while (std::chrono::steady_clock::now() < until) {
      if (auto f = c->read_frame(5ms)) received.push_back(json::parse(*f).at("mid").get<int64_t>());
    }
  }
  pusher.join();
  ASSERT_EQ(pushed.size(), static_cast<size_t>(kPushes));
  if (received.empty() || received.back() != pushed.back()) {
    auto last = resume_client(*comet_, k, received.empty() ? 0 : received.back());
    auto rest = read_mids_until(*last, pushed.back());
    received.insert(received.end(), rest.begin(), rest.end());
  }
  EXPECT_EQ(received, pushed);  // every mid, once, in push order
  EXPECT_GE(comet_->stats().resumes.load(), 6u);
}

// A push whose offline copy is still being stored when a client resumes is not lost: the
// comet reads the store only once that push has finished storing (its fence). A fake message
// node makes the window wide: it stores each batch 300 ms after it arrives.
TEST_F(CometStoreTest, resume_waits_for_pushes_still_being_stored) {
  json saved = json::array();  // the fake node's store; touched on io_'s thread only
  auto router = std::make_shared<HttpRouter>();
  add_rpc_method(*router, "save_batch", "", [&](const json& p) -> asio::awaitable<json> {
    asio::steady_timer t(co_await asio::this_coro::executor, 300ms);
    co_await t.async_wait(asio::use_awaitable);
    for (auto& item : p.at("items")) saved.push_back(item);
    co_return json{{"errors", json::array()}};
  });
  add_rpc_method(*router, "get", "", [&](const json& p) -> asio::awaitable<json> {
    json msgs = json::array();
    for (auto& item : saved) {
      if (item.at("key") == p.at("key") && item.at("mid") > p.at("mid")) {
        msgs.push_back({{"msg", item.at("msg")}, {"mid", item.at("mid")}, {"gid", 0}});
      }
    }
    co_return json{{"msgs", std::move(msgs)}, {"more", false}};
  });
  auto server = io_.call(
      [&] { return std::make_unique<HttpServer>(io_.executor(), HttpServerOptions{}, router); });
  uint16_t port = io_.call([&] { return server->listen("127.0.0.1:0"); });
  io_.call([&] {
    zk_->register_ephemeral(message_path() + "/",
                            json{{"rpc", {"127.0.0.1:" + std::to_string(port)}}}.dump(), true);
  });
  start_comet();
  const std::string k = key("fence");
  ASSERT_TRUE(eventually([&] { return push_code(key("warmup"), 60) == 0; }));

  // The push is in its 300 ms store when the client joins: not delivered live (the client was
  // not there yet), not yet in the store either.
  std::atomic<int64_t> mid{0};
  std::thread pusher([&] { mid = push(k, R"({"late":true})", 60); });
  std::this_thread::sleep_for(100ms);
  auto c = resume_client(*comet_, k, 0);
  pusher.join();
  auto f = c->read_frame(3s);
  ASSERT_TRUE(f) << "the push racing the resume was lost";
  EXPECT_EQ(json::parse(*f).at("mid"), mid.load());
  EXPECT_TRUE(c->quiet_for(200ms));
  test::stop_comet(io_, comet_);
  io_.run(server->stop(100ms));
  io_.call([&] { server.reset(); });
}

TEST_F(CometStoreTest, resume_without_a_reachable_store_closes_the_connection) {
  start_comet();  // no message node anywhere
  const std::string k = key("nostore");
  test::TestClient c(comet_->tcp_addresses()[0]);
  c.send(test::multi_bulk({"sub", k, "30", "", "1", "0"}));
  EXPECT_EQ(c.read_exact(test::kPlusH.size()), test::kPlusH);
  c.read_until_close(10s);
  EXPECT_TRUE(c.closed());  // the client retries later, from the same mid
  EXPECT_EQ(comet_->stats().resume_failures.load(), 1u);
}

// Delivered live but not stored: the answer still carries the mid, with code 101, so that the
// caller knows the message reached the client and must not push it again.
TEST_F(CometStoreTest, a_push_delivered_but_not_stored_answers_its_mid_with_code_101) {
  start_comet();  // no message node anywhere
  const std::string k = key("unstored");
  test::TestClient c(comet_->tcp_addresses()[0]);
  c.send(test::multi_bulk({"sub", k, "30", "", "1"}));
  ASSERT_EQ(c.read_exact(test::kPlusH.size()), test::kPlusH);
  auto r = io_.run(comet_rpc_->call("push", json{{"key", k}, {"msg", "{}"}, {"expire", 60}}, 10s));
  EXPECT_EQ(r.value("code", 0), comet::push_error::store) << r.dump();
  ASSERT_TRUE(r.contains("mid") && r["mid"].is_number_integer()) << r.dump();
  auto f = c.read_frame(3s);
  ASSERT_TRUE(f) << "delivered live";
  EXPECT_EQ(json::parse(*f).at("mid"), r["mid"]);
}

TEST_F(CometStoreTest, pushes_keep_succeeding_when_one_of_two_message_nodes_stops) {
  size_t a = start_message_node();
  size_t b = start_message_node();
  ASSERT_TRUE(eventually([&] { return children(message_path()).size() == 2; }));
  start_comet();
  ASSERT_TRUE(wait_for_store());
  // Both nodes take saves (the comet goes round-robin over the nodes it knows).
  const std::string warm = key("both");
  ASSERT_TRUE(eventually([&] {
    push_code(warm, 60);
    return node(a).stats().saves.load() > 0 && node(b).stats().saves.load() > 0;
  }));

  // Pushes run without a pause from another thread while node a stops, so that some are in
  // flight on it or sent to it before the comet hears from ZooKeeper that it left.
  // One key per push: a key keeps only its newest 20 messages.
  auto k = [&](int i) { return key("during_stop_" + std::to_string(i)); };
  std::atomic<bool> done{false};
  std::atomic<int> pushed{0};
  std::mutex mu;
  std::vector<std::pair<int, int64_t>> mids;  // (push, mid)
  std::vector<std::string> failures;
  std::thread pusher([&] {
    for (int i = 0; !done; ++i) {
      try {
        json r = io_.run(comet_rpc_->call(
            "push", json{{"key", k(i)}, {"msg", json{{"i", i}}.dump()}, {"expire", 60}}, 10s));
        std::lock_guard lock(mu);
        mids.emplace_back(i, r.at("mid").get<int64_t>());
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        failures.push_back("push " + std::to_string(i) + ": " + e.what());
      }
      ++pushed;
    }
  });
  bool before = eventually([&] { return pushed.load() >= 10; });
  stop_message_node(a);  // leaves ZooKeeper, then closes its listener
  const uint64_t b_saves = node(b).stats().saves.load();
  const int at_stop = pushed.load();
  bool after = eventually([&] { return pushed.load() >= at_stop + 30; });
  done = true;
  pusher.join();
  EXPECT_TRUE(before && after) << "pushes stalled";
  EXPECT_TRUE(failures.empty()) << failures.size() << " pushes failed, first: " << failures[0];
  for (auto& [i, mid] : mids) {
    auto s = stored(k(i));
    ASSERT_EQ(s.size(), 1u) << k(i);
    EXPECT_EQ(s[0].second, mid);
    EXPECT_EQ(s[0].first.at("msg"), (json{{"i", i}}));
  }
  EXPECT_GE(node(b).stats().saves.load(), b_saves + 30);
}

TEST_F(CometStoreTest, pushes_keep_succeeding_when_a_dead_node_is_still_listed_in_zookeeper) {
  size_t a = start_message_node();
  size_t b = start_message_node();
  // A second registration of node a's address, owned by the test's own session: after node a
  // stops, ZooKeeper still lists it, as it does for a killed node until its session expires.
  std::string stale =
      json{{"rpc", json::array({node(a).rpc_addresses()[0]})}, {"weight", 1}}.dump();
  std::string prefix = message_path() + "/";
  io_.call([&] { zk_->register_ephemeral(prefix, stale, true); });
  ASSERT_TRUE(eventually([&] { return children(message_path()).size() == 3; }));
  start_comet();
  ASSERT_TRUE(wait_for_store());
  const std::string warm = key("both");
  ASSERT_TRUE(eventually([&] {
    push_code(warm, 60);
    return node(a).stats().saves.load() > 0 && node(b).stats().saves.load() > 0;
  }));

  stop_message_node(a);  // nothing listens on its address any more
  ASSERT_TRUE(eventually([&] { return children(message_path()).size() == 2; }));
  const std::string k = key("after_kill");
  std::vector<int64_t> mids;
  for (int i = 0; i < 20; ++i) {
    int64_t mid = push(k, json{{"i", i}}.dump(), 60);
    ASSERT_GT(mid, 0) << "push " << i << " failed";
    mids.push_back(mid);
  }
  auto s = stored(k);
  ASSERT_EQ(s.size(), 20u);
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i].second, mids[i]);
}

}  // namespace
}  // namespace appmsg
