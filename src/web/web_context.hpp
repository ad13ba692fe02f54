// What web's request handlers share: settings, the comet and message-node views, counters.
// Owned by WebService and outliving every request; used on web's one event-loop thread.
#pragma once

#include <functional>
#include <string>

#include "common/message_nodes.hpp"
#include "web/comet_nodes.hpp"
#include "web/web_config.hpp"
#include "web/web_stats.hpp"

namespace appmsg::web {

struct WebContext {
  WebConfig config;
  CometNodes* comets = nullptr;
  MessageNodes* messages = nullptr;
  WebStats stats;
  std::function<std::string()> extra_metrics;  // the /app API's lines of /metrics, when it runs
};

}  // namespace appmsg::web
