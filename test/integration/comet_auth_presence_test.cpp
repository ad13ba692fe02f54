// The comet's Redis side, end to end and in-process: token auth against the web node's login
// tokens (spec/comet.md section 4 with spec/app-api.md section 1.4: a token `<uid>_<uuid>` is
// its own Redis key) and presence ("presence:<key>" = node name, with a TTL), over two real
// Redis shards and a real ZooKeeper.
//
// Every Redis key lands on the shard the SHA-1 ketama ring picks for it; the tests compute that
// shard with a RedisShards built like the comet's, and read both servers directly (a small
// blocking RESP client, independent of the code under test) to see the key on exactly that one.
//
// Presence checks that must tell a delete from an expiry (or from a refresh writing the key back)
// use a long TTL, so that neither can hide a wrong answer; the others use the 3 s TTL, refreshed
// every second. Every test has its own node name, ZooKeeper path and Redis keys, and the servers
// are this executable's own, so it may run in parallel with the other test executables. Time
// bounds are generous upper limits, never a measure of speed.
//
// Threads: the test body (blocking clients), one IoThread that is the comet's control context
// (and runs our RPC client), and the comet's own client contexts.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "comet/comet_config.hpp"
#include "comet/comet_service.hpp"
#include "comet/presence.hpp"
#include "common/http.hpp"
#include "common/redis_shards.hpp"
#include "common/rpc.hpp"
#include "support/async.hpp"
#include "support/comet_harness.hpp"
#include "support/servers.hpp"
#include "web/app/session_store.hpp"
#include "web/app/tokens.hpp"

namespace appmsg::comet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using test::eventually;
using test::kPlusH;
using test::multi_bulk;
using test::TestClient;

constexpr std::string_view kAuthFailed = "-a\r\n";

// ---------------------------------------------------------------------------------------------
// The comet's `sub`, and a one-command Redis client (blocking, with deadlines) on a TestClient.

// The comet's `sub` with all four arguments: key, heartbeat 30, token, version 1 (new format).
std::string sub_command(const std::string& key, const std::string& token) {
  return multi_bulk({"sub", key, "30", token, "1"});
}

// A scalar Redis reply: '+' status, '-' error, ':' integer, '$' bulk, or 'n' for nil.
struct Reply {
  char type = 'n';
  std::string str;
  long long integer = 0;
};

