// web.conf -> WebConfig.
#include "web/web_config.hpp"

#include <algorithm>

namespace appmsg::web {

WebConfig WebConfig::load(const Config& c) {
  WebConfig o;
  o.http = HttpLimits::load(c);
  o.http_bind = c.get_list("base", "http.bind", o.http_bind);
  o.admin_bind = c.get_list("base", "admin.bind", o.admin_bind);
  o.stat_bind_set = c.has("base", "stat.bind") || c.has("base", "pprof.bind");
  o.stat_bind = c.get_list("base", "stat.bind", c.get_list("base", "pprof.bind", o.stat_bind));
  auto router = c.get_string("base", "router", "");
  if (router == "CN") {
    c.fail("base", "router",
           "the CN network router (QQWry database) is not supported; leave router empty");
  } else if (!router.empty()) {
    c.fail("base", "router", "unknown router \"" + router + "\" (leave it empty)");
  }

  o.zk_addr = c.get_string("zookeeper", "addr", o.zk_addr);
  o.zk_timeout = c.get_millis("zookeeper", "timeout", o.zk_timeout);
  o.comet_path = c.get_string("zookeeper", "comet.path", o.comet_path);
  o.message_path = c.get_string("zookeeper", "message.path", o.message_path);

  o.rpc_ping = c.get_millis("rpc", "ping", o.rpc_ping);
  o.rpc_retry = c.get_millis("rpc", "retry", o.rpc_retry);
  o.rpc_timeout = c.get_millis("rpc", "timeout", o.rpc_timeout);
  if (o.rpc_timeout.count() == 0) c.fail("rpc", "timeout", "must be positive");
  if (o.rpc_ping.count() == 0) c.fail("rpc", "ping", "must be positive");
  o.rpc_secret = c.get_string("rpc", "secret", o.rpc_secret);

  o.admin_secret = c.get_string("admin", "secret", o.admin_secret);
  o.max_body_bytes =
      static_cast<size_t>(c.get_size("admin", "body.max", static_cast<int64_t>(o.max_body_bytes)));
  if (o.max_body_bytes == 0) c.fail("admin", "body.max", "must be positive");
  // It can only lower the one limit every daemon applies (64KB means the 65,535 bytes).
  o.max_body_bytes = std::min(o.max_body_bytes, limits::kMaxBodyBytes);
  o.max_batch_keys = static_cast<size_t>(
      c.get_positive("admin", "batch.max", static_cast<int64_t>(o.max_batch_keys)));

  o.migrate_grace = c.get_millis("comet", "migrate.grace", o.migrate_grace);
  o.cors_origins = c.get_list("cors", "origins", o.cors_origins);
  for (auto& origin : o.cors_origins) {
    if (origin != "*" && origin.find("://") == std::string::npos) {
      c.fail("cors", "origins", "\"" + origin + "\" is no origin (scheme://host[:port] or *)");
    }
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
  }
  o.view_dir = c.get_string("app", "view.dir", o.view_dir);
  o.msg_page = static_cast<int>(c.get_positive("msg", "page", o.msg_page));
  return o;
}

std::vector<std::string> WebConfig::ignored_keys(const Config& c) {
  auto out = ignored_key_warnings(
      c, {
             {"base", "user", "run the daemon as the wanted user (systemd User=) instead"},
             {"base", "maxproc", "web runs one event-loop thread; run more web nodes to scale"},
             {"res", "qqwry.path", "the CN network router is not supported"},
             {"redis", "timeout", "one pipelined connection per Redis server: nothing idles"},
             {"redis", "idle", "one pipelined connection per Redis server"},
             {"redis", "active", "one pipelined connection per Redis server"},
             {"redis", "store", "a message-node setting"},
         });
  return out;
}

}  // namespace appmsg::web
