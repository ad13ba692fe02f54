// The comet's settings: every key of comet.conf with its default, in one place
// (spec/comet.md section 8, plus the keys this implementation adds). Pure: reads a Config.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/http_limits.hpp"
#include "common/ketama.hpp"

namespace appmsg::comet {

struct CometConfig {
  // [base]
  std::string pidfile = "/tmp/gopush-cluster-comet.pid";
  std::vector<std::string> tcp_bind{"localhost:6969"};
  std::vector<std::string> websocket_bind{"localhost:6968"};
  std::vector<std::string> rpc_bind{"localhost:6970"};
  std::vector<std::string> stat_bind{"localhost:6972"};
  bool stat_bind_set = false;  // from the file: a bind failure stops start-up
  int weight = 1;              // advertised in the ZooKeeper node data
  std::string advertise;       // host published in ZooKeeper instead of the binds' hosts
  std::string rpc_secret;      // shared secret of the internal RPC; empty = none
  // [zookeeper]
  std::string zk_addr = "localhost:2181";
  std::chrono::milliseconds zk_timeout{30000};
  std::string comet_path = "/gopush-cluster-comet";
  std::string comet_node = "node1";
  std::string message_path = "/gopush-cluster-message";
  // [rpc]
  std::chrono::milliseconds rpc_ping{1000};
  std::chrono::milliseconds rpc_retry{1000};
  std::chrono::milliseconds store_timeout{2000};  // one save call to a message node
  int resume_max = 500;  // stored messages replayed, at most, to a client resuming from a mid
  // Bytes of stored messages read for one resume, at most (the oldest that fit are replayed),
  // and again of live messages held for the client meanwhile (beyond: closed as slow).
  size_t max_resume_bytes = 4 << 20;
  // [redis]: tokens (auth yes) and presence; no sources = no presence, and auth refuses all
  std::vector<ShardSource> redis_sources;
  int redis_ketama_base = 255;
  std::chrono::milliseconds redis_timeout{500};  // one command
  std::chrono::seconds presence_ttl{90};         // refreshed every ttl/3
  // [channel]
  int sndbuf = 2048;
  int rcvbuf = 256;
  bool tcp_enabled = true;
  bool websocket_enabled = true;
  bool tcp_keepalive = false;
  int max_subscriber = 64;  // connections per key
  int buckets = 0;          // channel table shards; 0 = 16 x threads, rounded to 2^n
  bool auth = false;
  int msgbuf_num = 30;                        // messages waiting per connection before it is closed
  int64_t max_send_queue_bytes = 256 * 1024;  // bytes waiting per connection, same policy
  std::chrono::milliseconds first_command_timeout{5000};  // accept -> complete sub command
  int min_heartbeat = 30;                                 // seconds; below: -p
  int max_heartbeat = 3600;  // seconds; above: -p (the original had no bound)
  std::chrono::milliseconds heartbeat_grace{5000};  // added to the client's heartbeat
  std::chrono::milliseconds write_timeout{30000};   // one write to a client
  size_t max_ws_message_bytes = 64;                 // clients only ever send "h"

  HttpLimits http;  // [http]: the RPC and stat listeners

  // Reads every key; throws ConfigError naming file and line for malformed values.
  static CometConfig load(const Config& c);
  // The original's keys that are accepted but have no effect here, each with the reason; the
  // daemon logs one warning per key present in the file.
  static std::vector<std::string> ignored_keys(const Config& c);
};

}  // namespace appmsg::comet
