// comet.conf -> CometConfig.
#include "comet/comet_config.hpp"

#include <stdexcept>

#include "common/ketama.hpp"
#include "common/limits.hpp"

namespace appmsg::comet {

CometConfig CometConfig::load(const Config& c) {
  CometConfig o;
  o.http = HttpLimits::load(c);
  o.pidfile = c.get_string("base", "pidfile", o.pidfile);
  o.tcp_bind = c.get_list("base", "tcp.bind", o.tcp_bind);
  o.websocket_bind = c.get_list("base", "websocket.bind", o.websocket_bind);
  o.rpc_bind = c.get_list("base", "rpc.bind", o.rpc_bind);
  o.stat_bind_set = c.has("base", "stat.bind");
  o.stat_bind = c.get_list("base", "stat.bind", o.stat_bind);
  o.weight = c.get_positive("base", "weight", o.weight);
  o.advertise = c.get_string("base", "advertise", o.advertise);
  o.rpc_secret = c.get_string("rpc", "secret", o.rpc_secret);

  o.zk_addr = c.get_string("zookeeper", "addr", o.zk_addr);
  o.zk_timeout = c.get_millis("zookeeper", "timeout", o.zk_timeout);
  o.comet_path = c.get_string("zookeeper", "comet.path", o.comet_path);
  o.comet_node = c.get_string("zookeeper", "comet.node", o.comet_node);
  o.message_path = c.get_string("zookeeper", "message.path", o.message_path);

  o.rpc_ping = c.get_millis("rpc", "ping", o.rpc_ping);
  o.rpc_retry = c.get_millis("rpc", "retry", o.rpc_retry);
  o.store_timeout = c.get_millis("rpc", "store.timeout", o.store_timeout);
  o.resume_max = c.get_positive("rpc", "resume.max", o.resume_max);
  o.max_resume_bytes = static_cast<size_t>(
      c.get_size("rpc", "resume.bytes", static_cast<int64_t>(o.max_resume_bytes)));
  if (o.max_resume_bytes < limits::kMaxBodyBytes + 128) {
    c.fail("rpc", "resume.bytes", "must hold at least one message of the largest size (64KB)");
  }

  o.redis_ketama_base = static_cast<int>(c.get_int("redis", "ketama.base", o.redis_ketama_base));
  if (o.redis_ketama_base <= 0) c.fail("redis", "ketama.base", "must be positive");
  o.redis_timeout = c.get_millis("redis", "command.timeout", o.redis_timeout);
  o.redis_sources = read_shard_sources(c, "redis.source");
  o.presence_ttl = std::chrono::duration_cast<std::chrono::seconds>(
      c.get_duration("presence", "ttl", o.presence_ttl));
  if (o.presence_ttl.count() < 3) c.fail("presence", "ttl", "must be at least 3s");

  o.sndbuf = static_cast<int>(c.get_size("channel", "sndbuf.size", o.sndbuf));
  o.rcvbuf = static_cast<int>(c.get_size("channel", "rcvbuf.size", o.rcvbuf));
  if (c.has("channel", "proto")) {
    auto protos = c.get_list("channel", "proto", {});
    o.tcp_enabled = o.websocket_enabled = false;
    for (auto& p : protos) {
      if (p == "tcp") {
        o.tcp_enabled = true;
      } else if (p == "websocket") {
        o.websocket_enabled = true;
      } else {
        c.fail("channel", "proto", "unknown protocol \"" + p + "\" (use tcp, websocket)");
      }
    }
  }
  o.tcp_keepalive = c.get_bool("channel", "tcp.keepalive", o.tcp_keepalive);
  o.max_subscriber = c.get_positive("channel", "maxsubscriber", o.max_subscriber);
  o.buckets = static_cast<int>(c.get_int("channel", "bucket", o.buckets));
  o.auth = c.get_bool("channel", "auth", o.auth);
  o.msgbuf_num = c.get_positive("channel", "msgbuf.num", o.msgbuf_num);
  o.max_send_queue_bytes = c.get_size("channel", "sndqueue.size", o.max_send_queue_bytes);
  o.first_command_timeout = c.get_millis("channel", "handshake.timeout", o.first_command_timeout);
  o.min_heartbeat = c.get_positive("channel", "heartbeat.min", o.min_heartbeat);
  o.max_heartbeat = c.get_positive("channel", "heartbeat.max", o.max_heartbeat);
  if (o.max_heartbeat < o.min_heartbeat) c.fail("channel", "heartbeat.max", "below heartbeat.min");
  o.heartbeat_grace = c.get_millis("channel", "heartbeat.grace", o.heartbeat_grace);
  o.write_timeout = c.get_millis("channel", "write.timeout", o.write_timeout);
  return o;
}

std::vector<std::string> CometConfig::ignored_keys(const Config& c) {
  auto out = ignored_key_warnings(
      c,
      {
          {"base", "user", "run the daemon as the wanted user (systemd User=) instead"},
          {"base", "pprof.bind", "a Go profiler; use perf, and /metrics on stat.bind"},
          {"channel", "bufio.instance", "Go buffer pools; connections here keep no idle buffers"},
          {"channel", "bufio.num", "Go buffer pools; connections here keep no idle buffers"},
      });
  return out;
}

}  // namespace appmsg::comet
