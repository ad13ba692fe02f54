// Web's counters (requests by route and `ret`) and its /stat (JSON) and /metrics (Prometheus)
// pages on the stats listener ([base] stat.bind, or the original's pprof.bind).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web {

struct WebContext;

struct WebStats {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::map<std::string, std::map<int, uint64_t>> requests;  // route -> ret -> count
  uint64_t admin_auth_failures = 0;
  void count(const std::string& route, int ret) { ++requests[route][ret]; }
};

void add_stat_routes(HttpRouter& router, const WebContext& ctx);
// /stat's JSON: uptime, comets (addresses, health, push counts), ring, message nodes, requests.
nlohmann::json web_stat(const WebContext& ctx);

}  // namespace appmsg::web
