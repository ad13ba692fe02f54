// Fault-injection suite: a real cluster of processes (test/support/cluster.hpp: ZooKeeper,
// Redis, two message nodes, two comets, web; MariaDB too for the /app case) under continuous
// traffic while one fault is injected: SIGKILL and SIGSTOP of each daemon kind, a SIGSTOP
// long enough for the daemon's ZooKeeper session (4 s) to expire, a ZooKeeper restart, a Redis
// restart (appendonly yes), a MariaDB restart under /app pushes, and delay and loss on the
// loopback path (tc netem in a network namespace, where the kernel has it).
//
// Traffic: four pushers each make a stored push (expire 600 s) every 20 ms (or when the last
// one is answered, if later), round robin over eight keys spread over both comets; one reader per
// key (half TCP, half WebSocket) holds a subscription, finds its comet through /1/server/get like a
// real client and, whenever its connection ends, subscribes again resuming after the last mid it
// has.
//
// After the fault, traffic goes on until every key has had a push answered ret 0 again (the
// recovery time, from the end of the fault), then stops, and the suite checks:
//  - 0 lost: every push answered ret 0 reached its reader, and a fresh client resuming from
//    mid 0 finds every one of them stored;
//  - 0 duplicated: no reader got a mid twice or out of order (a resume has no overlap);
//  - 0 late: every push was answered within web's deadline ([rpc] timeout 2 s here) plus 1 s
//    for scheduling; pushes in flight while web itself was stopped are not counted, as web
//    never saw them before it went on;
//  - recovery within kRecoveryBound (from the kill, for a killed daemon: the others take over;
//    else from the end of the fault), with no daemon restarted but the one killed.
// Each test prints one line "[ FAULT    ] name | pushes | acked | lost | late | duplicated |
// recovery ms" (test/fault/README.md keeps the table).
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "integration/app_fixture.hpp"
#include "support/async.hpp"
#include "support/cluster.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;
using test::Proto;
using test::Subscriber;
using test::TestCluster;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPushDeadline{2000};  // web's [rpc] timeout in TestCluster
constexpr milliseconds kLateSlack{1000};
constexpr milliseconds kRecoveryBound{20000};
constexpr size_t kPushers = 4;          // each waits for its answer, then the next tick
constexpr milliseconds kPushEvery{20};  // per pusher
constexpr int kKeys = 8;

test::ClusterBinaries binaries() {
  return {APPMSG_COMET_BIN, APPMSG_MESSAGE_BIN, APPMSG_WEB_BIN};
}

long ms(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(d).count());
}

struct Push {
  std::string key;
  Clock::time_point sent, answered;
  std::optional<int64_t> mid;  // answered ret 0
  std::string error;
};

// A push function: the mid of a push answered ret 0, else nullopt with the reason in *error.
using PushFn =
    std::function<std::optional<int64_t>(const std::string& key, int seq, std::string* error)>;

// A read that found no whole message in time (the bytes of a cut one stay buffered), as
// opposed to bytes that are not a message.
bool timed_out(const std::string& error) {
  if (!error.ends_with(": timed out")) return false;
  for (const char* start :
       {"no frame header", "frame cut short", "frame header", "frame length", "frame payload"}) {
    if (error.starts_with(start)) return true;
  }
  return false;
}

// One subscriber of one key, on its own thread.
struct Reader {
  std::string key;
  Proto proto = Proto::tcp;
  std::mutex mu;
  std::vector<int64_t> mids;  // in arrival order
  int duplicates = 0, out_of_order = 0, connects = 0;
  std::string bad;  // a frame that was not a message
  std::atomic<bool> stop{false}, subscribed{false};
  std::thread thread;
};

class Traffic {
 public:
  Traffic(TestCluster& cluster, std::vector<std::pair<std::string, Proto>> keys, PushFn push)
      : cluster_(cluster), push_(std::move(push)) {
    for (auto& [key, proto] : keys) {
      auto r = std::make_unique<Reader>();
      r->key = key;
      r->proto = proto;
      readers_.push_back(std::move(r));
    }
  }
  ~Traffic() { stop_all(); }

