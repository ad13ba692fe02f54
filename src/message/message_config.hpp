// The message node's settings: every key of message.conf with its default, in one place
// (spec/message.md section 6, plus the keys this implementation adds). Pure: reads a Config.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/http_limits.hpp"
#include "common/ketama.hpp"

namespace appmsg::message {

using Source = ShardSource;  // host:port (redis) or DSN (mysql)

struct MessageConfig {
  // [base]
  std::vector<std::string> rpc_bind{"localhost:8070"};
  std::vector<std::string> stat_bind{"localhost:8170"};  // the original pprof.bind default
  bool stat_bind_set = false;  // from the file: a bind failure stops start-up
  int weight = 1;
  std::string advertise;  // host published in ZooKeeper instead of the binds' hosts
  // [rpc]
  std::string rpc_secret;
  // [storage]
  std::string type = "redis";
  int max_get = 1000;  // messages per get, at most
  // [redis]
  int store = 20;                                  // messages kept per key (0 keeps none)
  int redis_ketama_base = 255;                     // 0 crashed the original; here 255 when missing
  std::chrono::milliseconds redis_timeout{1000};   // one command ([redis] command.timeout)
  std::chrono::milliseconds sweep_interval{1000};  // [redis] sweep.interval
  int sweep_keys = 100;                            // keys examined per shard per sweep
  std::vector<Source> redis_sources;
  // [mysql]
  std::chrono::milliseconds mysql_clean{3600 * 1000};
  int mysql_ketama_base = 255;
  int mysql_connections = 4;  // per shard
  std::vector<Source> mysql_sources;
  // [zookeeper]
  std::string zk_addr = "localhost:2181";
  std::chrono::milliseconds zk_timeout{30000};
  std::string zk_path = "/gopush-cluster-message";

  HttpLimits http;  // [http]: the RPC and stat listeners

  static MessageConfig load(const Config& c);  // throws ConfigError
  static std::vector<std::string> ignored_keys(const Config& c);
};

}  // namespace appmsg::message
