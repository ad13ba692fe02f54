// message.conf -> MessageConfig.
#include "message/message_config.hpp"

#include <stdexcept>

#include "common/ketama.hpp"

namespace appmsg::message {

MessageConfig MessageConfig::load(const Config& c) {
  MessageConfig o;
  o.http = HttpLimits::load(c);
  o.rpc_bind = c.get_list("base", "rpc.bind", o.rpc_bind);
  // The original's pprof.bind (a per-node listener in every original message.conf) stands in.
  o.stat_bind_set = c.has("base", "stat.bind") || c.has("base", "pprof.bind");
  o.stat_bind = c.get_list("base", "stat.bind", c.get_list("base", "pprof.bind", o.stat_bind));
  o.weight = c.get_positive("base", "weight", o.weight);
  o.advertise = c.get_string("base", "advertise", o.advertise);
  o.rpc_secret = c.get_string("rpc", "secret", o.rpc_secret);
  o.type = c.get_string("storage", "type", o.type);
  if (o.type != "redis" && o.type != "mysql") c.fail("storage", "type", "use redis or mysql");
  o.max_get = c.get_positive("storage", "get.max", o.max_get);

  o.store = static_cast<int>(c.get_int("redis", "store", o.store));
  if (o.store < 0) c.fail("redis", "store", "must not be negative");
  o.redis_ketama_base = c.get_positive("redis", "ketama.base", o.redis_ketama_base);
  o.redis_timeout = c.get_millis("redis", "command.timeout", o.redis_timeout);
  o.sweep_interval = c.get_millis("redis", "sweep.interval", o.sweep_interval);
  o.sweep_keys = c.get_positive("redis", "sweep.keys", o.sweep_keys);
  o.redis_sources = read_shard_sources(c, "redis.source");

  o.mysql_clean = c.get_millis("mysql", "clean", o.mysql_clean);
  o.mysql_ketama_base = c.get_positive("mysql", "ketama.base", o.mysql_ketama_base);
  o.mysql_connections = c.get_positive("mysql", "connections", o.mysql_connections);
  o.mysql_sources = read_shard_sources(c, "mysql.source");

  if (o.type == "redis" && o.redis_sources.empty()) {
    c.fail("redis.source", "", "storage type redis needs at least one [redis.source] line");
  }
  if (o.type == "mysql" && o.mysql_sources.empty()) {
    c.fail("mysql.source", "", "storage type mysql needs at least one [mysql.source] line");
  }

  o.zk_addr = c.get_string("zookeeper", "addr", o.zk_addr);
  o.zk_timeout = c.get_millis("zookeeper", "timeout", o.zk_timeout);
  o.zk_path = c.get_string("zookeeper", "path", o.zk_path);
  return o;
}

std::vector<std::string> MessageConfig::ignored_keys(const Config& c) {
  auto out = ignored_key_warnings(
      c, {
             {"base", "user", "run the daemon as the wanted user (systemd User=) instead"},
             {"storage", "key.max", "keys are limited to 255 bytes in every daemon"},
             {"storage", "msg.max", "bodies are limited to 65,535 bytes in every daemon"},
             {"redis", "timeout", "connections are persistent and pipelined (see command.timeout)"},
             {"redis", "idle", "one pipelined connection per shard"},
             {"redis", "active", "one pipelined connection per shard"},
         });
  return out;
}

}  // namespace appmsg::message