  // Readers subscribe first (so that every push has a reader), then the pusher starts.
  bool start() {
    for (auto& r : readers_) r->thread = std::thread([this, r = r.get()] { read(*r); });
    bool ok = eventually(
        [&] {
          return std::all_of(readers_.begin(), readers_.end(),
                             [](auto& r) { return r->subscribed.load(); });
        },
        20s);
    for (size_t i = 0; i < kPushers; ++i) pushers_.emplace_back([this, i] { push_loop(i); });
    return ok;
  }

  // Waits until every key had a push sent after `since` answered ret 0; the time that took.
  std::optional<milliseconds> recovered_after(Clock::time_point since, milliseconds bound) {
    std::optional<Clock::time_point> last_first_ok;
    bool ok = eventually(
        [&] {
          std::lock_guard lock(mu_);
          std::map<std::string, Clock::time_point> first_ok;
          for (auto& p : pushes_) {
            if (p.sent >= since && p.mid && !first_ok.count(p.key)) first_ok[p.key] = p.answered;
          }
          if (first_ok.size() < readers_.size()) return false;
          last_first_ok = Clock::time_point::min();
          for (auto& [k, t] : first_ok) last_first_ok = std::max(*last_first_ok, t);
          return true;
        },
        bound);
    if (!ok) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(*last_first_ok - since);
  }

  // A window in which web was stopped: pushes in flight then are not checked for lateness.
  void web_frozen(Clock::time_point from, Clock::time_point to) { frozen_.emplace_back(from, to); }

  // Stops pushing, waits (bounded) until every reader has every acked mid, stops the readers.
  void finish() {
    stop_pushers();
    eventually([&] { return lost_live().empty(); }, 20s);
    stop_all();
  }

  std::vector<Push> pushes() const {
    std::lock_guard lock(mu_);
    return pushes_;
  }

  // Acked mids a reader never got.
  std::vector<std::string> lost_live() {
    std::vector<std::string> out;
    auto all = pushes();
    for (auto& r : readers_) {
      std::set<int64_t> got;
      {
        std::lock_guard lock(r->mu);
        got.insert(r->mids.begin(), r->mids.end());
      }
      for (auto& p : all) {
        if (p.key == r->key && p.mid && !got.count(*p.mid)) {
          out.push_back(p.key + " mid " + std::to_string(*p.mid));
        }
      }
    }
    return out;
  }

  // Acked mids that a client resuming from mid 0 does not find stored.
  std::vector<std::string> lost_stored() {
    std::vector<std::string> out;
    auto all = pushes();
    for (auto& r : readers_) {
      std::set<int64_t> missing;
      for (auto& p : all) {
        if (p.key == r->key && p.mid) missing.insert(*p.mid);
      }
      // A resume replays at most [rpc] resume.max messages: resume again after the last one
      // until a round brings nothing new.
      int64_t after = 0;
      for (bool more = true; more && !missing.empty();) {
        more = false;
        Subscriber s(r->proto, cluster_.server_for(r->key, r->proto), r->key, after);
        while (s.subscribed() && !missing.empty()) {
          auto m = s.next(2s);
          if (!m) break;
          after = std::max(after, (*m)["mid"].get<int64_t>());
          missing.erase((*m)["mid"].get<int64_t>());
          more = true;
        }
      }
      for (int64_t mid : missing) out.push_back(r->key + " mid " + std::to_string(mid));
    }
    return out;
  }

  int duplicates() {
    int n = 0;
    for (auto& r : readers_) {
      std::lock_guard lock(r->mu);
      n += r->duplicates + r->out_of_order;
    }
    return n;
  }

  // Per reader: connections made and mids received (for failure messages).
  std::string summary() {
    std::string out;
    for (auto& r : readers_) {
      std::lock_guard lock(r->mu);
      out += r->key + ": " + std::to_string(r->connects) + " connections, " +
             std::to_string(r->mids.size()) + " mids" +
             (r->mids.empty() ? "" : ", last " + std::to_string(r->mids.back())) + "\n";
    }
    return out;
  }

  std::string bad_frames() {
    std::string out;
    for (auto& r : readers_) {
      std::lock_guard lock(r->mu);
      if (!r->bad.empty()) out += r->key + ": " + r->bad + "\n";
    }
    return out;
  }

