// The message daemon end to end, in-process: a MessageService on loopback ports with a real
// ZooKeeper, two real Redis shards and a real MariaDB, called through its RPC (RpcClient) and
// checked directly in the stores (Redis commands on each shard, SQL through mysql::Pool).
//
// Covers spec/message.md sections 1 (save, get, delete and their JSON shapes), 2.1 and 4.1
// (placement on the SHA-1 ring, the 8.3 vectors), 2.2 and 8.4 (the sorted set: score = mid,
// trim to `store`, exclusive lower bound), 2.3 (the MySQL table, its indexes, the cleanup),
// 3.3 (expiry on read), 5.1 (the ZooKeeper registration) and the fixes of section 7: #2
// (deadlines while a shard is down), #5 (equal payloads stay two messages), #6 (key TTL and
// the sweep), #9 (empty key rejected), #13 (a repeated save is not an error).
//
// Threads: the test body, and one IoThread that is the service's control context and also runs
// the test's RPC client, Redis clients, MySQL pools and ZooKeeper client; each of them is
// created, used and destroyed there. The servers are shared by every test of this executable
// (a global environment); each test has its own ZooKeeper path, its own keys (the tests that
// need the spec's keys delete them first) and its own MySQL database, so their order does not
// matter. Time bounds are generous limits, never a measure of speed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/ketama.hpp"
#include "common/mysql_pool.hpp"
#include "common/redis_client.hpp"
#include "common/rpc.hpp"
#include "common/zk_client.hpp"
#include "message/message_config.hpp"
#include "message/message_rpc.hpp"
#include "message/message_service.hpp"
#include "message/mysql_store.hpp"
#include "message/redis_store.hpp"
#include "support/async.hpp"
#include "support/servers.hpp"
#include "support/zk_session.hpp"

namespace appmsg::message {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using test::eventually;

// ---------------------------------------------------------------------------------------------
// Servers shared by the whole executable. MariaDB starts on first use, so that a filtered run of
// the Redis tests does not wait for it. Started and stopped on the main thread (the thread gtest
// runs tests on), as servers.hpp requires.

struct Servers {
  test::ZooKeeperServer zk;
  test::RedisServer redis1, redis2;  // the ring names "redis1" and "redis2"
  std::unique_ptr<test::MariaDbServer> mariadb;

  test::MariaDbServer& maria() {
    if (!mariadb) {
      mariadb = std::make_unique<test::MariaDbServer>();
      mariadb->start();
    }
    return *mariadb;
  }
};

Servers* servers = nullptr;

class ServersEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    servers = new Servers();
    servers->zk.start();
    servers->redis1.start();
    servers->redis2.start();
  }
  void TearDown() override {
    delete servers;
    servers = nullptr;
  }
};

[[maybe_unused]] ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new ServersEnvironment);

enum class Backend { redis, mysql };

int64_t now_unix() {
  return static_cast<int64_t>(std::time(nullptr));
}

// Sleeps until the wall clock is past `unix_s` (a message with that expiry is then expired).
void sleep_past(int64_t unix_s) {
  while (now_unix() <= unix_s) std::this_thread::sleep_for(50ms);
}

std::vector<int64_t> mids_of(const json& get_reply) {
  std::vector<int64_t> out;
  for (auto& m : get_reply.at("msgs")) out.push_back(m.at("mid").get<int64_t>());
  return out;
}

// ---------------------------------------------------------------------------------------------

class MessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    id_ = std::to_string(::getpid()) + "_" + std::to_string(++counter);
    zk_path_ = "/message_test_" + id_ + "/message";
    io_.call([&] {
      for (auto* s : {&servers->redis1, &servers->redis2}) {
        RedisOptions o;
        o.address = s->address();
        o.command_timeout = 2000ms;
        redis_.push_back(std::make_unique<RedisClient>(io_.executor(), o));
        redis_.back()->start();
      }
      zk_ = std::make_unique<ZkClient>(io_.executor(),
                                       ZkOptions{servers->zk.connect_string(), 10000ms});
      zk_->start();
    });
    io_.run(zk_->wait_connected(20s));
  }

  void TearDown() override {
    io_.call([&] { rpc_.reset(); });
    stop_service();
    io_.call([&] {
      redis_.clear();
      zk_->close();
      zk_.reset();
      sql_.reset();
    });
  }

  // A key of this test only.
  std::string key(const std::string& name) const { return name + "_" + id_ + "@user"; }

  MessageConfig config(Backend backend = Backend::redis) {
    MessageConfig c;
    c.rpc_bind = {"127.0.0.1:0"};
    c.stat_bind = {"127.0.0.1:0"};
    c.type = backend == Backend::mysql ? "mysql" : "redis";
    c.redis_ketama_base = 255;
    c.redis_sources = {{"redis1", 1, servers->redis1.address()},
                       {"redis2", 1, servers->redis2.address()}};
    c.sweep_interval = 3600s;  // tests of the sweep set it small
    if (backend == Backend::mysql) {
      c.mysql_sources = {
          {"mysql1", 1, "root@tcp(" + servers->maria().address() + ")/" + database()}};
    }
    c.zk_addr = servers->zk.connect_string();
    c.zk_timeout = 4000ms;
    c.zk_path = zk_path_;
    return c;
  }

  void start(const MessageConfig& c) {
    service_ = io_.call([&] { return std::make_unique<MessageService>(io_.io(), c); });
    io_.run(service_->start());
    ASSERT_EQ(service_->rpc_addresses().size(), 1u);
    io_.call([&] {
      rpc_ = std::make_unique<RpcClient>(io_.executor(),
                                         RpcClientOptions{service_->rpc_addresses()[0], ""});
    });
  }

  void stop_service() {
    if (!service_) return;
    if (!stopped_) io_.run(service_->stop());
    stopped_ = true;
    io_.call([&] { service_.reset(); });
  }

  // ---- RPC ----

  // Bodies travel as JSON text: a test's msg value is sent as its text, and each body a get
  // returns (text, exactly as stored) is parsed back, so that tests compare values.
  static json as_text(json params) {
    auto text = [](json& item) {
      if (item.is_object() && item.contains("msg") && !item["msg"].is_string())
        item["msg"] = item["msg"].dump();
    };
    text(params);
    if (params.is_object() && params.contains("items") && params["items"].is_array())
      for (auto& item : params["items"]) text(item);
    return params;
  }
  json call(const std::string& method, const json& params,
            std::chrono::milliseconds deadline = 5s) {
    json reply = io_.run(rpc_->call(method, as_text(params), deadline));
    if (method == "get" && reply.contains("msgs")) {
      for (auto& m : reply["msgs"]) {
        m["msg"] = json::parse(m.at("msg").get<std::string>());
        m["gid"] = 0;
      }
    }
    return reply;
  }
  // The error code of a call (0 when it succeeded).
  int code(const std::string& method, const json& params) {
    try {
      call(method, params);
      return 0;
    } catch (const RpcError& e) {
      return e.code();
    }
  }
  json save(const std::string& k, const json& msg, int64_t mid, int64_t expire = 600) {
    return call("save", json{{"key", k}, {"msg", msg}, {"mid", mid}, {"expire", expire}});
  }
  json get(const std::string& k, int64_t after = 0, std::optional<int> limit = std::nullopt) {
    json p{{"key", k}, {"mid", after}};
    if (limit) p["limit"] = *limit;
    return call("get", p);
  }

  // ---- Redis, directly ----

  // 0 for the shard "redis1", 1 for "redis2", as the service places the key.
  size_t server_of(const std::string& k) const {
    return service_->store().shard_of(k) == "redis1" ? 0 : 1;
  }
  RedisReply redis(size_t server, std::vector<std::string> args) {
    return io_.run(redis_.at(server)->command(std::move(args)));
  }
  RedisReply redis_for(const std::string& k, std::vector<std::string> args) {
    return redis(server_of(k), std::move(args));
  }
  // (member, score) of every member of a key's sorted set, rising score.
  std::vector<std::pair<json, int64_t>> members(const std::string& k) {
    auto r = redis_for(k, {"ZRANGE", k, "0", "-1", "WITHSCORES"});
    std::vector<std::pair<json, int64_t>> out;
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      out.emplace_back(json::parse(r.elements[i].str), std::stoll(r.elements[i + 1].str));
    }
    return out;
  }
  int64_t ttl(const std::string& k) { return redis_for(k, {"TTL", k}).integer; }
  void delete_everywhere(const std::string& k) {
    redis(0, {"DEL", k});
    redis(1, {"DEL", k});
  }

  // ---- MySQL, directly ----

  // This test's database (created on first use) and a pool on it.
  const std::string& database() {
    if (database_.empty()) {
      std::string name = "message_test_" + id_;
      mysql::Options o;
      o.host = "127.0.0.1";
      o.port = servers->maria().port();
      o.connections = 1;
      auto admin = io_.call([&] { return std::make_unique<mysql::Pool>(io_.executor(), o); });
      io_.run(admin->execute("CREATE DATABASE " + name, {}));
      io_.call([&] { admin.reset(); });
      o.database = name;
      sql_ = io_.call([&] { return std::make_unique<mysql::Pool>(io_.executor(), o); });
      database_ = name;
    }
    return database_;
  }
  mysql::Result sql(std::string query, std::vector<mysql::Value> params = {}) {
    return io_.run(sql_->execute(std::move(query), std::move(params)));
  }
  int64_t row_count(const std::string& k) {
    auto r = sql("SELECT COUNT(*) FROM private_msg WHERE skey=?", {k});
    return std::stoll(*r.rows.at(0).at(0));
  }

  test::IoThread io_;  // first: outlives everything that runs on it
  std::string id_, zk_path_, database_;
  std::vector<std::unique_ptr<RedisClient>> redis_;
  std::unique_ptr<ZkClient> zk_;
  std::unique_ptr<mysql::Pool> sql_;
  std::unique_ptr<MessageService> service_;
  bool stopped_ = false;
  std::unique_ptr<RpcClient> rpc_;
};

