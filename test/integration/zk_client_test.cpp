// ZkClient against a real ZooKeeper server: registration, watches, reconnect after a server
// restart, and recovery from a session expiry.
#include "common/zk_client.hpp"

#include <gtest/gtest.h>
#include <zookeeper/zookeeper.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "support/async.hpp"
#include "support/servers.hpp"
#include "support/zk_session.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;
using test::eventually;

class ZkClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new test::ZooKeeperServer();
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // The client lives on the io thread: it is created, used and destroyed there.
  std::shared_ptr<ZkClient> connect(std::chrono::milliseconds session = 6000ms) {
    std::shared_ptr<ZkClient> c(
        new ZkClient(io_.executor(), ZkOptions{server_->connect_string(), session}),
        [this](ZkClient* p) { io_.call([p] { delete p; }); });
    io_.call([&] { c->start(); });
    io_.run(c->wait_connected(20s));
    return c;
  }

  // Reads children through a separate client so that we observe the server, not our cache.
  std::vector<std::string> children_of(ZkClient& c, const std::string& path) {
    return io_.run(c.children(path));
  }

  void expire_session(ZkClient& c) {
    test::expire_zk_session(server_->connect_string(),
                            io_.call([&] { return c.session_credentials(); }));
  }

  static test::ZooKeeperServer* server_;
  test::IoThread io_;
};

test::ZooKeeperServer* ZkClientTest::server_ = nullptr;

TEST_F(ZkClientTest, EnsurePathCreatesEveryLevelAndIsIdempotent) {
  auto c = connect();
  io_.run(c->ensure_path("/t1/a/b/c"));
  io_.run(c->ensure_path("/t1/a/b/c"));
  EXPECT_EQ(children_of(*c, "/t1/a/b"), std::vector<std::string>{"c"});
}

TEST_F(ZkClientTest, EphemeralSequentialRegistrationCarriesData) {
  auto c = connect();
  std::atomic<int> created{0};
  auto id = io_.call([&] {
    return c->register_ephemeral("/t2/comet/node1/", R"({"rpc":"127.0.0.1:1"})", true,
                                 [&](const std::string&) { ++created; });
  });
  ASSERT_TRUE(eventually([&] { return created.load() == 1; }));
  std::string path = io_.call([&] { return c->registered_path(id); });
  EXPECT_EQ(path.rfind("/t2/comet/node1/", 0), 0u) << path;
  EXPECT_EQ(path.size(), std::string("/t2/comet/node1/").size() + 10);  // 10-digit sequence
  EXPECT_EQ(io_.run(c->get(path)), std::optional<std::string>(R"({"rpc":"127.0.0.1:1"})"));

  // Another client sees it vanish as soon as the owner closes its session.
  auto observer = connect();
  io_.call([&] { c->close(); });
  EXPECT_TRUE(eventually([&] { return children_of(*observer, "/t2/comet/node1").empty(); }, 5s));
}

TEST_F(ZkClientTest, ChildrenWatchFollowsJoinsAndLeavesAndAMissingPath) {
  auto watcher = connect();
  std::mutex mu;
  std::vector<std::vector<std::string>> seen;
  io_.call([&] {
    return watcher->watch_children("/t3/nodes", [&](const std::vector<std::string>& children) {
      std::lock_guard lock(mu);
      seen.push_back(children);
    });
  });
  auto last = [&] {
    std::lock_guard lock(mu);
    return seen.empty() ? std::vector<std::string>{"<none>"} : seen.back();
  };
  ASSERT_TRUE(eventually([&] { return last().empty(); }));  // path missing: empty list

  auto member = connect();
  io_.call([&] { return member->register_ephemeral("/t3/nodes/m1", "x", false); });
  ASSERT_TRUE(eventually([&] { return last() == std::vector<std::string>{"m1"}; }));
  auto member2 = connect();
  io_.call([&] { return member2->register_ephemeral("/t3/nodes/m2", "y", false); });
  ASSERT_TRUE(eventually([&] { return last() == std::vector<std::string>{"m1", "m2"}; }));
  io_.call([&] { member->close(); });
  EXPECT_TRUE(eventually([&] { return last() == std::vector<std::string>{"m2"}; }));
}

TEST_F(ZkClientTest, DataWatchSeesChanges) {
  auto c = connect();
  std::mutex mu;
  std::optional<std::string> value = "<none>";
  io_.call([&] {
    return c->watch_data("/t4/config", [&](const std::optional<std::string>& v) {
      std::lock_guard lock(mu);
      value = v;
    });
  });
  auto current = [&] {
    std::lock_guard lock(mu);
    return value;
  };
  ASSERT_TRUE(eventually([&] { return !current().has_value(); }));
  io_.run(c->ensure_path("/t4"));
  io_.run(c->create("/t4/config", "v1", 0));
  EXPECT_TRUE(eventually([&] { return current() == std::optional<std::string>("v1"); }));
}

