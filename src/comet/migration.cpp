// Migration: the ring check over the channel table, now or after a grace period.
#include "comet/migration.hpp"

#include <spdlog/spdlog.h>

#include "common/ketama.hpp"

namespace appmsg::comet {

size_t migrate_channels(ChannelTable& table, const std::vector<std::string>& nodes, int vnode,
                        const std::string& self) {
  CometRing ring(nodes, vnode);
  auto moved = table.take_if([&](const std::string& key) {
    const std::string* owner = ring.node_for(key);
    return !owner || *owner != self;
  });
  for (auto& s : moved) s->close(CloseReason::migrated);
  return moved.size();
}

Migration::Migration(boost::asio::any_io_executor ex, ChannelTable& table, std::string self)
    : table_(table), self_(std::move(self)), timer_(ex) {}

size_t Migration::request(std::vector<std::string> nodes, int vnode,
                          std::chrono::milliseconds grace) {
  if (grace.count() <= 0) {
    pending_.reset();
    timer_.cancel();
    return migrate_channels(table_, nodes, vnode, self_);
  }
  bool waiting = pending_.has_value();
  pending_ = Ring{std::move(nodes), vnode};
  if (waiting) return 0;
  timer_.expires_after(grace);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !pending_) return;  // cancelled: `this` may be gone
    Ring ring = std::move(*pending_);
    pending_.reset();
    size_t closed = migrate_channels(table_, ring.nodes, ring.vnode, self_);
    spdlog::info("migrate: closed {} connections no longer owned by {}", closed, self_);
  });
  return 0;
}

}  // namespace appmsg::comet