// ---------------------------------------------------------------------------------------------
// The same behaviour on both backends. stored_mids() reads the store itself, not the RPC.

class BothBackendsTest : public MessageTest, public ::testing::WithParamInterface<Backend> {
 protected:
  MessageConfig config() { return MessageTest::config(GetParam()); }

  std::vector<int64_t> stored_mids(const std::string& k) {
    std::vector<int64_t> out;
    if (GetParam() == Backend::redis) {
      for (auto& [member, score] : members(k)) out.push_back(score);
    } else {
      for (auto& row : sql("SELECT mid FROM private_msg WHERE skey=? ORDER BY mid", {k}).rows) {
        out.push_back(std::stoll(*row.at(0)));
      }
    }
    return out;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, BothBackendsTest,
                         ::testing::Values(Backend::redis, Backend::mysql),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param == Backend::redis ? "redis" : "mysql");
                         });

TEST_P(BothBackendsTest, save_and_get_round_trip_msg_as_json_value_and_as_json_text) {
  start(config());
  const std::string k = key("round_trip");
  EXPECT_EQ(save(k, json{{"text", "hi <b>&"}, {"n", 1}}, 1418282661123456), json::object());
  // A string carries JSON text: it is stored as the value it holds.
  EXPECT_EQ(save(k, "{ \"text\" : \"\xE4\xBD\xA0\xE5\xA5\xBD\" }", 1418282661123457),
            json::object());
  EXPECT_EQ(save(k, "\"just a string\"", 1418282661123458), json::object());
  EXPECT_EQ(save(k, json::array({1, 2, 3}), 1418282661123459), json::object());

  json expected{
      {"msgs",
       json::array({
           json{{"msg", {{"text", "hi <b>&"}, {"n", 1}}}, {"mid", 1418282661123456}, {"gid", 0}},
           json{{"msg", {{"text", "\xE4\xBD\xA0\xE5\xA5\xBD"}}},
                {"mid", 1418282661123457},
                {"gid", 0}},
           json{{"msg", "just a string"}, {"mid", 1418282661123458}, {"gid", 0}},
           json{{"msg", json::array({1, 2, 3})}, {"mid", 1418282661123459}, {"gid", 0}},
       })},
      {"more", false}};
  EXPECT_EQ(get(k), expected);
  EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{1418282661123456, 1418282661123457,
                                                  1418282661123458, 1418282661123459}));
  // A key with nothing stored: an empty list is a success.
  EXPECT_EQ(get(key("nothing")), (json{{"msgs", json::array()}, {"more", false}}));
}

TEST_P(BothBackendsTest, get_returns_rising_mids_strictly_after_the_given_mid) {
  start(config());
  const std::string k = key("order");
  for (int64_t mid : {5, 3, 1, 4, 2}) save(k, json{{"m", mid}}, mid);
  EXPECT_EQ(mids_of(get(k, 0)), (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(mids_of(get(k, 4)), (std::vector<int64_t>{5}));  // exclusive lower bound
  EXPECT_EQ(mids_of(get(k, 3)), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(mids_of(get(k, 5)), (std::vector<int64_t>{}));
  json all = get(k);  // named: a range-for over a member of a temporary would dangle
  for (auto& m : all.at("msgs")) EXPECT_EQ(m.at("msg"), (json{{"m", m.at("mid")}}));
}

TEST_P(BothBackendsTest, limit_pages_and_more_says_whether_messages_remain) {
  start(config());
  const std::string k = key("limit");
  for (int64_t mid = 1; mid <= 5; ++mid) save(k, json{{"m", mid}}, mid);
  auto page = get(k, 0, 2);
  EXPECT_EQ(mids_of(page), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(page.at("more"), true);
  page = get(k, 2, 2);
  EXPECT_EQ(mids_of(page), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(page.at("more"), true);
  page = get(k, 4, 2);
  EXPECT_EQ(mids_of(page), (std::vector<int64_t>{5}));
  EXPECT_EQ(page.at("more"), false);
  page = get(k, 3, 2);  // exactly the rest
  EXPECT_EQ(mids_of(page), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(page.at("more"), false);
  page = get(k, 0, 5);
  EXPECT_EQ(mids_of(page).size(), 5u);
  EXPECT_EQ(page.at("more"), false);
  EXPECT_EQ(code("get", json{{"key", k}, {"mid", 0}, {"limit", 0}}), message_error::param);
  EXPECT_EQ(code("get", json{{"key", k}, {"mid", 0}, {"limit", 1001}}), message_error::param);
}

TEST_P(BothBackendsTest, store_keeps_only_the_newest_messages_of_a_key) {
  auto c = config();
  c.store = 3;
  start(c);
  const std::string k = key("trim");
  for (int64_t mid = 1; mid <= 5; ++mid) save(k, json{{"m", mid}}, mid);
  EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(mids_of(get(k, 4)), (std::vector<int64_t>{5}));
  // An older mid saved late is the oldest, so it is trimmed at once.
  save(k, json{{"m", 2}}, 2);
  EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{3, 4, 5}));
}

TEST_P(BothBackendsTest, equal_payloads_with_different_mids_are_two_messages) {
  start(config());
  const std::string k = key("equal");
  const json msg{{"text", "same"}};
  save(k, msg, 5, 600);
  save(k, msg, 6, 600);  // the same member text in the original, which lost mid 5
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{5, 6}));
}

TEST_P(BothBackendsTest, saving_the_same_mid_again_is_a_success_and_keeps_one_copy) {
  start(config());
  const std::string k = key("again");
  save(k, json{{"v", 1}}, 7);
  EXPECT_EQ(save(k, json{{"v", 1}}, 7), json::object());  // a retried save
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{7}));
  EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{7}));
}