// One command on a fresh connection; throws when the server cannot be reached or does not
// answer within 3 s.
Reply redis_call(const std::string& address, const std::vector<std::string>& args) {
  TestClient c(address);
  if (!c.send(multi_bulk(args))) throw std::runtime_error("redis send to " + address);
  std::string line = c.read_line(3s);
  if (line.size() < 3) throw std::runtime_error("no redis reply from " + address);
  Reply r;
  r.type = line[0];
  std::string body = line.substr(1, line.size() - 3);
  switch (r.type) {
    case '+':
    case '-':
      r.str = body;
      break;
    case ':':
      r.integer = std::stoll(body);
      break;
    case '$': {
      long long len = std::stoll(body);
      if (len < 0) {
        r.type = 'n';
        break;
      }
      std::string data = c.read_exact(static_cast<size_t>(len) + 2, 3s);
      if (data.size() != static_cast<size_t>(len) + 2) throw std::runtime_error("short bulk");
      r.str = data.substr(0, static_cast<size_t>(len));
      break;
    }
    default:
      throw std::runtime_error("unexpected redis reply " + line);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------

class CometAuthPresenceTest : public ::testing::Test {
 protected:
  static constexpr size_t kShards = 2;
  static constexpr const char* kShardNames[kShards] = {"node1", "node2"};

  static void SetUpTestSuite() {
    zk_server_ = new test::ZooKeeperServer();
    zk_server_->start();
    for (size_t i = 0; i < kShards; ++i) {
      redis_[i] = new test::RedisServer();
      redis_[i]->start();
      redis_up_[i] = true;
    }
  }
  static void TearDownTestSuite() {
    for (auto*& r : redis_) {
      delete r;
      r = nullptr;
    }
    delete zk_server_;
    zk_server_ = nullptr;
  }

  void SetUp() override {
    // A test that stopped a server and failed before starting it again leaves it down.
    for (size_t i = 0; i < kShards; ++i) {
      if (!redis_up_[i]) start_redis(i);
    }
    id_ = test::unique_test_id();
    node_ = "comet_auth_" + id_;
    ring_ = io_.call([&] {
      // Same names, weights and base as the comet's, never started: only its ring is used.
      std::vector<RedisShards::Shard> shards;
      for (size_t i = 0; i < kShards; ++i) {
        RedisOptions o;
        o.address = redis_[i]->address();
        shards.push_back({kShardNames[i], 1, o});
      }
      return std::make_unique<RedisShards>(io_.executor(), std::move(shards), 255);
    });
  }

  void TearDown() override {
    io_.call([&] { rpc_.reset(); });
    stop_comet();
    io_.call([&] { ring_.reset(); });
  }

  CometConfig config(std::chrono::seconds presence_ttl = 3s) const {
    CometConfig c = test::comet_test_config(zk_server_->connect_string(),
                                            "/comet_auth_presence_test_" + id_, node_);
    for (size_t i = 0; i < kShards; ++i) {
      c.redis_sources.push_back({kShardNames[i], 1, redis_[i]->address()});
    }
    c.redis_timeout = 500ms;
    c.presence_ttl = presence_ttl;
    return c;
  }

  void start_comet(const CometConfig& c) {
    comet_ = test::start_comet(io_, c, 2);
    ASSERT_EQ(comet_->tcp_addresses().size(), 1u);
    ASSERT_EQ(comet_->rpc_addresses().size(), 1u);
    tcp_ = comet_->tcp_addresses()[0];
    rpc_ = test::rpc_client(io_, comet_->rpc_addresses()[0], c.rpc_secret);
  }

  void stop_comet() {
    if (!comet_) return;
    test::stop_comet(io_, comet_, stopped_);
    stopped_ = true;
  }

  static void start_redis(size_t i) {
    redis_[i]->start();
    redis_up_[i] = true;
  }
  static void stop_redis(size_t i) {
    redis_up_[i] = false;
    redis_[i]->stop();
  }

  // The index of the shard the ring picks for a Redis key.
  size_t shard_of(const std::string& redis_key) const {
    const std::string& name = ring_->shard_name(redis_key);
    for (size_t i = 0; i < kShards; ++i) {
      if (name == kShardNames[i]) return i;
    }
    ADD_FAILURE() << "ring names an unknown shard " << name;
    return 0;
  }
  // A subscriber key "<prefix><n>@user" whose presence key lands on shard i.
  std::string key_on_shard(const std::string& prefix, size_t i) const {
    for (int n = 0;; ++n) {
      std::string key = prefix + std::to_string(n) + "@user";
      if (shard_of(std::string("presence:") + key) == i) return key;
    }
  }

  static Reply redis(size_t i, const std::vector<std::string>& args) {
    return redis_call(redis_[i]->address(), args);
  }
  // Runs a command on the shard the ring picks for `redis_key` (its second argument).
  Reply on_ring_shard(const std::vector<std::string>& args) const {
    return redis(shard_of(args.at(1)), args);
  }

  // The value of presence:<key> on the ring's shard (nullopt: no such key), after checking that
  // the other shard does not hold it.
  std::optional<std::string> presence(const std::string& key) const {
    std::string rkey = "presence:" + key;
    size_t home = shard_of(rkey);
    for (size_t i = 0; i < kShards; ++i) {
      if (i != home && redis_up_[i]) {
        EXPECT_EQ(redis(i, {"EXISTS", rkey}).integer, 0) << rkey << " on the wrong shard";
      }
    }
    Reply r = redis(home, {"GET", rkey});
    if (r.type == 'n') return std::nullopt;
    return r.str;
  }
  // Like presence(), but a shard that cannot be reached (restarting) counts as "no key".
  std::optional<std::string> presence_or_nothing(const std::string& key) const {
    try {
      return presence(key);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  long long presence_ttl_seconds(const std::string& key) const {
    return on_ring_shard({"TTL", "presence:" + key}).integer;
  }

  // A connection that sent `sub` with this token and got its +h.
  std::unique_ptr<TestClient> subscribe(const std::string& key, const std::string& token = "") {
    auto c = std::make_unique<TestClient>(tcp_);
    c->send(sub_command(key, token));
    EXPECT_EQ(c->read_exact(kPlusH.size()), kPlusH) << "subscribe " << key << " token " << token;
    return c;
  }
  // Everything the comet sends to a subscriber with this token before it closes the socket
  // ("" plus a failure when it does not close within the bound).
  std::string refused(const std::string& key, const std::string& token,
                      std::chrono::milliseconds bound = 5s) {
    TestClient c(tcp_);
    c.send(sub_command(key, token));
    std::string got = c.read_until_close(bound);
    EXPECT_TRUE(c.closed()) << "key " << key << " token " << token << " still open after "
                            << bound.count() << " ms; got " << json(got).dump();
    return got;
  }

  static bool answers_heartbeat(TestClient& c) {
    return c.send("h") && c.read_exact(kPlusH.size()) == kPlusH;
  }

  int64_t push(const std::string& key, const std::string& body) {
    json params{{"key", key}, {"msg", body}, {"expire", 0}};
    return io_.run(rpc_->call("push", params, 10s)).at("mid").get<int64_t>();
  }
  // True when the connection receives this body (new format) with the mid of the push.
  static bool receives(TestClient& c, const std::string& body, int64_t mid) {
    auto payload = c.read_frame();
    return payload &&
           json::parse(*payload) == (json{{"msg", json::parse(body)}, {"mid", mid}, {"gid", 0}});
  }

  // A marker key whose presence lands on the same shard as `key`'s.
  std::string marker_for(const std::string& key) const {
    return key_on_shard("marker" + id_ + "_", shard_of("presence:" + key));
  }
  // Waits until the leaves reported so far have reached Redis: `marker` (a presence on the same
  // shard) leaves after them, the comet writes all pending changes of a shard in one pipeline,
  // so once the marker's key is gone the earlier leaves have been sent with it. The short pause
  // covers the commands queued behind the marker's in that pipeline. (A late write could only
  // make a wrong delete go unseen, never fail a correct comet.)
  void wait_for_leaves_written(std::unique_ptr<TestClient> marker, const std::string& marker_key) {
    std::this_thread::sleep_for(100ms);  // the leave just seen in the table has been reported
    marker->close();
    ASSERT_TRUE(eventually([&] { return !presence(marker_key); }, 10s)) << "marker " << marker_key;
    std::this_thread::sleep_for(300ms);
  }

  static test::ZooKeeperServer* zk_server_;
  static test::RedisServer* redis_[kShards];
  static bool redis_up_[kShards];
  test::IoThread io_;  // first: outlives everything that runs on it
  std::string id_, node_;
  std::unique_ptr<RedisShards> ring_;
  std::unique_ptr<CometService> comet_;
  bool stopped_ = false;
  std::string tcp_;
  std::unique_ptr<RpcClient> rpc_;
};

test::ZooKeeperServer* CometAuthPresenceTest::zk_server_ = nullptr;
test::RedisServer* CometAuthPresenceTest::redis_[kShards] = {nullptr, nullptr};
bool CometAuthPresenceTest::redis_up_[kShards] = {false, false};

// ---------------------------------------------------------------------------------------------
// Token auth (spec/comet.md section 4, spec/app-api.md section 1.4)

TEST_F(CometAuthPresenceTest, auth_off_accepts_any_token) {
  CometConfig c = config();
  EXPECT_FALSE(c.auth);  // the default, as the shipped comet.conf
  start_comet(c);
  const std::string key = "42_iOS-" + id_ + "@user";
  // No such token in Redis, an empty one, one of another user, one without a user part.
  for (std::string token : {"42_nosuchtoken", "", "43_abc", "garbage"}) {
    SCOPED_TRACE("token " + token);
    auto client = subscribe(key, token);
    ASSERT_TRUE(answers_heartbeat(*client));
    int64_t mid = push(key, R"({"a":1})");
    EXPECT_TRUE(receives(*client, R"({"a":1})", mid));
  }
  EXPECT_EQ(comet_->stats().sub_rejected_auth.load(), 0u);
}

TEST_F(CometAuthPresenceTest, auth_on_accepts_live_tokens_of_the_keys_user_only) {
  CometConfig c = config();
  c.auth = true;
  start_comet(c);
  const std::string token = "42_abc";
  ASSERT_EQ(on_ring_shard({"SET", token, "1"}).str, "OK");
  // The token sits on the ring's shard only, where the comet must look it up.
  EXPECT_EQ(redis(1 - shard_of(token), {"EXISTS", token}).integer, 0);

  // A live token of the key's user: +h, then pushes arrive.
  auto good = subscribe("42_iOS-1@user", token);
  ASSERT_TRUE(answers_heartbeat(*good));
  int64_t mid = push("42_iOS-1@user", R"({"hello":"world"})");
  EXPECT_TRUE(receives(*good, R"({"hello":"world"})", mid));
  // Any key of that user, with or without a device part.
  auto user_level = subscribe("42@user", token);
  ASSERT_TRUE(answers_heartbeat(*user_level));

  // Refused with exactly -a, then the socket closes.
  EXPECT_EQ(refused("42_iOS-1@user", "42_unknown"), kAuthFailed);  // not in Redis
  EXPECT_EQ(refused("43@user", token), kAuthFailed);               // another user's token
  EXPECT_EQ(refused("43_iOS-2@user", token), kAuthFailed);
  EXPECT_EQ(refused("42_iOS-1@user", ""), kAuthFailed);     // empty
  EXPECT_EQ(refused("42_iOS-1@user", "abc"), kAuthFailed);  // no user part
  EXPECT_EQ(refused("42_iOS-1@user", "42"), kAuthFailed);

  // A token on the wrong shard is not a live token.
  const std::string misplaced = "42_misplaced" + id_;
  ASSERT_EQ(redis(1 - shard_of(misplaced), {"SET", misplaced, "1"}).str, "OK");
  EXPECT_EQ(refused("42_iOS-1@user", misplaced), kAuthFailed);
  redis(1 - shard_of(misplaced), {"DEL", misplaced});

  // Deleted (logout, device/delToken): the next subscriber with it is refused.
  ASSERT_EQ(on_ring_shard({"DEL", token}).integer, 1);
  EXPECT_EQ(refused("42_iOS-1@user", token), kAuthFailed);

  // The comet only reads tokens: the refusals did not create any.
  EXPECT_EQ(on_ring_shard({"EXISTS", "42_unknown"}).integer, 0);
  EXPECT_EQ(comet_->stats().sub_rejected_auth.load(), 8u);
  // The accepted connections are untouched by all of this.
  EXPECT_TRUE(answers_heartbeat(*good));
  EXPECT_TRUE(answers_heartbeat(*user_level));
}

TEST_F(CometAuthPresenceTest, auth_on_with_redis_down_refuses_in_bounded_time_and_recovers) {
  CometConfig c = config();
  c.auth = true;
  start_comet(c);
  const std::string token = "77_" + id_;
  const std::string key = "77_Android-1@user";
  ASSERT_EQ(on_ring_shard({"SET", token, "1"}).str, "OK");
  auto before = subscribe(key, token);
  ASSERT_TRUE(answers_heartbeat(*before));

  for (size_t i = 0; i < kShards; ++i) stop_redis(i);
  // -a within the command timeout (500 ms; bounded here far above it), not a hang.
  auto t0 = Clock::now();
  EXPECT_EQ(refused(key, token, 10s), kAuthFailed);
  EXPECT_LT(Clock::now() - t0, 10s);
  EXPECT_GT(comet_->stats().sub_rejected_auth.load(), 0u);

  // The comet keeps serving what it has: heartbeats and pushes to the connected client.
  EXPECT_TRUE(answers_heartbeat(*before));
  int64_t mid = push(key, R"({"while":"redis down"})");
  EXPECT_TRUE(receives(*before, R"({"while":"redis down"})", mid));

  // Redis back (empty: no persistence) with the token: subscribers get in again.
  for (size_t i = 0; i < kShards; ++i) start_redis(i);
  ASSERT_EQ(on_ring_shard({"SET", token, "1"}).str, "OK");
  ASSERT_TRUE(eventually(
      [&] {
        TestClient again(tcp_);
        again.send(sub_command(key, token));
        return again.read_exact(kPlusH.size(), 5s) == kPlusH;
      },
      20s));
  auto after = subscribe(key, token);
  mid = push(key, R"({"after":1})");
  EXPECT_TRUE(receives(*after, R"({"after":1})", mid));
  EXPECT_TRUE(receives(*before, R"({"after":1})", mid));
}

// ---------------------------------------------------------------------------------------------
// Presence

TEST_F(CometAuthPresenceTest, presence_is_written_with_ttl_refreshed_and_removed_on_leave) {
  start_comet(config(3s));
  // One key on each shard.
  std::vector<std::string> keys{key_on_shard("p" + id_ + "_a", 0),
                                key_on_shard("p" + id_ + "_b", 1)};
  std::vector<std::unique_ptr<TestClient>> clients;
  for (auto& key : keys) clients.push_back(subscribe(key));
  for (auto& key : keys) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(eventually([&] { return presence(key) == node_; }, 10s));
    long long ttl = presence_ttl_seconds(key);
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 3);
  }

  // Longer than the TTL: refreshed, not expired.
  std::this_thread::sleep_for(5s);
  for (auto& key : keys) {
    SCOPED_TRACE(key);
    EXPECT_EQ(presence(key), node_);
    long long ttl = presence_ttl_seconds(key);
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 3);
  }
  for (auto& client : clients) EXPECT_TRUE(answers_heartbeat(*client));

  clients.clear();  // both leave
  for (auto& key : keys) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(eventually([&] { return !presence(key); }, 5s));
  }
}

