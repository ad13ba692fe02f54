// The comets web routes to: membership from ZooKeeper, the key -> node ring, one RPC client
// and push queue (comet_push_queue.hpp) per node, and the migrate calls that move clients after a
// ring change.
//
// Membership (spec/web-core.md 5 and 8, with W-6, W-7, W-9, W-11 fixed): a node name is in the
// ring while it has at least one live instance (ephemeral child of <comet.path>/<name>) whose
// data parses; the oldest instance (lowest sequence) serves it. A node whose instances all
// leave ZooKeeper leaves the ring at once; one that appears enters it once its data is read.
// The ring is the original's bit-exact murmur ketama with 255 points per name.
//
// Every change of the ring's member set is followed (after a short settle) by a `migrate` call
// to every member with the new member list and the grace period; comets then close the
// connections whose key now belongs elsewhere, and their clients come back through
// /server/get. A failed migrate call is retried after [rpc] retry while the ring stands.
//
// Threads: everything here lives on one executor (web's single event loop); snapshot() hands
// out an immutable view, so a request holds a consistent ring and node map.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ketama.hpp"
#include "common/lifeline.hpp"
#include "common/rpc.hpp"
#include "web/comet_push_queue.hpp"

namespace appmsg {
class ZkClient;
}

namespace appmsg::web {

// A comet instance's addresses, from its ZooKeeper data.
struct CometInfo {
  std::vector<std::string> tcp, ws, rpc;
  bool operator==(const CometInfo&) const = default;
};

// Our comets' JSON {"tcp":[...],"ws":[...],"rpc":[...],...} or the original's
// "tcp://a:1,ws://b:2,rpc://c:3" (unknown schemes ignored). nullopt when malformed or when
// there is no rpc address (spec 12.4).
std::optional<CometInfo> parse_comet_data(std::string_view data);

// One live comet node: its addresses, its RPC client and its push queue.
class CometNode : public std::enable_shared_from_this<CometNode> {
 public:
  using Clock = std::chrono::steady_clock;
  CometNode(boost::asio::any_io_executor ex, std::string name, CometInfo info, std::string secret);
  const std::string& name() const { return name_; }
  const CometInfo& info() const { return info_; }
  const std::string& rpc_address() const { return info_.rpc.front(); }

  // Pushes through the queue (comet_push_queue.hpp), answered by `deadline`. `msg` is the
  // body's JSON text as pushed. By value: the coroutine runs when awaited.
  boost::asio::awaitable<PushResult> push(std::string key, std::shared_ptr<const std::string> msg,
                                          int64_t expire, Clock::time_point deadline);
  // One message to many keys of this node, in one call; results in the order of `keys`.
  boost::asio::awaitable<std::vector<PushResult>> push_keys(std::vector<std::string> keys,
                                                            std::shared_ptr<const std::string> msg,
                                                            int64_t expire,
                                                            Clock::time_point deadline);
  // Per-key copies in one call (CometPushQueue::push_items); results in the order of `items`.
  boost::asio::awaitable<std::vector<PushResult>> push_items(std::vector<PushItem> items,
                                                             Clock::time_point deadline);
  boost::asio::awaitable<nlohmann::json> call(std::string method, nlohmann::json params,
                                              std::chrono::milliseconds deadline);
  const CometPushQueue& queue() const { return *queue_; }

  bool healthy = true;  // the last ping answered
  uint64_t calls = 0;

 private:
  std::string name_;
  CometInfo info_;
  std::shared_ptr<RpcClient> rpc_;  // shared with the queue's calls
  std::shared_ptr<CometPushQueue> queue_;
};

// Web's `ret` for a failed comet call: 65534 for the comet's parameter errors, else 65535.
int ret_for_rpc_error(const RpcError& e);

class CometNodes {
 public:
  struct Options {
    std::string path = "/gopush-cluster-comet";
    std::string secret;
    std::chrono::milliseconds timeout{3000};  // one call
    std::chrono::milliseconds ping{1000};
    std::chrono::milliseconds retry{3000};
    std::chrono::milliseconds migrate_grace{2000};
    std::chrono::milliseconds settle{200};  // quiet time after a change before migrate calls
  };
  struct Snapshot {
    CometRing ring{{}};
    std::map<std::string, std::shared_ptr<CometNode>, std::less<>> nodes;  // ring members
    std::shared_ptr<CometNode> node_for(std::string_view key) const;
  };

  CometNodes(boost::asio::any_io_executor ex, Options opts);
  ~CometNodes();

  void watch(ZkClient& zk);  // `zk` must outlive this object (or stop())
  void stop();               // unwatch, stop pinging and migrating
  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_; }

  uint64_t ring_changes = 0, migrate_calls = 0, migrate_errors = 0;

 private:
  struct Watched {  // one name under <comet.path>
    uint64_t watch = 0;
    std::string leader;  // the instance whose data we use ("" while none)
    std::optional<CometInfo> info;
    std::shared_ptr<CometNode> node;
  };
  void on_names(const std::vector<std::string>& names);
  void on_instances(const std::string& name, const std::vector<std::string>& children);
  boost::asio::awaitable<void> load(std::shared_ptr<const bool> alive, std::string name,
                                    std::string leader);
  void rebuild();
  void schedule_migrate(std::chrono::milliseconds after);
  boost::asio::awaitable<void> migrate_all(std::shared_ptr<const bool> alive,
                                           std::shared_ptr<const Snapshot> snap);
  boost::asio::awaitable<void> ping_loop(std::shared_ptr<const bool> alive);

  boost::asio::any_io_executor ex_;
  Options opts_;
  ZkClient* zk_ = nullptr;
  uint64_t root_watch_ = 0;
  std::map<std::string, Watched> watched_;
  std::shared_ptr<const Snapshot> snapshot_;
  boost::asio::steady_timer migrate_timer_;
  bool stopped_ = false;
  Lifeline lifeline_;
};

}  // namespace appmsg::web
