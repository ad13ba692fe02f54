// The comet's stats listener: GET /stat?type=... with the original's JSON (spec/comet.md
// section 7: channel, message, connection, server; golang, memory and config are Go-specific or
// expose topology and answer 404) and GET /metrics in Prometheus text format.
#pragma once

#include <chrono>
#include <memory>

#include "comet/channel_table.hpp"
#include "comet/comet_stats.hpp"
#include "common/http_server.hpp"

namespace appmsg::comet {

void add_stats_routes(HttpRouter& router, const ChannelTable& table, const CometStats& stats,
                      std::chrono::steady_clock::time_point started);

}  // namespace appmsg::comet