// A connection the channel table can hold; it does nothing (the presence bound test).
class IdleSubscriber : public comet::Subscriber {
 public:
  explicit IdleSubscriber(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  void deliver(std::shared_ptr<const comet::Message>) override {}
  boost::asio::any_io_executor executor() override { return ex_; }
  void deliver_here(const std::shared_ptr<const comet::Message>&) override {}
  void close(comet::CloseReason) override {}
  bool old_format() const override { return false; }

 private:
  boost::asio::any_io_executor ex_;
};

// At most max_pending keys wait with a change: a change to a further key is dropped and
// counted, and the next flush rewrites every key that has a connection instead, so a dropped
// join is still written; a dropped key with no connection is not.
TEST_F(CometAuthPresenceTest, pending_presence_changes_are_bounded_and_a_full_rewrite_follows) {
  const std::string a = "pb" + id_ + "_a", b = "pb" + id_ + "_b", c = "pb" + id_ + "_c",
                    d = "pb" + id_ + "_d";
  comet::ChannelTable table(1, 8);
  ASSERT_EQ(table.add(c, std::make_shared<IdleSubscriber>(io_.executor())),
            comet::ChannelTable::AddResult::added);
  std::atomic<uint64_t> errors{0}, dropped{0};
  io_.call([&] { ring_->start(); });
  auto writer = io_.call([&] {
    return std::make_unique<comet::Presence>(io_.executor(), *ring_, table, "bounded-node", 60s,
                                             errors, dropped, 2);
  });
  writer->changed(a, true);
  writer->changed(b, true);
  writer->changed(a, true);  // a key already pending: no new entry
  EXPECT_EQ(dropped.load(), 0u);
  writer->changed(c, true);
  writer->changed(d, true);
  EXPECT_EQ(dropped.load(), 2u);
  io_.run(writer->flush());
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_EQ(presence(a), "bounded-node");
  EXPECT_EQ(presence(b), "bounded-node");
  EXPECT_EQ(presence(c), "bounded-node") << "the rewrite writes every key with a connection";
  EXPECT_EQ(presence(d), std::nullopt) << "no connection, so nothing to write";
  io_.call([&] { writer.reset(); });
}

TEST_F(CometAuthPresenceTest, leave_deletes_presence_long_before_it_expires) {
  // A TTL (and refresh period) far beyond the wait: only a delete can make the key go.
  start_comet(config(120s));
  const std::string key = "leave" + id_ + "@user";
  auto client = subscribe(key);
  ASSERT_TRUE(eventually([&] { return presence(key) == node_; }, 10s));
  EXPECT_GT(presence_ttl_seconds(key), 60);
  client->close();
  EXPECT_TRUE(eventually([&] { return !presence(key); }, 10s));
}

TEST_F(CometAuthPresenceTest, presence_stays_while_another_connection_of_the_key_is_open) {
  start_comet(config(120s));  // no refresh during the test: a wrong delete would show
  const std::string key = "two" + id_ + "@user";
  const std::string marker_key = marker_for(key);
  auto first = subscribe(key);
  auto second = subscribe(key);
  auto marker = subscribe(marker_key);
  ASSERT_TRUE(
      eventually([&] { return presence(key) == node_ && presence(marker_key) == node_; }, 10s));

  first->close();
  ASSERT_TRUE(eventually([&] { return comet_->table().count(key) == 1; }, 10s));
  wait_for_leaves_written(std::move(marker), marker_key);
  EXPECT_EQ(presence(key), node_);
  EXPECT_TRUE(answers_heartbeat(*second));

  second->close();
  EXPECT_TRUE(eventually([&] { return !presence(key); }, 10s));
}

TEST_F(CometAuthPresenceTest, leave_does_not_delete_presence_naming_another_node) {
  start_comet(config(120s));  // no refresh would write our name back before the leave
  const std::string key = "moved" + id_ + "@user";
  const std::string marker_key = marker_for(key);
  auto client = subscribe(key);
  auto marker = subscribe(marker_key);
  ASSERT_TRUE(
      eventually([&] { return presence(key) == node_ && presence(marker_key) == node_; }, 10s));

  // The client has meanwhile subscribed on another comet, which wrote its own name.
  ASSERT_EQ(on_ring_shard({"SET", "presence:" + key, "other", "EX", "120"}).str, "OK");
  client->close();
  ASSERT_TRUE(eventually([&] { return comet_->table().count(key) == 0; }, 10s));
  wait_for_leaves_written(std::move(marker), marker_key);
  EXPECT_EQ(presence(key), "other");
  on_ring_shard({"DEL", "presence:" + key});
}

TEST_F(CometAuthPresenceTest, presence_survives_redis_restart) {
  start_comet(config(3s));
  const std::string key = key_on_shard("restart" + id_ + "_", 0);
  const std::string other_key = key_on_shard("restart" + id_ + "_", 1);
  auto client = subscribe(key);
  auto other_client = subscribe(other_key);
  ASSERT_TRUE(eventually([&] { return presence(key) == node_; }, 10s));
  ASSERT_TRUE(eventually([&] { return presence(other_key) == node_; }, 10s));

  // The shard loses everything (no persistence); the client stays connected.
  redis_[0]->restart();
  EXPECT_TRUE(eventually([&] { return presence_or_nothing(key) == node_; }, 20s));
  long long ttl = presence_ttl_seconds(key);
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 3);
  EXPECT_EQ(presence(other_key), node_);
  EXPECT_TRUE(answers_heartbeat(*client));
  EXPECT_TRUE(answers_heartbeat(*other_client));
}