TEST_P(BothBackendsTest, expired_messages_are_not_returned) {
  start(config());
  const std::string k = key("expiry");
  const std::string alone = key("expiry_alone");
  save(k, json{{"m", 1}}, 1, 1);    // expires in a second
  save(k, json{{"m", 2}}, 2, 600);  // keeps the key alive (its TTL) meanwhile
  save(alone, json{{"m", 1}}, 1, 1);
  const int64_t saved_at = now_unix();
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{1, 2}));  // still visible
  sleep_past(saved_at + 1);                                  // now > expire_at of mid 1
  EXPECT_EQ(get(alone), (json{{"msgs", json::array()}, {"more", false}}));
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{2}));
  EXPECT_EQ(mids_of(get(k, 0, 1)), (std::vector<int64_t>{2}));
  if (GetParam() == Backend::redis) {
    // The read removes what it found expired, in the background (the sweep is off here).
    EXPECT_TRUE(eventually([&] { return stored_mids(k) == std::vector<int64_t>{2}; }, 5s))
        << "mid 1 still in Redis";
  } else {
    EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{1, 2}));  // rows go with the cleanup
  }
}

TEST_P(BothBackendsTest, delete_removes_every_message_of_a_key) {
  start(config());
  const std::string k = key("delete");
  const std::string other = key("delete_other");
  for (int64_t mid = 1; mid <= 3; ++mid) save(k, json{{"m", mid}}, mid);
  save(other, json{{"m", 1}}, 1);
  EXPECT_EQ(call("delete", json{{"key", k}}), json::object());
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{}));
  EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{}));
  if (GetParam() == Backend::redis) {
    EXPECT_EQ(redis_for(k, {"EXISTS", k}).integer, 0);
  }
  EXPECT_EQ(mids_of(get(other)), (std::vector<int64_t>{1}));  // other keys untouched
  EXPECT_EQ(call("delete", json{{"key", key("never_saved")}}), json::object());
  // A key saved again after a delete starts afresh.
  save(k, json{{"m", 9}}, 9);
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{9}));
}

TEST_P(BothBackendsTest, bad_parameters_are_code_100_and_store_nothing) {
  start(config());
  const std::string k = key("bad");
  auto save_params = [&](json changes) {
    json p{{"key", k}, {"msg", json{{"a", 1}}}, {"mid", 1}, {"expire", 60}};
    for (auto& [name, value] : changes.items()) {
      if (value.is_null()) {
        p.erase(name);
      } else {
        p[name] = value;
      }
    }
    return p;
  };
  EXPECT_EQ(code("save", save_params({{"key", ""}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"key", nullptr}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"key", std::string(256, 'k')}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"msg", "not json"}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"msg", nullptr}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"msg", json{{"big", std::string(70000, 'x')}}}})),
            message_error::param);
  EXPECT_EQ(code("save", save_params({{"mid", -1}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"mid", nullptr}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"mid", int64_t{1} << 53}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"mid", "1"}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"expire", 0}})), message_error::param);
  EXPECT_EQ(code("save", save_params({{"expire", -5}})), message_error::param);
  EXPECT_EQ(code("save", json::array()), message_error::param);
  EXPECT_EQ(code("get", json{{"key", ""}, {"mid", 0}}), message_error::param);
  EXPECT_EQ(code("get", json{{"key", k}, {"mid", -1}}), message_error::param);
  EXPECT_EQ(code("delete", json{{"key", ""}}), message_error::param);
  EXPECT_EQ(code("save_batch", json{{"items", "no"}}), message_error::param);
  EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{}));
  EXPECT_EQ(code("ping", 0), 0);
}

