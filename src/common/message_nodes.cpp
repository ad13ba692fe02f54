// Message-node discovery and calls with fail-over.
#include "common/message_nodes.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>

#include "common/rpc.hpp"
#include "common/spawn.hpp"
#include "common/zk_client.hpp"

namespace appmsg {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> parse_message_node_data(std::string_view data) {
  std::vector<std::string> out;
  auto j = json::parse(data, nullptr, false);
  if (j.is_object()) {
    auto rpc = j.find("rpc");
    if (rpc != j.end() && rpc->is_array()) {
      for (auto& a : *rpc) {
        if (a.is_string() && !a.get<std::string>().empty()) out.push_back(a.get<std::string>());
      }
    } else if (rpc != j.end() && rpc->is_string()) {
      out.push_back(rpc->get<std::string>());
    }
    return out;
  }
  // The original's form: host:port[,host:port]
  size_t start = 0;
  while (start <= data.size()) {
    auto comma = data.find(',', start);
    auto item = data.substr(start, comma == std::string_view::npos ? data.npos : comma - start);
    if (item.find(':') != std::string_view::npos && item.find_first_of(" {}\"") == item.npos) {
      out.emplace_back(item);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

MessageNodes::MessageNodes(asio::any_io_executor ex, Options opts)
    : ex_(std::move(ex)), opts_(std::move(opts)) {}

MessageNodes::~MessageNodes() = default;

void MessageNodes::watch(ZkClient& zk) {
  zk_ = &zk;
  zk.watch_children(opts_.path,
                    [this](const std::vector<std::string>& children) { refresh(children); });
}

// Reads each child's data (once per child: the data of a registration does not change) and
// rebuilds the address set.
void MessageNodes::refresh(const std::vector<std::string>& children) {
  uint64_t gen = ++generation_;
  spawn(
      ex_,
      [this, gen, children, alive = lifeline_.token()]() -> asio::awaitable<void> {
        std::map<std::string, std::vector<std::string>> next;
        for (auto& child : children) {
          if (auto it = child_addresses_.find(child); it != child_addresses_.end()) {
            next.emplace(child, it->second);
            continue;
          }
          std::optional<std::string> data;
          try {
            auto pending = zk_->get(opts_.path + "/" + child);
            data = co_await std::move(pending);
          } catch (const std::exception& e) {
            if (!*alive) co_return;
            spdlog::warn("message nodes: reading {}/{}: {}", opts_.path, child, e.what());
          }
          if (!*alive) co_return;
          if (!data) continue;
          auto addrs = parse_message_node_data(*data);
          if (addrs.empty()) {
            spdlog::warn("message nodes: {}/{} has no usable address: '{}'", opts_.path, child,
                         *data);
          }
          next.emplace(child, std::move(addrs));
        }
        if (gen != generation_) co_return;  // a newer child list is being applied
        child_addresses_ = std::move(next);
        std::vector<std::string> all;
        for (auto& [c, addrs] : child_addresses_) all.insert(all.end(), addrs.begin(), addrs.end());
        set_addresses(all);
      },
      "message nodes: refresh");
}

void MessageNodes::set_addresses(const std::vector<std::string>& addresses) {
  std::map<std::string, std::shared_ptr<Node>> next;
  for (auto& a : addresses) {
    if (auto it = nodes_.find(a); it != nodes_.end()) {
      next.emplace(a, it->second);
      continue;
    }
    auto node = std::make_shared<Node>();
    try {
      node->client = std::make_unique<RpcClient>(ex_, RpcClientOptions{a, opts_.secret});
    } catch (const std::exception& e) {  // e.g. a host name: addresses must be IP:port
      spdlog::error("message nodes: skipping {}: {}", a, e.what());
      continue;
    }
    next.emplace(a, std::move(node));
    spdlog::info("message nodes: + {}", a);
  }
  for (auto& [a, n] : nodes_) {
    if (!next.count(a)) spdlog::info("message nodes: - {}", a);
  }
  nodes_ = std::move(next);
}

std::vector<std::string> MessageNodes::addresses() const {
  std::vector<std::string> out;
  for (auto& [a, n] : nodes_) out.push_back(a);
  return out;
}

// A ping with `retry` to answer: the node is back when it does, else skipped for another
// `retry`. The probe holds the node (and its client) alive by itself.
void MessageNodes::probe(const std::shared_ptr<Node>& node) {
  node->probing = true;
  spawn(
      ex_,
      [node, retry = opts_.retry]() -> asio::awaitable<void> {
        bool answered = false;
        try {
          auto pending = node->client->call("ping", json::object(), retry);
          co_await std::move(pending);
          answered = true;
        } catch (const RpcError& e) {
          answered = !e.transport();  // it answered, if only with an error
        }
        node->probing = false;
        if (answered) {
          node->down_until = {};
          spdlog::info("message nodes: {} answers again", node->client->address());
        } else {
          node->down_until = Clock::now() + retry;
        }
      },
      "message nodes: probe");
}

asio::awaitable<json> MessageNodes::call_at(std::string address, std::string method, json params,
                                            std::chrono::milliseconds deadline) {
  auto it = nodes_.find(address);
  if (it == nodes_.end()) throw RpcError(rpc_code::unavailable, "no message node " + address);
  std::shared_ptr<Node> node = it->second;  // kept while the call runs
  auto op = node->client->call(std::move(method), std::move(params), deadline);
  co_return co_await std::move(op);
}

asio::awaitable<json> MessageNodes::call(std::string method, json params,
                                         std::chrono::milliseconds deadline) {
  auto until = Clock::now() + deadline;
  std::optional<RpcError> last;
  // Try each node at most once, healthy ones first.
  std::vector<std::shared_ptr<Node>> order;
  std::vector<std::shared_ptr<Node>> down;
  size_t n = nodes_.size();
  size_t start = n ? next_++ % n : 0;
  auto it = nodes_.begin();
  std::advance(it, start);
  auto now = Clock::now();
  for (size_t i = 0; i < n; ++i, ++it) {
    if (it == nodes_.end()) it = nodes_.begin();
    auto& node = it->second;
    if (node->failed() && node->down_until <= now && !node->probing) probe(node);
    (node->failed() ? down : order).push_back(node);
  }
  order.insert(order.end(), down.begin(), down.end());
  for (size_t attempt = 0; attempt < order.size(); ++attempt) {
    auto& node = order[attempt];
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) break;
    // A node that accepts but never answers must not take all the time: each attempt gets an
    // equal share of what is left (the last one all of it).
    left /= static_cast<long>(order.size() - attempt);
    try {
      auto pending =
          node->client->call(method, params, std::max(left, std::chrono::milliseconds(1)));
      json result = co_await std::move(pending);
      node->down_until = {};
      co_return result;
    } catch (const RpcError& e) {
      // The node answered: another node would answer the same; except `expired` (it read the
      // call too late to run it: stopped, or its clock is ahead), which another node may run.
      if (!e.transport() && e.code() != rpc_code::expired) {
        node->down_until = {};
        throw;
      }
      node->down_until = Clock::now() + opts_.retry;
      spdlog::warn("message nodes: {} failed on {}: {}", method, node->client->address(), e.what());
      last = e;
    }
  }
  if (last) throw *last;
  throw RpcError(rpc_code::unavailable, "no message node available for " + method);
}

}  // namespace appmsg