TEST_F(CometAuthPresenceTest, graceful_stop_removes_presence_of_connected_clients) {
  start_comet(config(120s));  // only the stop's delete can remove the keys
  std::vector<std::string> keys{key_on_shard("stop" + id_ + "_", 0),
                                key_on_shard("stop" + id_ + "_", 1)};
  std::vector<std::unique_ptr<TestClient>> clients;
  for (auto& key : keys) clients.push_back(subscribe(key));
  clients.push_back(subscribe(keys[0]));  // two connections on one key
  for (auto& key : keys) ASSERT_TRUE(eventually([&] { return presence(key) == node_; }, 10s));

  io_.run(comet_->stop());
  stopped_ = true;
  for (auto& key : keys) EXPECT_FALSE(presence(key).has_value()) << key;
  for (auto& client : clients) {
    client->read_until_close(5s);
    EXPECT_TRUE(client->closed());
  }
}

// The web node's side of the same Redis (src/web/app): the tokens it issues and the sessions it
// reads, on a started ring of the same two shards.
class WebSideRedis {
 public:
  explicit WebSideRedis(test::IoThread& io, std::vector<RedisShards::Shard> shards) : io_(io) {
    ring_ = io_.call([&] {
      auto r = std::make_unique<RedisShards>(io_.executor(), std::move(shards), 255);
      r->start();
      return r;
    });
    tokens_ = std::make_unique<web::app::Tokens>(*ring_, std::chrono::seconds(3600));
    sessions_ = std::make_unique<web::app::SessionStore>(*ring_, std::chrono::seconds(3));
  }
  ~WebSideRedis() {
    io_.call([&] {
      ring_->stop();
      ring_.reset();
    });
  }
  std::string login(const std::string& uid) { return io_.run(tokens_->create(uid)); }
  void logout(const std::string& token) { io_.run(tokens_->remove(token)); }
  std::vector<web::app::Session> sessions(const std::string& uid) {
    auto all = io_.run(sessions_->of_users({uid}));
    return all.count(uid) ? all[uid] : std::vector<web::app::Session>{};
  }
  bool set_state(const std::string& uid, const std::string& sid, const std::string& state) {
    return io_.run(sessions_->set_state(uid, sid, state));
  }

