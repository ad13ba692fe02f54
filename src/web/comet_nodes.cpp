// Comet membership, ring snapshots, per-node push queues, migrate and health pings.
#include "web/comet_nodes.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/spawn.hpp"
#include "common/zk_client.hpp"
#include "web/api_codes.hpp"

namespace appmsg::web {

namespace asio = boost::asio;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Node data

namespace {

std::optional<CometInfo> parse_json_data(std::string_view data) {
  json j = json::parse(data, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  CometInfo info;
  auto list = [&](const char* name, std::vector<std::string>& out) {
    auto it = j.find(name);
    if (it == j.end()) return true;
    if (!it->is_array()) return false;
    for (auto& a : *it) {
      if (!a.is_string() || a.get<std::string>().empty()) return false;
      out.push_back(a.get<std::string>());
    }
    return true;
  };
  if (!list("tcp", info.tcp) || !list("ws", info.ws) || !list("rpc", info.rpc)) return std::nullopt;
  return info;
}

std::optional<CometInfo> parse_original_data(std::string_view data) {
  CometInfo info;
  while (!data.empty()) {
    auto comma = data.find(',');
    std::string_view item = data.substr(0, comma);
    data = comma == std::string_view::npos ? std::string_view() : data.substr(comma + 1);
    auto sep = item.find("://");
    if (sep == std::string_view::npos || item.find("://", sep + 3) != std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view scheme = item.substr(0, sep);
    std::string address(item.substr(sep + 3));
    if (scheme == "ws") {
      info.ws.push_back(std::move(address));
    } else if (scheme == "tcp") {
      info.tcp.push_back(std::move(address));
    } else if (scheme == "rpc") {
      info.rpc.push_back(std::move(address));
    }  // other schemes: never handed out (W-2)
  }
  return info;
}

}  // namespace

std::optional<CometInfo> parse_comet_data(std::string_view data) {
  if (data.empty()) return std::nullopt;
  auto info = data.front() == '{' ? parse_json_data(data) : parse_original_data(data);
  if (!info || info->rpc.empty()) return std::nullopt;
  return info;
}

int ret_for_rpc_error(const RpcError& e) {
  return e.code() == kCometParamError ? kParamErr : kInternalErr;
}

// ---------------------------------------------------------------------------------------------
// CometNode

namespace {

// One call through a shared client: the frame holds the client, whatever happens to the node.
asio::awaitable<json> call_comet(std::shared_ptr<RpcClient> rpc, std::string method, json params,
                                 std::chrono::milliseconds deadline) {
  auto op = rpc->call(std::move(method), std::move(params), deadline);
  co_return co_await std::move(op);
}

}  // namespace

CometNode::CometNode(asio::any_io_executor ex, std::string name, CometInfo info, std::string secret)
    : name_(std::move(name)),
      info_(std::move(info)),
      rpc_(std::make_shared<RpcClient>(ex, RpcClientOptions{info_.rpc.front(), std::move(secret)})),
      queue_(std::make_shared<CometPushQueue>(
          ex, name_, [rpc = rpc_](std::string method, json params, std::chrono::milliseconds d) {
            return call_comet(rpc, std::move(method), std::move(params), d);
          })) {}

asio::awaitable<PushResult> CometNode::push(std::string key, std::shared_ptr<const std::string> msg,
                                            int64_t expire, Clock::time_point deadline) {
  auto self = shared_from_this();
  std::vector<std::string> keys{std::move(key)};
  auto op = queue_->push(std::move(keys), std::move(msg), expire, deadline);
  auto results = co_await std::move(op);
  co_return std::move(results.front());
}

asio::awaitable<std::vector<PushResult>> CometNode::push_keys(
    std::vector<std::string> keys, std::shared_ptr<const std::string> msg, int64_t expire,
    Clock::time_point deadline) {
  auto self = shared_from_this();
  auto op = queue_->push(std::move(keys), std::move(msg), expire, deadline);
  co_return co_await std::move(op);
}

asio::awaitable<std::vector<PushResult>> CometNode::push_items(std::vector<PushItem> items,
                                                               Clock::time_point deadline) {
  auto self = shared_from_this();
  auto op = queue_->push_items(std::move(items), deadline);
  co_return co_await std::move(op);
}

asio::awaitable<json> CometNode::call(std::string method, json params,
                                      std::chrono::milliseconds deadline) {
  ++calls;
  auto op = call_comet(rpc_, std::move(method), std::move(params), deadline);
  co_return co_await std::move(op);
}

// ---------------------------------------------------------------------------------------------
// CometNodes

std::shared_ptr<CometNode> CometNodes::Snapshot::node_for(std::string_view key) const {
  const std::string* name = ring.node_for(key);
  if (!name) return nullptr;
  auto it = nodes.find(*name);
  return it == nodes.end() ? nullptr : it->second;
}

CometNodes::CometNodes(asio::any_io_executor ex, Options opts)
    : ex_(ex),
      opts_(std::move(opts)),
      snapshot_(std::make_shared<Snapshot>()),
      migrate_timer_(ex) {}

CometNodes::~CometNodes() {
  stop();
}

void CometNodes::watch(ZkClient& zk) {
  zk_ = &zk;
  root_watch_ = zk.watch_children(opts_.path, [this](const std::vector<std::string>& names) {
    if (!stopped_) on_names(names);
  });
  spawn(ex_, ping_loop(lifeline_.token()), "comet pings");
}

void CometNodes::stop() {
  if (stopped_) return;
  stopped_ = true;
  migrate_timer_.cancel();
  if (zk_) {
    zk_->unwatch(root_watch_);
    for (auto& [name, w] : watched_) zk_->unwatch(w.watch);
  }
  watched_.clear();
}

void CometNodes::on_names(const std::vector<std::string>& names) {
  bool changed = false;
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (std::find(names.begin(), names.end(), it->first) != names.end()) {
      ++it;
      continue;
    }
    spdlog::info("comet {}: gone from ZooKeeper", it->first);
    zk_->unwatch(it->second.watch);
    changed |= it->second.info.has_value();
    it = watched_.erase(it);
  }
  for (auto& name : names) {
    // W-11: a name that could not be a node (the original took any child) is ignored.
    if (name.empty() || watched_.count(name)) continue;
    auto& w = watched_[name];
    w.watch = zk_->watch_children(opts_.path + "/" + name,
                                  [this, name](const std::vector<std::string>& children) {
                                    if (!stopped_) on_instances(name, children);
                                  });
  }
  if (changed) rebuild();
}

void CometNodes::on_instances(const std::string& name, const std::vector<std::string>& children) {
  auto it = watched_.find(name);
  if (it == watched_.end()) return;
  auto& w = it->second;
  std::string leader = children.empty() ? std::string() : children.front();  // sorted: oldest
  if (leader == w.leader) return;
  w.leader = leader;
  if (leader.empty()) {
    spdlog::info("comet {}: no live instance, leaving the ring", name);
    w.info.reset();
    w.node.reset();
    return rebuild();
  }
  spawn(ex_, load(lifeline_.token(), name, leader), "comet " + name + ": reading its data");
}

// `alive` is checked before `this` is touched, at the start and after every wait.
asio::awaitable<void> CometNodes::load(std::shared_ptr<const bool> alive, std::string name,
                                       std::string leader) {
  if (!*alive) co_return;
  std::optional<std::string> data;
  std::string failure;
  try {
    auto op = zk_->get(opts_.path + "/" + name + "/" + leader);
    data = co_await std::move(op);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!*alive || stopped_) co_return;
  auto it = watched_.find(name);
  if (it == watched_.end() || it->second.leader != leader) co_return;  // superseded
  auto& w = it->second;
  if (!failure.empty()) {
    // Read again after the retry interval, unless the instances change first.
    spdlog::warn("comet {}: reading {}: {}", name, leader, failure);
    asio::steady_timer t(ex_, opts_.retry);
    co_await t.async_wait(asio::use_awaitable);
    if (!*alive || stopped_) co_return;
    it = watched_.find(name);
    if (it != watched_.end() && it->second.leader == leader) {
      it->second.leader.clear();
      on_instances(name, {leader});
    }
    co_return;
  }
  auto info = data ? parse_comet_data(*data) : std::nullopt;
  if (!info) {
    spdlog::warn("comet {}: instance {} has no usable data ({}); not routing to it", name, leader,
                 data ? *data : "gone");
    w.info.reset();
    w.node.reset();
    rebuild();
    co_return;
  }
  if (w.info && *w.info == *info && w.node) co_return;
  spdlog::info("comet {}: instance {} at rpc {}", name, leader, info->rpc.front());
  w.info = *info;
  w.node = std::make_shared<CometNode>(ex_, name, *info, opts_.secret);
  rebuild();
}

void CometNodes::rebuild() {
  auto snap = std::make_shared<Snapshot>();
  std::vector<std::string> members;
  for (auto& [name, w] : watched_) {
    if (!w.node) continue;
    members.push_back(name);
    snap->nodes.emplace(name, w.node);
  }
  bool membership_changed = members != snapshot_->ring.nodes();
  snap->ring = CometRing(std::move(members));
  snapshot_ = std::move(snap);
  if (!membership_changed) return;
  ++ring_changes;
  std::string list;
  for (auto& n : snapshot_->ring.nodes()) list += (list.empty() ? "" : ",") + n;
  spdlog::info("comet ring: [{}]", list);
  schedule_migrate(opts_.settle);
}

void CometNodes::schedule_migrate(std::chrono::milliseconds after) {
  if (stopped_) return;
  migrate_timer_.expires_after(after);  // a later change restarts the settle time
  migrate_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;  // cancelled: `this` may be gone
    spawn(ex_, migrate_all(lifeline_.token(), snapshot_), "migrate calls");
  });
}

