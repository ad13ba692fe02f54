// RedisClient and RedisShards against real Redis servers: commands, pipelining, deadlines,
// reconnect after a server restart, and placement on the SHA-1 shard ring.
#include "common/redis_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "common/redis_shards.hpp"
#include "support/async.hpp"
#include "support/servers.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

class RedisClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis1_ = new test::RedisServer();
    redis2_ = new test::RedisServer();
    redis1_->start();
    redis2_->start();
  }
  static void TearDownTestSuite() {
    delete redis1_;
    delete redis2_;
  }

  std::unique_ptr<RedisClient> client(const std::string& address,
                                      std::chrono::milliseconds timeout = 1000ms) {
    RedisOptions opts;
    opts.address = address;
    opts.command_timeout = timeout;
    auto c = std::make_unique<RedisClient>(io_.executor(), opts);
    c->start();
    return c;
  }

  RedisReply cmd(RedisClient& c, std::vector<std::string> args) {
    return io_.run(c.command(std::move(args)));
  }

  static test::RedisServer* redis1_;
  static test::RedisServer* redis2_;
  test::IoThread io_;
};

test::RedisServer* RedisClientTest::redis1_ = nullptr;
test::RedisServer* RedisClientTest::redis2_ = nullptr;

TEST_F(RedisClientTest, SetGetAndReplyTypes) {
  auto c = client(redis1_->address());
  EXPECT_EQ(cmd(*c, {"SET", "k1", std::string("bin\0ary\r\n", 9)}).str, "OK");
  auto got = cmd(*c, {"GET", "k1"});
  EXPECT_EQ(got.type, RedisReply::Type::string);
  EXPECT_EQ(got.str, std::string("bin\0ary\r\n", 9));
  EXPECT_TRUE(cmd(*c, {"GET", "missing"}).is_nil());
  EXPECT_EQ(cmd(*c, {"INCRBY", "n1", "5"}).integer, 5);
  auto err = cmd(*c, {"INCR", "k1"});  // not an integer: an error reply, not an exception
  EXPECT_TRUE(err.is_error());
  EXPECT_NE(err.str.find("not an integer"), std::string::npos);
  cmd(*c, {"ZADD", "z1", "1", "a", "2", "b"});
  auto range = cmd(*c, {"ZRANGE", "z1", "0", "-1", "WITHSCORES"});
  ASSERT_EQ(range.type, RedisReply::Type::array);
  ASSERT_EQ(range.elements.size(), 4u);
  EXPECT_EQ(range.elements[2].str, "b");
}

TEST_F(RedisClientTest, PipelineKeepsOrder) {
  auto c = client(redis1_->address());
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 2000; ++i) cmds.push_back({"INCR", "pipe-counter"});
  auto replies = io_.run(c->pipeline(cmds));
  ASSERT_EQ(replies.size(), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(replies[i].integer, i + 1);
}

TEST_F(RedisClientTest, ManyConcurrentCallersEachGetTheirOwnReply) {
  auto c = client(redis1_->address());
  auto many = [&]() -> asio::awaitable<int> {
    int ok = 0;
    for (int i = 0; i < 300; ++i) {
      std::string key = "conc-" + std::to_string(i);
      // (Commands are built outside co_await: g++ 12 miscompiles braced string literals there.)
      std::vector<std::string> set_cmd{std::string("SET"), key, std::to_string(i * 7)};
      std::vector<std::string> get_cmd{std::string("GET"), key};
      co_await c->command(std::move(set_cmd));
      auto r = co_await c->command(std::move(get_cmd));
      ok += r.str == std::to_string(i * 7);
    }
    co_return ok;
  };
  auto f1 = asio::co_spawn(io_.io(), many(), asio::use_future);
  auto f2 = asio::co_spawn(io_.io(), many(), asio::use_future);
  EXPECT_EQ(f1.get() + f2.get(), 600);
}