TEST_P(BothBackendsTest, batch_reports_bad_items_by_index_and_saves_the_others) {
  start(config());
  const std::string k = key("batch_errors");
  json items = json::array({
      json{{"key", k}, {"msg", json{{"i", 0}}}, {"mid", 10}, {"expire", 60}},
      json{{"key", ""}, {"msg", json{{"i", 1}}}, {"mid", 11}, {"expire", 60}},
      json{{"key", k}, {"msg", "not json"}, {"mid", 12}, {"expire", 60}},
      json{{"key", k}, {"msg", json{{"i", 3}}}, {"mid", -1}, {"expire", 60}},
      json{{"key", k}, {"msg", json{{"i", 4}}}, {"mid", 14}, {"expire", 0}},
      json{{"key", k}, {"msg", "{\"i\":5}"}, {"mid", 15}, {"expire", 60}},
      json{{"key", k}, {"mid", 16}, {"expire", 60}},  // no msg
  });
  auto reply = call("save_batch", json{{"items", items}});
  std::vector<int64_t> failed;
  for (auto& e : reply.at("errors")) {
    EXPECT_EQ(e.at("code"), message_error::param) << e.dump();
    EXPECT_TRUE(e.at("message").is_string()) << e.dump();
    failed.push_back(e.at("index").get<int64_t>());
  }
  std::sort(failed.begin(), failed.end());
  EXPECT_EQ(failed, (std::vector<int64_t>{1, 2, 3, 4, 6}));
  auto got = get(k);
  EXPECT_EQ(mids_of(got), (std::vector<int64_t>{10, 15}));
  EXPECT_EQ(got.at("msgs").at(1).at("msg"), (json{{"i", 5}}));
  EXPECT_EQ(stored_mids(k), (std::vector<int64_t>{10, 15}));
  // An empty batch is a success with no errors.
  EXPECT_EQ(call("save_batch", json{{"items", json::array()}}), (json{{"errors", json::array()}}));
}

// ---------------------------------------------------------------------------------------------
// Redis layout, TTL and the sweep (spec 2.2, 8.4, section 7 #5 #6)

TEST_F(MessageTest, redis_member_is_msg_expire_and_mid_with_the_mid_as_score) {
  start(config());
  const std::string k = key("layout");
  const int64_t before = now_unix();
  save(k, "{ \"text\" : \"hi <b>\" }", 1418282661123456, 60);
  const int64_t after = now_unix();
  auto m = members(k);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].second, 1418282661123456);  // exact as a double below 2^53
  const json& member = m[0].first;
  EXPECT_EQ(member.at("msg"), (json{{"text", "hi <b>"}}));
  EXPECT_GE(member.at("expire").get<int64_t>(), before + 60);
  EXPECT_LE(member.at("expire").get<int64_t>(), after + 60);
  EXPECT_EQ(member.value("mid", int64_t{0}), 1418282661123456);
  // The key lives on its ring shard and nowhere else.
  size_t home = server_of(k);
  EXPECT_EQ(redis(home, {"EXISTS", k}).integer, 1);
  EXPECT_EQ(redis(1 - home, {"EXISTS", k}).integer, 0);
}

TEST_F(MessageTest, every_saved_key_has_a_ttl_that_follows_its_furthest_expiry) {
  start(config());
  const std::string k = key("ttl");
  save(k, json{{"m", 1}}, 1, 100);
  int64_t t = ttl(k);
  EXPECT_GT(t, 0);
  EXPECT_LE(t, 100);
  save(k, json{{"m", 2}}, 2, 1000);  // expires later: the TTL grows
  t = ttl(k);
  EXPECT_GT(t, 100);
  EXPECT_LE(t, 1000);
  save(k, json{{"m", 3}}, 3, 10);  // expires sooner: the TTL stays at the furthest
  EXPECT_GT(ttl(k), 100);
  // Keys saved in a batch get one too.
  json items = json::array();
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back(key("ttl_batch_" + std::to_string(i)));
    items.push_back(
        {{"key", keys.back()}, {"msg", json{{"i", i}}}, {"mid", i + 1}, {"expire", 50}});
  }
  EXPECT_EQ(call("save_batch", json{{"items", items}}).at("errors"), json::array());
  for (auto& bk : keys) {
    int64_t bt = ttl(bk);
    EXPECT_GT(bt, 0) << bk;
    EXPECT_LE(bt, 50) << bk;
  }
}

TEST_F(MessageTest, sweep_once_removes_expired_members_of_keys_nobody_reads) {
  start(config());  // the background sweep is off (1 h)
  const std::string k = key("sweep_once");
  save(k, json{{"m", 1}}, 1, 1);
  save(k, json{{"m", 2}}, 2, 600);
  const int64_t saved_at = now_unix();
  sleep_past(saved_at + 1);
  auto& store = dynamic_cast<RedisStore&>(service_->store());
  // Each step scans a few keys per shard; other tests' keys share the servers.
  size_t removed = 0;
  for (int step = 0; step < 100 && members(k).size() != 1; ++step) {
    removed += io_.run(store.sweep_once());
  }
  auto m = members(k);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].second, 2);
  EXPECT_GE(removed, 1u);
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{2}));
}