asio::awaitable<void> CometNodes::migrate_all(std::shared_ptr<const bool> alive,
                                              std::shared_ptr<const Snapshot> snap) {
  if (!*alive || snap->nodes.empty()) co_return;
  json params{
      {"nodes", snap->ring.nodes()}, {"vnode", 255}, {"grace_ms", opts_.migrate_grace.count()}};
  bool failed = false;
  for (auto& [name, node] : snap->nodes) {
    ++migrate_calls;
    try {
      auto op = node->call("migrate", params, opts_.timeout);
      co_await std::move(op);
    } catch (const RpcError& e) {
      if (!*alive) co_return;
      ++migrate_errors;
      failed = true;
      spdlog::warn("comet {}: migrate call failed: {}", name, e.what());
    }
    if (!*alive) co_return;
  }
  if (failed && snap == snapshot_) schedule_migrate(opts_.retry);
}

asio::awaitable<void> CometNodes::ping_loop(std::shared_ptr<const bool> alive) {
  asio::steady_timer t(ex_);
  while (*alive && !stopped_) {
    auto snap = snapshot_;
    for (auto& [name, node] : snap->nodes) {
      bool ok = true;
      try {
        auto op = node->call("ping", json::object(), std::min(opts_.ping, opts_.timeout));
        co_await std::move(op);
      } catch (const RpcError&) {
        ok = false;
      }
      if (!*alive) co_return;
      if (node->healthy != ok) {
        spdlog::warn("comet {}: {}", name, ok ? "answers pings again" : "does not answer pings");
      }
      node->healthy = ok;
    }
    t.expires_after(opts_.ping);
    co_await t.async_wait(asio::use_awaitable);
  }
}

}  // namespace appmsg::web
