// Tests of the test harness itself: free ports, temp folders, and real Redis and ZooKeeper
// servers that start, answer, and restart on the same port (ZooKeeper keeping its data).
#include "support/servers.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

namespace appmsg::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(ServersTest, free_port_gives_usable_loopback_ports) {
  std::set<int> ports;
  for (int i = 0; i < 5; ++i) {
    int p = free_port();
    EXPECT_GT(p, 0);
    EXPECT_LT(p, 65536);
    ports.insert(p);
  }
  EXPECT_GE(ports.size(), 2u);  // the kernel hands out different ephemeral ports
}

TEST(ServersTest, temp_dir_is_removed_with_its_contents) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    ASSERT_TRUE(std::filesystem::is_directory(path));
    std::filesystem::create_directories(path + "/a/b");
    std::ofstream(path + "/a/b/file") << "data";
    TempDir other;
    EXPECT_NE(other.path(), path);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ServersTest, child_process_stop_escalates_to_sigkill) {
  TempDir dir;
  ChildProcess proc;
  // A child that ignores SIGTERM: stop() must still end it within the grace period.
  proc.spawn({"sh", "-c", "trap '' TERM; echo started; while :; do sleep 1; done"},
             dir.path() + "/log", dir.path());
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(proc.running());
  auto started = Clock::now();
  proc.stop(300ms);
  EXPECT_FALSE(proc.running());
  EXPECT_LT(Clock::now() - started, 3s);
  EXPECT_TRUE(WIFSIGNALED(proc.exit_status()));
  EXPECT_EQ(WTERMSIG(proc.exit_status()), SIGKILL);
  EXPECT_NE(tail_file(dir.path() + "/log").find("started"), std::string::npos);
}

redisContext* redis_connect(int port) {
  timeval tv{2, 0};
  return redisConnectWithTimeout("127.0.0.1", port, tv);
}

std::string redis_command(redisContext* c, const char* cmd) {
  auto* reply = static_cast<redisReply*>(redisCommand(c, cmd));
  if (!reply) return "<no reply: " + std::string(c->errstr) + ">";
  std::string out;
  if (reply->type == REDIS_REPLY_NIL) {
    out = "<nil>";
  } else if (reply->str) {
    out.assign(reply->str, reply->len);
  }
  freeReplyObject(reply);
  return out;
}

TEST(RedisServerTest, starts_answers_and_restarts_on_the_same_port) {
  RedisServer redis;
  redis.start();
  EXPECT_EQ(redis.address(), "127.0.0.1:" + std::to_string(redis.port()));
  redisContext* c = redis_connect(redis.port());
  ASSERT_TRUE(c != nullptr && c->err == 0);
  EXPECT_EQ(redis_command(c, "PING"), "PONG");
  EXPECT_EQ(redis_command(c, "SET harness-key v1"), "OK");
  EXPECT_EQ(redis_command(c, "GET harness-key"), "v1");
  redisFree(c);

  int port = redis.port();
  redis.restart();
  EXPECT_EQ(redis.port(), port);
  c = redis_connect(redis.port());
  ASSERT_TRUE(c != nullptr && c->err == 0);
  EXPECT_EQ(redis_command(c, "PING"), "PONG");
  EXPECT_EQ(redis_command(c, "GET harness-key"), "<nil>");  // no persistence
  redisFree(c);

  redis.stop();
  c = redis_connect(port);
  EXPECT_TRUE(c == nullptr || c->err != 0);  // nobody listens any more
  if (c) redisFree(c);
}

TEST(RedisServerTest, first_start_moves_to_a_new_port_when_its_port_is_taken) {
  RedisServer redis;
  int taken = redis.port();
  // Another process grabbed the "free" port between free_port() and start().
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(taken));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  redis.start();
  ::close(fd);
  EXPECT_NE(redis.port(), taken);
  redisContext* c = redis_connect(redis.port());
  ASSERT_TRUE(c != nullptr && c->err == 0);
  EXPECT_EQ(redis_command(c, "PING"), "PONG");
  redisFree(c);
}

// A synchronous ZooKeeper client session for the test: waits for the connected state.
class ZkSession {
 public:
  explicit ZkSession(const std::string& hosts) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    zh_ = zookeeper_init(hosts.c_str(), nullptr, 10000, nullptr, nullptr, 0);
    auto deadline = Clock::now() + 15s;
    while (zh_ && zoo_state(zh_) != ZOO_CONNECTED_STATE && Clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
  }
  ~ZkSession() {
    if (zh_) zookeeper_close(zh_);
  }
  bool connected() const { return zh_ && zoo_state(zh_) == ZOO_CONNECTED_STATE; }
  zhandle_t* get() const { return zh_; }

 private:
  zhandle_t* zh_ = nullptr;
};

TEST(ZooKeeperServerTest, starts_answers_and_keeps_data_across_restart) {
  ZooKeeperServer zk;
  zk.start();
  EXPECT_EQ(zk.connect_string(), "127.0.0.1:" + std::to_string(zk.port()));
  {
    ZkSession s(zk.connect_string());
    ASSERT_TRUE(s.connected());
    const std::string data = "hello";
    ASSERT_EQ(zoo_create(s.get(), "/servers_test", data.data(), static_cast<int>(data.size()),
                         &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0),
              ZOK);
  }

  int port = zk.port();
  zk.restart();
  EXPECT_EQ(zk.port(), port);
  {
    ZkSession s(zk.connect_string());
    ASSERT_TRUE(s.connected());
    char buf[64];
    int len = sizeof buf;
    ASSERT_EQ(zoo_get(s.get(), "/servers_test", 0, buf, &len, nullptr), ZOK);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(len)), "hello");  // dataDir was kept
  }
}

}  // namespace
}  // namespace appmsg::test