  // Pushes answered (or given up on: status 0 after the client's 5 s) after deadline + slack,
  // except those in flight while web was stopped.
  std::vector<std::string> late() const {
    std::vector<std::string> out;
    for (auto& p : pushes()) {
      bool frozen = std::any_of(frozen_.begin(), frozen_.end(), [&](auto& w) {
        return p.sent <= w.second && p.answered >= w.first;
      });
      if (!frozen && p.answered - p.sent > kPushDeadline + kLateSlack) {
        out.push_back(p.key + " after " + std::to_string(ms(p.answered - p.sent)) +
                      " ms: " + (p.mid ? "ok" : p.error));
      }
    }
    return out;
  }

 private:
  // Pusher `n` of kPushers takes every kPushers-th key.
  void push_loop(size_t n) {
    auto next = Clock::now();
    for (int seq = 0; !stop_push_; ++seq) {
      Push p;
      p.key = readers_[(n + seq * kPushers) % readers_.size()]->key;
      p.sent = Clock::now();
      p.mid = push_(p.key, seq, &p.error);
      p.answered = Clock::now();
      {
        std::lock_guard lock(mu_);
        pushes_.push_back(std::move(p));
      }
      // A steady rate; after a stall it goes on from now (no burst to catch up).
      next = std::max(next + kPushEvery, Clock::now());
      std::this_thread::sleep_until(next);
    }
  }

  // Subscribes through /1/server/get, reads, and subscribes again after the last mid when
  // the connection ends (or the comet cannot be reached), as a client does.
  void read(Reader& r) {
    std::optional<int64_t> last;
    while (!r.stop) {
      const std::string address = cluster_.server_for(r.key, r.proto);
      std::unique_ptr<Subscriber> s;
      if (!address.empty())
        s = std::make_unique<Subscriber>(r.proto, address, r.key, last.value_or(0), 2s);
      if (!s || !s->subscribed()) {
        std::this_thread::sleep_for(100ms);  // a client's back-off before it asks again
        continue;
      }
      {
        std::lock_guard lock(r.mu);
        ++r.connects;
      }
      r.subscribed = true;
      while (!r.stop) {
        auto m = s->next(200ms);
        if (!m) {
          if (s->ended()) break;
          const std::string& e = s->error();
          if (timed_out(e)) continue;  // nothing (whole) within 200 ms: check stop, read on
          std::lock_guard lock(r.mu);
          r.bad = e;  // bytes that are not a message: a protocol error, reported
          break;
        }
        const int64_t mid = (*m)["mid"].get<int64_t>();
        std::lock_guard lock(r.mu);
        if (!r.mids.empty() && mid <= r.mids.back()) {
          if (std::find(r.mids.begin(), r.mids.end(), mid) != r.mids.end()) {
            ++r.duplicates;
          } else {
            ++r.out_of_order;
          }
        } else {
          r.mids.push_back(mid);
          last = mid;
        }
      }
    }
  }

  void stop_pushers() {
    stop_push_ = true;
    for (auto& t : pushers_) {
      if (t.joinable()) t.join();
    }
  }

  void stop_all() {
    stop_pushers();
    for (auto& r : readers_) r->stop = true;
    for (auto& r : readers_) {
      if (r->thread.joinable()) r->thread.join();
    }
  }

  TestCluster& cluster_;
  PushFn push_;
  std::vector<std::unique_ptr<Reader>> readers_;
  mutable std::mutex mu_;
  std::vector<Push> pushes_;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> frozen_;
  std::atomic<bool> stop_push_{false};
  std::vector<std::thread> pushers_;
};

class FaultTest : public ::testing::Test {
 protected:
  // App mode (MariaDB) for the /app case; Redis with appendonly for every case.
  void start_cluster(bool with_app = false) {
    cluster_ = std::make_unique<TestCluster>(binaries(), test::ConfigStyle::ours, with_app);
    cluster_->set_redis_appendonly();
    cluster_->start();
  }
  void TearDown() override {
    traffic_.reset();
    if (HasFailure() && cluster_) std::cerr << "\nDaemon logs:\n" << cluster_->log_tails();
  }
  TestCluster& cluster() { return *cluster_; }

