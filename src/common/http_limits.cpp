// [http] keys: the connection limits of every HTTP listener of a daemon.
#include "common/http_limits.hpp"

namespace appmsg {

HttpLimits HttpLimits::load(const Config& c) {
  HttpLimits l;
  l.read_timeout = c.get_millis("http", "read.timeout", l.read_timeout);
  l.idle_timeout = c.get_millis("http", "idle.timeout", l.idle_timeout);
  l.max_connections = static_cast<size_t>(
      c.get_positive("http", "max.connections", static_cast<int64_t>(l.max_connections)));
  if (l.read_timeout.count() <= 0) c.fail("http", "read.timeout", "must be positive");
  if (l.idle_timeout.count() <= 0) c.fail("http", "idle.timeout", "must be positive");
  return l;
}

}  // namespace appmsg