TEST_F(MessageTest, background_sweep_removes_expired_members_of_keys_nobody_reads) {
  auto c = config();
  c.sweep_interval = 200ms;
  start(c);
  const std::string k = key("sweep_loop");
  const std::string other = key("sweep_loop_other");
  save(k, json{{"m", 1}}, 1, 1);
  save(k, json{{"m", 2}}, 2, 600);
  save(other, json{{"m", 1}}, 1, 600);
  const int64_t saved_at = now_unix();
  sleep_past(saved_at + 1);
  EXPECT_TRUE(eventually(
      [&] {
        auto m = members(k);
        return m.size() == 1 && m[0].second == 2;
      },
      20s))
      << "the expired member is still there";
  EXPECT_EQ(members(other).size(), 1u);  // nothing unexpired is touched
}

// ---------------------------------------------------------------------------------------------
// Sharding (spec 2.1, 4.1, 8.3)

TEST_F(MessageTest, batch_save_puts_each_key_on_its_ring_shard) {
  start(config());
  // The spec's vectors for redis1:1, redis2:1, base 255.
  const std::vector<std::pair<std::string, size_t>> vectors = {{"10001@user", 1},
                                                               {"10002@user", 0},
                                                               {"10003@user", 1},
                                                               {"10001_chrome-39-123@user", 1},
                                                               {"app1@app", 0}};
  for (auto& [k, server] : vectors) delete_everywhere(k);
  std::vector<std::pair<std::string, size_t>> expected = vectors;
  StorageRing ring({{"redis1", 1}, {"redis2", 1}}, 255);
  for (int i = 0; i < 200; ++i) {
    std::string k = key("shard_" + std::to_string(i));
    expected.emplace_back(k, ring.node_for(k) == "redis1" ? 0 : 1);
  }
  json items = json::array();
  int64_t mid = 1;
  for (auto& [k, server] : expected) {
    items.push_back({{"key", k}, {"msg", json{{"k", k}}}, {"mid", mid++}, {"expire", 600}});
  }
  EXPECT_EQ(call("save_batch", json{{"items", items}}).at("errors"), json::array());
  size_t on[2] = {0, 0};
  for (auto& [k, server] : expected) {
    EXPECT_EQ(service_->store().shard_of(k), server == 0 ? "redis1" : "redis2") << k;
    EXPECT_EQ(redis(server, {"ZCARD", k}).integer, 1) << k << " missing on its shard";
    EXPECT_EQ(redis(1 - server, {"EXISTS", k}).integer, 0) << k << " on the wrong shard";
    ++on[server];
  }
  EXPECT_GT(on[0], 50u);  // both shards take a fair part
  EXPECT_GT(on[1], 50u);
  // And each is read back from there.
  for (auto& [k, server] : vectors) {
    auto got = get(k);
    ASSERT_EQ(got.at("msgs").size(), 1u) << k;
    EXPECT_EQ(got.at("msgs")[0].at("msg"), (json{{"k", k}}));
  }
  for (auto& [k, server] : vectors) delete_everywhere(k);
}

TEST_F(MessageTest, stats_count_calls_per_shard) {
  start(config());
  save("10001@user", json{{"m", 1}}, 1);  // redis2 (spec 8.3)
  save("10002@user", json{{"m", 1}}, 1);  // redis1
  get("10002@user");
  auto& shards = service_->stats().shards;
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards.at("redis2").calls.load(), 1u);
  EXPECT_EQ(shards.at("redis1").calls.load(), 2u);
  EXPECT_EQ(shards.at("redis1").errors.load(), 0u);
  std::string metrics = service_->stats().metrics("redis");
  EXPECT_NE(metrics.find("appmsg_message_shard_calls_total{backend=\"redis\",shard=\"redis1\"} 2"),
            std::string::npos)
      << metrics;
}