  // Eight keys, half on each comet, half TCP and half WebSocket, pushed through the admin API.
  void start_traffic(const std::string& prefix, PushFn push = {}) {
    std::vector<std::pair<std::string, Proto>> keys;
    for (int i = 0; i < kKeys; ++i) {
      keys.emplace_back(cluster().key_on(1 + i % 2, prefix + std::to_string(i)),
                        i / 2 % 2 ? Proto::websocket : Proto::tcp);
    }
    if (!push) {
      push = [this](const std::string& key, int seq, std::string* error) {
        return cluster().push(key, json{{"seq", seq}}.dump(), 600, error);
      };
    }
    begin(std::make_unique<Traffic>(cluster(), std::move(keys), std::move(push)));
  }

  // Starts the traffic and waits until every key has had a push acked. Throws (failing the
  // test before any fault) when it cannot.
  void begin(std::unique_ptr<Traffic> traffic) {
    traffic_ = std::move(traffic);
    if (!traffic_->start()) throw std::runtime_error("the readers did not all subscribe");
    if (!traffic_->recovered_after(Clock::now(), 30s)) {
      throw std::runtime_error("no traffic acked before the fault");
    }
    pids_ = pids();
  }

  // Every daemon's pid, by name.
  std::map<std::string, pid_t> pids() {
    std::map<std::string, pid_t> out;
    for (int n = 1; n <= TestCluster::kComets; ++n)
      out["comet" + std::to_string(n)] = cluster().comet_pid(n);
    for (int n = 1; n <= TestCluster::kMessageNodes; ++n) {
      out["message" + std::to_string(n)] = cluster().message_pid(n);
    }
    out["web"] = cluster().web_pid();
    return out;
  }

  // After the fault: recovery (counted from `from`: the kill, or the end of a stop or
  // restart), then the checks of the top of the file. `restarted`: the daemons the test
  // started again itself; every other one must run with the pid it had.
  void expect_no_loss(const std::string& name, Clock::time_point from,
                      const std::set<std::string>& restarted = {}) {
    auto recovery = traffic_->recovered_after(from, kRecoveryBound);
    // A little traffic after recovery, so that resumes after it are covered too.
    traffic_->recovered_after(Clock::now(), 10s);
    traffic_->finish();
    auto pushes = traffic_->pushes();
    size_t acked = std::count_if(pushes.begin(), pushes.end(), [](auto& p) { return p.mid; });
    auto lost_live = traffic_->lost_live();
    auto lost_stored = traffic_->lost_stored();
    auto late = traffic_->late();
    int duplicated = traffic_->duplicates();
    std::cout << "[ FAULT    ] " << name << " | " << pushes.size() << " | " << acked << " | "
              << lost_live.size() + lost_stored.size() << " | " << late.size() << " | "
              << duplicated << " | " << (recovery ? std::to_string(recovery->count()) : "never")
              << "\n";
    EXPECT_TRUE(recovery) << "not every key had a push acked within " << kRecoveryBound.count()
                          << " ms of the fault's end";
    EXPECT_GT(acked, 0u);
    EXPECT_TRUE(lost_live.empty()) << lost_live.size() << " acked pushes never reached their "
                                   << "reader, the first: " << lost_live.front() << "\n"
                                   << traffic_->summary();
    EXPECT_TRUE(lost_stored.empty()) << lost_stored.size() << " acked pushes not stored, the "
                                     << "first: " << lost_stored.front();
    EXPECT_TRUE(late.empty()) << late.size()
                              << " pushes answered late, the first: " << late.front();
    EXPECT_EQ(duplicated, 0) << "a reader got a mid twice or out of order";
    EXPECT_EQ(traffic_->bad_frames(), "");
    for (auto& [daemon, pid] : pids()) {
      if (!restarted.count(daemon)) {
        EXPECT_EQ(pid, pids_[daemon]) << daemon << " was restarted";
      }
    }
  }

  std::map<std::string, pid_t> pids_;

  std::unique_ptr<TestCluster> cluster_;
  std::unique_ptr<Traffic> traffic_;
};

// How long a daemon stays stopped: short (its ZooKeeper session lives on) or past the 4 s
// session timeout (the session expires; the daemon must register again by itself).
constexpr milliseconds kShortStop{2000};
constexpr milliseconds kExpiringStop{7000};

TEST_F(FaultTest, CometKilled) {
  start_cluster();
  start_traffic("kill-comet-");
  const auto killed = Clock::now();
  cluster().kill_comet(1);
  // Its clients move to node2 once its session expires; then it comes back.
  ASSERT_TRUE(cluster().wait_ring({"node2"}, 20s));
  ASSERT_TRUE(traffic_->recovered_after(killed, kRecoveryBound));
  cluster().start_comet(1);
  expect_no_loss("comet SIGKILL (node2 serves its keys), then started again", killed, {"comet1"});
}