TEST_F(RedisClientTest, CommandPastItsDeadlineFailsAndTheConnectionRecovers) {
  auto c = client(redis1_->address(), 300ms);
  auto started = std::chrono::steady_clock::now();
  try {
    cmd(*c, {"BLPOP", "never-filled", "5"});  // the server holds it for 5 s
    FAIL() << "expected a timeout";
  } catch (const boost::system::system_error& e) {
    EXPECT_TRUE(e.code() == asio::error::connection_reset || e.code() == asio::error::timed_out)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  ASSERT_TRUE(test::eventually([&] {
    try {
      return cmd(*c, {"PING"}).str == "PONG";
    } catch (const std::exception&) {
      return false;
    }
  }));
}

TEST_F(RedisClientTest, ReconnectsAfterServerRestart) {
  test::RedisServer server;
  server.start();
  auto c = client(server.address(), 500ms);
  EXPECT_EQ(cmd(*c, {"SET", "a", "1"}).str, "OK");

  server.stop();
  // During the outage calls fail, each within its deadline.
  for (int i = 0; i < 3; ++i) {
    auto started = std::chrono::steady_clock::now();
    EXPECT_THROW(cmd(*c, {"PING"}), boost::system::system_error);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  }
  server.start();
  EXPECT_TRUE(test::eventually([&] {
    try {
      return cmd(*c, {"SET", "b", "2"}).str == "OK";
    } catch (const std::exception&) {
      return false;
    }
  }));
  EXPECT_EQ(cmd(*c, {"GET", "b"}).str, "2");
}

TEST_F(RedisClientTest, TooManyPendingCommandsFailAtOnce) {
  RedisOptions opts;
  opts.address = "127.0.0.1:1";  // nothing listens: commands wait for a connection
  opts.max_pending = 2;
  opts.command_timeout = 2000ms;
  RedisClient c(io_.executor(), opts);
  c.start();
  auto f1 = asio::co_spawn(io_.io(), c.command({"PING"}), asio::use_future);
  auto f2 = asio::co_spawn(io_.io(), c.command({"PING"}), asio::use_future);
  try {
    cmd(c, {"PING"});
    FAIL() << "expected no_buffer_space";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::no_buffer_space);
  }
  EXPECT_THROW(f1.get(), boost::system::system_error);  // timed out waiting for a connection
  EXPECT_THROW(f2.get(), boost::system::system_error);
  io_.call([&] { c.stop(); });
}

// The bytes of commands waiting to be sent are bounded too: a command that fits exactly is
// taken, the next (even a small one) fails at once, and the first still completes once a server
// is there.
TEST_F(RedisClientTest, PendingBytesAreBoundedExactly) {
  const std::string value(600, 'v');
  const size_t encoded = 4 + 9 + 7 + 6 + value.size() + 2;  // *3 $3 SET $1 k $600 <value>
  test::RedisServer server;
  server.start();
  server.stop();  // same port when it starts again; until then commands wait for a connection
  RedisOptions opts;
  opts.address = server.address();
  opts.max_pending_bytes = encoded;
  opts.command_timeout = 10000ms;
  RedisClient c(io_.executor(), opts);
  c.start();
  auto first = asio::co_spawn(io_.io(), c.command({"SET", "k", value}), asio::use_future);
  try {
    cmd(c, {"PING"});
    FAIL() << "expected no_buffer_space";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::no_buffer_space);
  }
  server.start();
  EXPECT_EQ(first.get().str, "OK");
  EXPECT_EQ(cmd(c, {"GET", "k"}).str, value);
  io_.call([&] { c.stop(); });
}

TEST_F(RedisClientTest, ShardsPlaceKeysOnTheSpecRing) {
  RedisOptions o1, o2;
  o1.address = redis1_->address();
  o2.address = redis2_->address();
  RedisShards shards(io_.executor(), {{"redis1", 1, o1}, {"redis2", 1, o2}}, 255);
  shards.start();
  // spec/message.md 8.3: redis1:1, redis2:1.
  EXPECT_EQ(shards.shard_name("10001@user"), "redis2");
  EXPECT_EQ(shards.shard_name("10002@user"), "redis1");
  EXPECT_EQ(shards.shard_name("10003@user"), "redis2");
  EXPECT_EQ(shards.shard_name("app1@app"), "redis1");
  for (std::string key : {"10001@user", "10002@user", "10003@user", "app1@app"}) {
    cmd(shards.for_key(key), {"SET", "placed:" + key, "1"});
  }
  auto direct1 = client(redis1_->address());
  auto direct2 = client(redis2_->address());
  EXPECT_EQ(cmd(*direct2, {"EXISTS", "placed:10001@user"}).integer, 1);
  EXPECT_EQ(cmd(*direct1, {"EXISTS", "placed:10001@user"}).integer, 0);
  EXPECT_EQ(cmd(*direct1, {"EXISTS", "placed:10002@user"}).integer, 1);
  EXPECT_EQ(cmd(*direct1, {"EXISTS", "placed:app1@app"}).integer, 1);
  EXPECT_EQ(cmd(*direct2, {"EXISTS", "placed:10003@user"}).integer, 1);
}

TEST_F(RedisClientTest, ShardsRejectAnEmptyRing) {
  EXPECT_THROW(RedisShards(io_.executor(), {}, 255), std::invalid_argument);
  EXPECT_THROW(RedisShards(io_.executor(), {{"a", 1, RedisOptions{}}}, 0), std::invalid_argument);
}

}  // namespace
}  // namespace appmsg