TEST_F(MessageTest, a_shard_that_is_down_fails_only_its_keys_within_the_deadline) {
  start(config());                                              // [redis] command.timeout 1 s
  const std::string down = "10001@user", down2 = "10003@user";  // redis2
  const std::string up = "10002@user", up2 = "app1@app";        // redis1
  for (auto& k : {down, down2, up, up2}) delete_everywhere(k);
  ASSERT_EQ(server_of(down), 1u);
  ASSERT_EQ(server_of(up), 0u);
  save(down, json{{"m", 1}}, 1);
  save(up, json{{"m", 1}}, 1);

  servers->redis2.stop();
  // Each call for a key on the stopped shard fails with 105 within its deadline.
  auto timed_code = [&](const std::string& method, const json& raw) {
    const json params = as_text(raw);
    auto t0 = Clock::now();
    int c = code(method, params);
    auto took = Clock::now() - t0;
    EXPECT_LT(took, 3s) << method << " took "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms";
    return c;
  };
  EXPECT_EQ(
      timed_code("save", json{{"key", down}, {"msg", json{{"m", 2}}}, {"mid", 2}, {"expire", 60}}),
      message_error::storage);
  EXPECT_EQ(timed_code("get", json{{"key", down}, {"mid", 0}}), message_error::storage);
  EXPECT_EQ(timed_code("delete", json{{"key", down}}), message_error::storage);
  // The other shard keeps working meanwhile.
  EXPECT_EQ(
      timed_code("save", json{{"key", up}, {"msg", json{{"m", 2}}}, {"mid", 2}, {"expire", 60}}),
      0);
  EXPECT_EQ(mids_of(get(up)), (std::vector<int64_t>{1, 2}));
  // A batch over both shards: only the items of the stopped one fail, by index.
  json items = json::array({
      json{{"key", down}, {"msg", json{{"b", 0}}}, {"mid", 10}, {"expire", 60}},
      json{{"key", up}, {"msg", json{{"b", 1}}}, {"mid", 10}, {"expire", 60}},
      json{{"key", down2}, {"msg", json{{"b", 2}}}, {"mid", 10}, {"expire", 60}},
      json{{"key", up2}, {"msg", json{{"b", 3}}}, {"mid", 10}, {"expire", 60}},
  });
  auto t0 = Clock::now();
  auto reply = call("save_batch", json{{"items", items}});
  EXPECT_LT(Clock::now() - t0, 3s);
  std::vector<int64_t> failed;
  for (auto& e : reply.at("errors")) {
    EXPECT_EQ(e.at("code"), message_error::storage) << e.dump();
    failed.push_back(e.at("index").get<int64_t>());
  }
  std::sort(failed.begin(), failed.end());
  EXPECT_EQ(failed, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(mids_of(get(up2)), (std::vector<int64_t>{10}));

  servers->redis2.start();  // the same port; the data is gone (no persistence)
  EXPECT_TRUE(eventually(
      [&] {
        return code("save",
                    json{{"key", down}, {"msg", json{{"m", 3}}}, {"mid", 3}, {"expire", 60}}) == 0;
      },
      15s));
  EXPECT_EQ(mids_of(get(down)), (std::vector<int64_t>{3}));
  EXPECT_EQ(call("delete", json{{"key", down}}), json::object());
  EXPECT_EQ(mids_of(get(up)), (std::vector<int64_t>{1, 2, 10}));
  redis(0, {"DEL", up});
  redis(0, {"DEL", up2});
}

// ---------------------------------------------------------------------------------------------
// MySQL (spec 2.3, section 7 #7 #13)

TEST_F(MessageTest, mysql_table_has_its_unique_key_and_ttl_index) {
  start(config(Backend::mysql));
  auto r = sql("SHOW INDEX FROM private_msg");
  // Columns of SHOW INDEX: Table, Non_unique, Key_name, Seq_in_index, Column_name, ...
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> indexes;
  for (auto& row : r.rows) {
    auto& ix = indexes[*row.at(2)];
    ix.first = *row.at(1);
    ix.second.push_back(*row.at(4));  // rows come in Seq_in_index order
  }
  ASSERT_TRUE(indexes.count("ux_private_msg_1"));
  EXPECT_EQ(indexes["ux_private_msg_1"].first, "0");  // unique
  EXPECT_EQ(indexes["ux_private_msg_1"].second, (std::vector<std::string>{"skey", "mid"}));
  ASSERT_TRUE(indexes.count("ix_private_msg_1"));
  EXPECT_EQ(indexes["ix_private_msg_1"].first, "1");
  EXPECT_EQ(indexes["ix_private_msg_1"].second, (std::vector<std::string>{"ttl"}));
  ASSERT_TRUE(indexes.count("PRIMARY"));
  EXPECT_EQ(indexes["PRIMARY"].second, (std::vector<std::string>{"id"}));
}

TEST_F(MessageTest, mysql_row_holds_key_mid_absolute_ttl_and_msg) {
  start(config(Backend::mysql));
  const std::string k = key("row");
  const int64_t before = now_unix();
  save(k, "{ \"text\" : \"hi\" }", 1418282661123456, 604800);
  const int64_t after = now_unix();
  auto r = sql("SELECT skey, mid, ttl, msg FROM private_msg WHERE skey=?", {k});
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(*r.rows[0][0], k);
  EXPECT_EQ(std::stoll(*r.rows[0][1]), 1418282661123456);
  EXPECT_GE(std::stoll(*r.rows[0][2]), before + 604800);
  EXPECT_LE(std::stoll(*r.rows[0][2]), after + 604800);
  EXPECT_EQ(json::parse(*r.rows[0][3]), (json{{"text", "hi"}}));
}

TEST_F(MessageTest, mysql_clean_once_deletes_expired_rows_only) {
  start(config(Backend::mysql));
  const std::string k = key("clean");
  const std::string other = key("clean_other");
  save(k, json{{"m", 1}}, 1, 1);
  save(k, json{{"m", 2}}, 2, 1);
  save(k, json{{"m", 3}}, 3, 600);
  save(other, json{{"m", 1}}, 1, 600);
  const int64_t saved_at = now_unix();
  EXPECT_EQ(row_count(k), 3);
  sleep_past(saved_at + 1);
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{3}));  // filtered on read
  EXPECT_EQ(row_count(k), 3);                             // but not deleted by it
  auto& store = dynamic_cast<MysqlStore&>(service_->store());
  uint64_t removed = io_.run(store.clean_once());
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(row_count(k), 1);
  EXPECT_EQ(row_count(other), 1);
  EXPECT_EQ(io_.run(store.clean_once()), 0u);
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{3}));
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper registration (spec 5.1)

