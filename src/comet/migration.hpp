// Migration: closing the connections whose key a new comet ring gives to another node, so their
// clients reconnect through web's /server/get to the new owner (web calls the comet's
// `migrate` RPC on every ring change). The closes may wait for a grace period: a burst of ring
// changes then costs one pass, and clients are not dropped while web's own view settles.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "comet/channel_table.hpp"

namespace appmsg::comet {

// Closes every connection of the keys the ring no longer maps to `self`; returns how many.
size_t migrate_channels(ChannelTable& table, const std::vector<std::string>& nodes, int vnode,
                        const std::string& self);

class Migration {
 public:
  Migration(boost::asio::any_io_executor ex, ChannelTable& table, std::string self);

  // With grace 0: closes now and returns how many. Otherwise the closes run `grace` from now
  // against the newest ring requested by then (a later request while one waits only replaces
  // the ring, so a flapping membership cannot postpone them for ever); returns 0.
  // Call on the executor given at construction.
  size_t request(std::vector<std::string> nodes, int vnode, std::chrono::milliseconds grace);

 private:
  struct Ring {
    std::vector<std::string> nodes;
    int vnode = 255;
  };
  ChannelTable& table_;
  std::string self_;
  boost::asio::steady_timer timer_;
  std::optional<Ring> pending_;
};

}  // namespace appmsg::comet
