// The web node's settings: every key of web.conf (spec/web-core.md section 10.2) with its
// default, plus the keys this implementation adds. Pure: reads a Config.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/http_limits.hpp"
#include "common/limits.hpp"

namespace appmsg::web {

struct WebConfig {
  // [base]
  std::vector<std::string> http_bind{"localhost:80"};    // public API
  std::vector<std::string> admin_bind{"localhost:81"};   // admin API
  std::vector<std::string> stat_bind{"localhost:8190"};  // /stat, /metrics ([base] pprof.bind)
  bool stat_bind_set = false;  // from the file: a bind failure stops start-up
  // [zookeeper]
  std::string zk_addr = "localhost:2181";
  std::chrono::milliseconds zk_timeout{30000};
  std::string comet_path = "/gopush-cluster-comet";
  std::string message_path = "/gopush-cluster-message";
  // [rpc]: calls to comets and message nodes
  std::chrono::milliseconds rpc_ping{1000};     // comet health ping interval
  std::chrono::milliseconds rpc_retry{3000};    // a failed message node is skipped this long
  std::chrono::milliseconds rpc_timeout{3000};  // deadline of one call
  std::string rpc_secret;
  // [admin]
  std::string admin_secret;  // X-Appmsg-Secret on admin calls; empty = none (loopback only)
  size_t max_body_bytes = limits::kMaxBodyBytes;  // a pushed message; body.max may only lower it
  size_t max_batch_keys = 1000;                   // keys of one batch push
  // [comet]
  std::chrono::milliseconds migrate_grace{2000};  // comets close moved keys after this
  // [cors] origins: pages of these origins ("http://host:port", or "*") may call the public
  // and /app APIs from a browser; empty = none (JSONP only, as the original)
  std::vector<std::string> cors_origins;
  // [app] view.dir: the page templates (erweima.html, demo.html, admin.html)
  std::string view_dir = "view";
  // [msg]
  int msg_page = 1000;  // messages per /msg/get answer, at most

  HttpLimits http;  // [http]: every listener (public, admin, /app, stat)

  static WebConfig load(const Config& c);  // throws ConfigError
  // Keys of the original that have no effect here (one warning each at start-up). The /app
  // API's keys are read by app/app_config.hpp.
  static std::vector<std::string> ignored_keys(const Config& c);
};

}  // namespace appmsg::web