 private:
  test::IoThread& io_;
  std::unique_ptr<RedisShards> ring_;
  std::unique_ptr<web::app::Tokens> tokens_;
  std::unique_ptr<web::app::SessionStore> sessions_;
};

class CometWebSharingTest : public CometAuthPresenceTest {
 protected:
  // A user id of this test: user ids never hold '_' (spec/app-api.md 0).
  std::string uid(const std::string& prefix) const {
    std::string id = prefix + id_;
    std::replace(id.begin(), id.end(), '_', 'x');
    return id;
  }
  std::unique_ptr<WebSideRedis> web_side() {
    std::vector<RedisShards::Shard> shards;
    for (size_t i = 0; i < kShards; ++i) {
      RedisOptions o;
      o.address = redis_[i]->address();
      shards.push_back({kShardNames[i], 1, o});
    }
    return std::make_unique<WebSideRedis>(io_, std::move(shards));
  }
};

TEST_F(CometWebSharingTest, auth_on_accepts_the_tokens_web_issues_for_their_users_keys_only) {
  CometConfig c = config();
  c.auth = true;
  start_comet(c);
  auto web = web_side();
  // Several users, so that the tokens spread over both shards.
  for (int i = 0; i < 6; ++i) {
    std::string uid = this->uid("w" + std::to_string(i));
    std::string token = web->login(uid);
    SCOPED_TRACE(token);
    auto good = subscribe(uid + "_iOS-1@user", token);
    ASSERT_TRUE(answers_heartbeat(*good));
    EXPECT_EQ(refused("x" + uid + "_iOS-1@user", token), kAuthFailed);  // another user's key
    web->logout(token);
    EXPECT_EQ(refused(uid + "_iOS-2@user", token), kAuthFailed);  // logged out
  }
}