TEST_F(ZkClientTest, NodeDeletedBySomeoneElseIsRecreated) {
  auto c = connect();
  std::atomic<int> created{0};
  io_.call([&] {
    return c->register_ephemeral("/t5/node", "d", false, [&](const std::string&) { ++created; });
  });
  ASSERT_TRUE(eventually([&] { return created.load() == 1; }));
  auto other = connect();
  io_.run(other->remove("/t5/node"));
  EXPECT_TRUE(eventually([&] { return created.load() == 2; }));
  EXPECT_EQ(io_.run(other->get("/t5/node")), std::optional<std::string>("d"));
}

TEST_F(ZkClientTest, SessionExpiryRecreatesEphemeralNodesAndRearmsWatches) {
  auto c = connect();
  std::atomic<int> created{0};
  std::atomic<int> expired{0};
  std::mutex mu;
  std::vector<std::string> children{"<none>"};
  io_.call([&] {
    c->on_session([&](ZkSessionState s) {
      if (s == ZkSessionState::expired) ++expired;
    });
    c->register_ephemeral("/t6/members/", "me", true, [&](const std::string&) { ++created; });
    c->watch_children("/t6/others", [&](const std::vector<std::string>& ch) {
      std::lock_guard lock(mu);
      children = ch;
    });
  });
  ASSERT_TRUE(eventually([&] { return created.load() == 1; }));
  int64_t old_session = io_.call([&] { return c->session_id(); });

  expire_session(*c);
  ASSERT_TRUE(eventually([&] { return expired.load() >= 1; }, 20s));
  ASSERT_TRUE(eventually([&] { return created.load() == 2; }, 20s));
  EXPECT_NE(io_.call([&] { return c->session_id(); }), old_session);
  auto observer = connect();
  auto members = children_of(*observer, "/t6/members");
  ASSERT_EQ(members.size(), 1u);  // the old node went with the old session; the new one is there
  EXPECT_EQ(io_.run(observer->get("/t6/members/" + members[0])), std::optional<std::string>("me"));

  // The watch set before the expiry still fires.
  io_.run(observer->ensure_path("/t6/others/o1"));
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return children == std::vector<std::string>{"o1"};
  }));
}

// The contexts the library calls back with are freed: a watch re-armed many times keeps one,
// ended watches and registrations are freed once the handle that could still call them is
// closed (here by a session expiry), and the old session's context goes with its handle.
TEST_F(ZkClientTest, CallbackContextsOfEndedWatchesAndSessionsAreFreed) {
  auto c = connect();
  io_.run(c->ensure_path("/t9/w"));
  std::atomic<int> calls{0};
  std::atomic<int> expired{0};
  io_.call([&] {
    c->on_session([&](ZkSessionState s) {
      if (s == ZkSessionState::expired) ++expired;
    });
    c->watch_children("/t9/w", [&](const std::vector<std::string>&) { ++calls; });
  });
  ASSERT_TRUE(eventually([&] { return calls.load() >= 1; }));
  for (int i = 0; i < 5; ++i) {  // each change re-arms the same watch
    io_.run(c->ensure_path("/t9/w/c" + std::to_string(i)));
    ASSERT_TRUE(eventually([&] { return calls.load() >= i + 2; }));
  }
  EXPECT_EQ(io_.call([&] { return c->held_contexts(); }), 2u) << "one watch and the session";
  std::atomic<int> created{0};
  std::vector<ZkClient::RegistrationId> regs;
  for (int i = 0; i < 20; ++i) {
    regs.push_back(io_.call([&] {
      auto id = c->watch_data("/t9/w", [](const std::optional<std::string>&) {});
      c->unwatch(id);
      return c->register_ephemeral("/t9/r" + std::to_string(i), "x", false,
                                   [&](const std::string&) { ++created; });
    }));
  }
  ASSERT_TRUE(eventually([&] { return created.load() == 20; }));
  for (auto id : regs) io_.run(c->unregister(id));
  EXPECT_GT(io_.call([&] { return c->held_contexts(); }), 2u)
      << "ended ones wait until no handle can call them";
  expire_session(*c);
  ASSERT_TRUE(eventually([&] { return expired.load() >= 1; }, 20s));
  io_.run(c->wait_connected(20s));
  EXPECT_EQ(io_.call([&] { return c->held_contexts(); }), 2u)
      << "the watch and the new session: the rest was freed";
}

TEST_F(ZkClientTest, ServerRestartKeepsTheSessionAndItsNodes) {
  auto c = connect(20000ms);
  std::atomic<int> created{0};
  io_.call(
      [&] { c->register_ephemeral("/t7/n", "v", false, [&](const std::string&) { ++created; }); });
  ASSERT_TRUE(eventually([&] { return created.load() == 1; }));
  int64_t session = io_.call([&] { return c->session_id(); });

  server_->restart();
  ASSERT_TRUE(eventually([&] { return io_.call([&] { return c->connected(); }); }, 30s));
  EXPECT_EQ(io_.call([&] { return c->session_id(); }), session);
  EXPECT_EQ(io_.run(c->get("/t7/n")), std::optional<std::string>("v"));
  EXPECT_EQ(created.load(), 1);
}

}  // namespace
}  // namespace appmsg