TEST_F(FaultTest, CometStopped) {
  start_cluster();
  start_traffic("stop-comet-");
  cluster().pause_comet(1);
  std::this_thread::sleep_for(kShortStop);  // the fault's duration, not a wait for an event
  cluster().resume_comet(1);
  expect_no_loss("comet SIGSTOP 2 s", Clock::now());
}

TEST_F(FaultTest, CometSessionExpires) {
  start_cluster();
  start_traffic("expire-comet-");
  cluster().pause_comet(1);
  std::this_thread::sleep_for(kExpiringStop);
  cluster().resume_comet(1);
  const auto resumed = Clock::now();
  // It registers again by itself: web routes to both comets again.
  EXPECT_TRUE(cluster().wait_ring({"node1", "node2"}, kRecoveryBound))
      << "node1 did not register again after its session expired";
  std::cout << "[ INFO     ] node1 back in the ring " << ms(Clock::now() - resumed)
            << " ms after SIGCONT\n";
  expect_no_loss("comet SIGSTOP 7 s (ZooKeeper session expired)", resumed);
}

// Stopped until web drops it from the ring (its session expired), then at once SIGCONT: the
// pushes web sent it just before may still be within their 2 s deadline. Run before
// ZooKeeper has spoken, they would get mids newer than what node2 stored meanwhile and the
// readers would resume past those; comet/freeze_guard holds them. (Here the race did not show
// in three runs without the guard either: the guard closes it by construction.)
TEST_F(FaultTest, CometResumedRightAfterLeavingTheRing) {
  start_cluster();
  start_traffic("past-session-");
  cluster().pause_comet(1);
  const bool left = cluster().wait_ring({"node2"}, 20s);
  cluster().resume_comet(1);
  const auto resumed = Clock::now();
  ASSERT_TRUE(left) << "node1's session did not expire";
  EXPECT_TRUE(cluster().wait_ring({"node1", "node2"}, kRecoveryBound));
  expect_no_loss("comet SIGSTOP until it left the ring", resumed);
}

TEST_F(FaultTest, MessageNodeKilled) {
  start_cluster();
  start_traffic("kill-message-");
  const auto killed = Clock::now();
  cluster().kill_message(1);
  ASSERT_TRUE(traffic_->recovered_after(killed, kRecoveryBound));
  cluster().start_message(1);
  expect_no_loss("message node SIGKILL, then started again", killed, {"message1"});
}

TEST_F(FaultTest, MessageNodeStopped) {
  start_cluster();
  start_traffic("stop-message-");
  cluster().pause_message(1);
  std::this_thread::sleep_for(kShortStop);
  cluster().resume_message(1);
  expect_no_loss("message node SIGSTOP 2 s", Clock::now());
}

TEST_F(FaultTest, MessageNodeSessionExpires) {
  start_cluster();
  start_traffic("expire-message-");
  cluster().pause_message(1);
  std::this_thread::sleep_for(kExpiringStop);
  cluster().resume_message(1);
  const auto resumed = Clock::now();
  EXPECT_TRUE(
      eventually([&] { return cluster().stat().value("message_nodes", json::array()).size() == 2; },
                 kRecoveryBound))
      << "web does not know message1 again after its session expired";
  expect_no_loss("message node SIGSTOP 7 s (ZooKeeper session expired)", resumed);
}

TEST_F(FaultTest, WebKilled) {
  start_cluster();
  start_traffic("kill-web-");
  const auto killed = Clock::now();
  cluster().kill_web();
  cluster().start_web();
  expect_no_loss("web SIGKILL, then started again", killed, {"web"});
}

TEST_F(FaultTest, WebStopped) {
  start_cluster();
  start_traffic("stop-web-");
  const auto from = Clock::now();
  cluster().pause_web();
  std::this_thread::sleep_for(kShortStop);
  cluster().resume_web();
  traffic_->web_frozen(from, Clock::now());
  expect_no_loss("web SIGSTOP 2 s", Clock::now());
}