TEST_F(CometWebSharingTest, sessions_are_listed_per_user_with_their_state_until_they_leave) {
  start_comet(config(3s));
  auto web = web_side();
  const std::string uid = this->uid("s");
  auto phone = subscribe(uid + "_iOS-a@user");
  auto browser = subscribe(uid + "_web-9-x@user");
  auto offline = subscribe(uid + "@user");  // the offline key is no session
  ASSERT_TRUE(eventually([&] { return web->sessions(uid).size() == 2; }, 10s));
  auto list = web->sessions(uid);
  EXPECT_EQ(list[0].id, uid + "_iOS-a");
  EXPECT_EQ(list[0].type, "iOS");
  EXPECT_EQ(list[0].state, "init");
  EXPECT_EQ(list[1].id, uid + "_web-9-x");
  EXPECT_EQ(list[1].type, "web");
  EXPECT_TRUE(web->set_state(uid, uid + "_iOS-a", "active"));
  EXPECT_FALSE(web->set_state(uid, uid + "_iOS-gone", "active"));
  // Longer than the TTL: refreshed, state kept.
  std::this_thread::sleep_for(4s);
  list = web->sessions(uid);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].state, "active");
  phone.reset();  // leaves
  ASSERT_TRUE(eventually([&] { return web->sessions(uid).size() == 1; }, 5s));
  EXPECT_EQ(web->sessions(uid)[0].id, uid + "_web-9-x");
  EXPECT_FALSE(web->set_state(uid, uid + "_iOS-a", "active"));
}

}  // namespace
}  // namespace appmsg::comet