class RegistrationTest : public MessageTest {
 protected:
  std::vector<std::string> children() {
    try {
      return io_.run(zk_->children(zk_path_));
    } catch (const ZkError&) {
      return {};
    }
  }
  // The data of the only child, or nullopt when there is not exactly one.
  std::optional<json> registration() {
    auto ch = children();
    if (ch.size() != 1) return std::nullopt;
    std::optional<std::string> data;
    try {
      data = io_.run(zk_->get(zk_path_ + "/" + ch[0]));
    } catch (const ZkError&) {
    }
    if (!data) return std::nullopt;
    return json::parse(*data, nullptr, false);
  }
  json expected() const {
    return json{{"rpc", json::array({service_->rpc_addresses()[0]})}, {"weight", 1}};
  }
};

TEST_F(RegistrationTest, the_node_registers_its_rpc_address_and_weight) {
  start(config());
  ASSERT_TRUE(eventually([&] { return registration().has_value(); }));
  EXPECT_EQ(*registration(), expected());
  EXPECT_EQ(service_->registration_data(), expected().dump());
  auto ch = children();
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch[0].size(), 10u) << ch[0];  // a sequential child: 0000000000
  EXPECT_EQ(ch[0].find_first_not_of("0123456789"), std::string::npos) << ch[0];
}

TEST_F(RegistrationTest, the_node_is_registered_again_after_someone_deletes_it) {
  start(config());
  ASSERT_TRUE(eventually([&] { return registration().has_value(); }));
  auto first = children();
  ASSERT_EQ(first.size(), 1u);
  io_.run(zk_->remove(zk_path_ + "/" + first[0]));
  EXPECT_TRUE(eventually([&] {
    auto ch = children();
    return ch.size() == 1 && ch[0] != first[0];
  }));
  EXPECT_EQ(registration(), std::optional<json>(expected()));
}

TEST_F(RegistrationTest, the_node_is_registered_after_zookeeper_was_down_longer_than_a_session) {
  start(config());  // zk_timeout 4 s
  ASSERT_TRUE(eventually([&] { return registration().has_value(); }));
  servers->zk.stop();
  // The node keeps serving while ZooKeeper is away.
  const std::string k = key("zk_down");
  auto t0 = Clock::now();
  save(k, json{{"m", 1}}, 1);
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{1}));
  std::this_thread::sleep_until(t0 + 6s);  // longer than the session timeout
  servers->zk.start();
  // The server reloads its sessions and restarts their clocks, so the session usually survives
  // (a forced expiry needs the session's password, which the service does not expose; the
  // re-creation path is the test above, the expiry itself zk_client_test's). Either way the
  // node is registered, with its data, and it still answers.
  EXPECT_TRUE(eventually([&] { return registration() == std::optional<json>(expected()); }, 60s));
  EXPECT_EQ(code("ping", 0), 0);
  save(k, json{{"m", 2}}, 2);
  EXPECT_EQ(mids_of(get(k)), (std::vector<int64_t>{1, 2}));
}

TEST_F(RegistrationTest, the_node_is_registered_again_after_its_session_expired) {
  start(config());
  ASSERT_TRUE(eventually([&] { return registration().has_value(); }));
  auto first = children();
  ASSERT_EQ(first.size(), 1u);
  auto credentials = io_.call([&] { return service_->zk().session_credentials(); });
  test::expire_zk_session(servers->zk.connect_string(), credentials);
  // The old ephemeral node goes with the old session; a new one appears with the same data.
  EXPECT_TRUE(eventually(
      [&] {
        auto ch = children();
        return ch.size() == 1 && ch[0] != first[0];
      },
      30s));
  EXPECT_EQ(registration(), std::optional<json>(expected()));
  EXPECT_NE(io_.call([&] { return service_->zk().session_id(); }), credentials.first);
}

TEST_F(RegistrationTest, the_node_is_gone_after_stop) {
  start(config());
  ASSERT_TRUE(eventually([&] { return registration().has_value(); }));
  io_.run(service_->stop());
  stopped_ = true;
  EXPECT_EQ(children(), std::vector<std::string>{});  // at once: stop removes it first
  EXPECT_NE(code("ping", 0), 0);                      // and the listener is closed
}

}  // namespace
}  // namespace appmsg::message