TEST_F(FaultTest, WebSessionExpires) {
  start_cluster();
  start_traffic("expire-web-");
  const auto from = Clock::now();
  cluster().pause_web();
  std::this_thread::sleep_for(kExpiringStop);
  cluster().resume_web();
  const auto resumed = Clock::now();
  traffic_->web_frozen(from, resumed);
  // Its watches are set again: a comet that leaves and comes back is seen.
  expect_no_loss("web SIGSTOP 7 s (ZooKeeper session expired)", resumed);
  traffic_.reset();
  cluster().stop_comet(2);
  EXPECT_TRUE(cluster().wait_ring({"node1"}, kRecoveryBound)) << "web missed node2 leaving";
  cluster().start_comet(2);  // throws (fails the test) unless web routes to it again
}

TEST_F(FaultTest, ZooKeeperRestarted) {
  start_cluster();
  start_traffic("restart-zk-");
  cluster().restart_zookeeper();
  const auto restarted = Clock::now();
  EXPECT_TRUE(cluster().wait_ring({"node1", "node2"}, kRecoveryBound));
  expect_no_loss("ZooKeeper restart", restarted);
}

TEST_F(FaultTest, RedisRestarted) {
  start_cluster();
  start_traffic("restart-redis-");
  cluster().redis().restart();  // SIGTERM (the AOF is flushed), then started on the same port
  expect_no_loss("Redis restart (appendonly yes)", Clock::now());
}

// /app pushes (app/user/push by an application token, to users' offline keys) while MariaDB
// restarts: web's pool reconnects by itself.
TEST_F(FaultTest, MariaDbRestartedUnderAppTraffic) {
  start_cluster(true);
  cluster().sql(test_app::kFixture);
  auto app_push = [this](const std::string& key, int seq, std::string* error) {
    json body = {{"baseRequest", test_app::base(test_app::kAppToken, "", "")},
                 {"content", "n" + std::to_string(seq)},
                 {"msgType", 1},
                 {"statusId", "s"},
                 {"toUserNames", {key}},
                 {"objectContent", {{"appId", "a1"}}}};
    auto r = cluster().app_post("/app/client/app/user/push", body.dump());
    json a = r.json();
    if (r.status == 200 && a.is_object() && a["baseResponse"].value("ret", -1) == 0) {
      for (auto& m : a.value("mlist", json::array())) {
        if (m.value("key", "") == key) return std::optional<int64_t>(m["mid"].get<int64_t>());
      }
    }
    *error = r.status ? r.body.substr(0, 200) : r.error;
    return std::optional<int64_t>();
  };
  // Users u1..u4 of the fixture: their offline keys, on whichever comet the ring gives.
  std::vector<std::pair<std::string, Proto>> keys = {{"u1@user", Proto::tcp},
                                                     {"u2@user", Proto::websocket},
                                                     {"u3@user", Proto::tcp},
                                                     {"u4@user", Proto::websocket}};
  begin(std::make_unique<Traffic>(cluster(), keys, app_push));
  cluster().mariadb().restart();
  expect_no_loss("MariaDB restart under /app pushes", Clock::now());
}

// Whether this kernel has netem: a throw-away network namespace tries it.
bool netem_available(std::string* why) {
  auto [status, out] = test_app::run(
      "unshare -n sh -c 'ip link set lo up && tc qdisc add dev lo root netem delay 1ms'");
  *why = out;
  return status == 0;
}

// 5 ms +- 2 ms delay and 1% loss on every loopback packet. The test moves into its own network
// namespace first, so that the cluster (its children) and nothing else sees the bad network.
TEST_F(FaultTest, DelayAndLossOnLoopback) {
  std::string why;
  if (!netem_available(&why)) GTEST_SKIP() << "tc netem is not available here: " << why;
  ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
  ASSERT_EQ(test_app::run("ip link set lo up").first, 0);
  start_cluster();
  start_traffic("netem-");
  auto [status, out] = test_app::run("tc qdisc add dev lo root netem delay 5ms 2ms loss 1%");
  ASSERT_EQ(status, 0) << out;
  std::this_thread::sleep_for(10s);  // the fault's duration: 10 s of traffic on the bad network
  test_app::run("tc qdisc del dev lo root");
  expect_no_loss("loopback delay 5 ms, loss 1%", Clock::now());
}

}  // namespace
}  // namespace appmsg
