// The message nodes a comet or web node talks to: discovered from the children of
// `message.path` in ZooKeeper (following joins and leaves), one pooled RPC client each.
//
// call() picks nodes round-robin, skipping any that failed recently; when a node fails with a
// transport error or its deadline, it is skipped for `retry` and the call moves on to the next
// node, all within the caller's deadline. A failed node gets no calls (unless every other node
// failed too) until a ping, sent every `retry` and given `retry` to answer, says it is back:
// a node that accepts but never answers holds up only the calls that found it first. Errors a node
// returns on purpose (bad params) are not retried. Lives on one executor (a strand or
// single-threaded context): call it there.
//
// Node data: JSON {"rpc":["host:port",...],"weight":N} (what our message daemon writes), or the
// original's plain "host:port[,host:port]".
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/lifeline.hpp"

namespace appmsg {

class ZkClient;
class RpcClient;

// Parses one node's data into RPC addresses; empty when malformed.
std::vector<std::string> parse_message_node_data(std::string_view data);

class MessageNodes {
 public:
  struct Options {
    std::string path = "/gopush-cluster-message";
    std::string secret;
    std::chrono::milliseconds retry{1000};  // how long a failed node is skipped
  };
  MessageNodes(boost::asio::any_io_executor ex, Options opts);
  ~MessageNodes();

  // Follows the children of opts.path through `zk` (which must outlive this object).
  void watch(ZkClient& zk);
  // Replaces the node set by hand (tests, or a static configuration).
  void set_addresses(const std::vector<std::string>& addresses);

  // Throws RpcError: the last node's error, or rpc_code::unavailable when no node is up.
  // By value: the coroutine runs when awaited, after the caller's temporaries are gone.
  boost::asio::awaitable<nlohmann::json> call(std::string method, nlohmann::json params,
                                              std::chrono::milliseconds deadline);
  std::vector<std::string> addresses() const;
  // One call to the node at `address` (no failover); RpcError unavailable when it is unknown.
  boost::asio::awaitable<nlohmann::json> call_at(std::string address, std::string method,
                                                 nlohmann::json params,
                                                 std::chrono::milliseconds deadline);

 private:
  struct Node {
    std::unique_ptr<RpcClient> client;
    // Set when a call to it fails; cleared when it answers again. Past it, a ping probes the
    // node (`probing`) while calls keep skipping it.
    std::chrono::steady_clock::time_point down_until{};
    bool probing = false;
    bool failed() const { return down_until != std::chrono::steady_clock::time_point{}; }
  };
  void refresh(const std::vector<std::string>& children);
  void probe(const std::shared_ptr<Node>& node);

  boost::asio::any_io_executor ex_;
  Options opts_;
  ZkClient* zk_ = nullptr;
  std::map<std::string, std::shared_ptr<Node>> nodes_;               // by address
  std::map<std::string, std::vector<std::string>> child_addresses_;  // ZK child -> addresses
  uint64_t generation_ = 0;  // guards against out-of-order refreshes
  size_t next_ = 0;
  Lifeline lifeline_;  // last member: a refresh finishing after the set is gone does nothing
};

}  // namespace appmsg
