// The connection limits of a daemon's HTTP listeners, read from its config file.
#pragma once

#include <chrono>
#include <cstddef>

#include "common/config.hpp"

namespace appmsg {

// The connection limits of every HTTP listener of a daemon (public, admin, /app, RPC, stat),
// from its config file's [http] section; one definition for all three daemons.
//   [http] read.timeout     30s    the first request, whole, from the connection's accept
//   [http] idle.timeout     60s    each later request of a keep-alive connection, whole, from
//                                  the previous answer
//   [http] max.connections  10000  per listener; beyond it new connections are closed at once
struct HttpLimits {
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  size_t max_connections = 10000;
  static HttpLimits load(const Config& c);  // throws ConfigError
};

}  // namespace appmsg
