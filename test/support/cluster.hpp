// End-to-end test harness: a real cluster of the built daemons as child processes, and the
// blocking clients that talk to it.
//
// Owns:
//  - TestCluster: in its own TempDir, one ZooKeeperServer, one RedisServer, two message nodes,
//    two comets (ZooKeeper names node1 and node2) and one web, every listener on a free
//    127.0.0.1 port; a config file, a pid file and a log file per daemon. ZooKeeper sessions
//    last 4 s, web's migrate grace is 500 ms, message nodes keep up to 1000 messages per key
//    (the default 20 would drop messages of the longer tests). start() waits until
//    the cluster serves (each daemon's stat listener answers, web routes to every running comet
//    and knows every running message node, and a stored push through each comet succeeds), or
//    throws with the tail of the daemon's log. Single daemons (and ZooKeeper) can be killed
//    (SIGKILL), stopped (SIGTERM) and started again on the same ports.
//  - app mode (with_app): for tests of web's /app REST API the cluster also owns one
//    MariaDbServer (started after Redis, before the daemons; database appmsgsrv, utf8mb4) and a
//    db.conf in its dir (web runs with -c web.conf -dbc db.conf). Web binds app.bind on another
//    free port and gets [redis] / [redis.source] (the cluster's Redis), [token] and [msg];
//    every comet gets the same [redis.source] (presence and sessions land in that Redis) and,
//    in ours style, a 9 s presence ttl. start() also waits (up to 60 s: web applies the DB
//    migrations first) until POST /app/client/device/validateToken answers 200. sql() runs
//    statements with the mariadb command-line client (no shell; killed after 30 s).
//  - http_request(): one HTTP/1.1 exchange on a fresh connection ("Connection: close"), never
//    throwing: a transport failure is status 0 with the reason in `error`.
//  - Subscriber: a comet client over TCP or WebSocket (sub with version "1", the new JSON
//    format, optionally resuming after a mid) that reads pushed messages with deadlines and
//    sees the server end the connection. The WebSocket side is a minimal client on TestClient:
//    upgrade request, unmasked server frames.
//
// Spawn, kill and stop from one thread (the children's death signal follows the thread that
// forked them; gtest runs tests on the main thread). http_request() and Subscriber are
// thread-safe in the sense that separate objects may be used on separate threads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/comet_harness.hpp"
#include "support/servers.hpp"

namespace appmsg::test {

// ---------------------------------------------------------------------------------------------
// HTTP

struct HttpReply {
  int status = 0;                                               // 0: no complete answer (see error)
  std::string content_type;                                     // the Content-Type header, as sent
  std::string body;                                             // de-chunked
  std::string error;                                            // why there is no answer
  std::vector<std::pair<std::string, std::string>> headers;     // names lowercased, in order
  std::string header(const std::string& lowercase_name) const;  // "" when absent
  nlohmann::json json() const;  // the body parsed; discarded (is_discarded()) if not JSON
};

HttpReply http_request(const std::string& address, const std::string& method,
                       const std::string& target, const std::string& body = "",
                       const std::string& content_type = "application/json",
                       std::chrono::milliseconds timeout = std::chrono::seconds(5),
                       const std::vector<std::pair<std::string, std::string>>& headers = {});

// ---------------------------------------------------------------------------------------------
// Comet clients

enum class Proto { tcp, websocket };
// The message format a client asks for: version "1" (the body as a JSON value) or none (the
// original's first format: the body's text as a JSON string).
enum class Format { json, text };

class Subscriber {
 public:
  // Connects to `address` (the comet's TCP or WebSocket listener) and subscribes to `key` with
  // a 30 s heartbeat in `format`, resuming after `resume_mid` when given; waits up to `timeout`
  // for the comet's "+h". Check subscribed() and error().
  Subscriber(Proto proto, const std::string& address, const std::string& key,
             std::optional<int64_t> resume_mid = std::nullopt,
             std::chrono::milliseconds timeout = std::chrono::seconds(5),
             Format format = Format::json);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  bool subscribed() const { return subscribed_; }
  const std::string& error() const { return error_; }
  bool ended() const { return ended_; }  // the server ended the connection

  // The next pushed message ({"msg":...,"mid":N,"gid":0}); nullopt, with error() saying why,
  // when none arrives in time, the connection ends or the bytes are not a message.
  std::optional<nlohmann::json> next(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next pushed message's bytes as the comet sent them (a TCP frame's payload or a
  // WebSocket text frame); nullopt as for next().
  std::optional<std::string> next_raw(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // True when the server ends the connection within `timeout`; messages arriving first are
  // skipped and counted in skipped(). For WebSocket, close_code() is the code of the server's
  // close frame (0 when it sent none).
  bool closed_by_server(std::chrono::milliseconds timeout);
  int skipped() const { return skipped_; }
  int close_code() const { return close_code_; }

  void close();  // ends the connection from our side (no close frame)

 private:
  struct Frame {
    int opcode = 0;
    std::string payload;
  };
  std::optional<Frame> read_ws_frame(TestClient::Clock::time_point until);
  // One raw message: a TCP "$len" frame payload, or a WebSocket text frame payload.
  std::optional<std::string> read_raw(TestClient::Clock::time_point until);

  Proto proto_;
  std::unique_ptr<TestClient> conn_;
  bool subscribed_ = false;
  bool ended_ = false;  // the server ended the connection (or a close frame came)
  std::string error_;
  int skipped_ = 0;
  int close_code_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The cluster

struct ClusterBinaries {
  std::string comet, message, web;
};

// What the daemons' config files look like: ours (stat.bind everywhere, a few of our keys for
// faster tests), or the original's (only keys the original daemons read, laid out as in its
// shipped comet.conf, message.conf and web.conf: stats on pprof.bind for message and web).
enum class ConfigStyle { ours, original };

class TestCluster {
 public:
  static constexpr int kComets = 2;
  static constexpr int kMessageNodes = 2;

  // with_app: app mode (see the top of this file).
  explicit TestCluster(ClusterBinaries bins, ConfigStyle style = ConfigStyle::ours,
                       bool with_app = false);
  // Stops every daemon (SIGTERM, then SIGKILL), then MariaDB (app mode), ZooKeeper and Redis.
  ~TestCluster();
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  // Text appended to web.conf (ours style), after its last section ([app] in app mode): keys
  // of that section, then any further sections. Set before start().
  void set_web_extra(std::string text) { web_extra_ = std::move(text); }
  // Sections appended to every daemon's config file (ours style), e.g. "[http]\nread.timeout
  // 2s\n" (a section already there merges). Set before start().
  void set_extra_config(std::string text) { extra_config_ = std::move(text); }
  // Comets and web run under `prlimit --nofile=N:N` (they cannot raise it). Set before start().
  void set_open_file_limit(int n) { open_file_limit_ = n; }
  // web's [admin] secret; admin_post and admin_get send it. Set before start().
  void set_admin_secret(std::string secret) { admin_secret_ = std::move(secret); }

  // Starts ZooKeeper, Redis, MariaDB (app mode) and every daemon, and waits until the cluster
  // serves (see the top of this file). Throws std::runtime_error with the tail of the failing
  // daemon's log.
  void start();

  // Comets are numbered 1..kComets (ZooKeeper name "node<n>"), message nodes 1..kMessageNodes.
  void kill_comet(int n);  // SIGKILL: it leaves ZooKeeper when its session expires
  void stop_comet(int n);  // SIGTERM: it deregisters at once; waits for its exit
  // Starts it again (same config and ports) and waits until it serves and web routes to it.
  void start_comet(int n);
  void kill_message(int n);
  void stop_message(int n);
  void start_message(int n);  // waits until it serves and web knows it
  // SIGSTOP: it keeps its connections and its ZooKeeper registration (until the session
  // expires) and answers nothing; resume_message (SIGCONT) lets it go on. The destructor
  // resumes a paused daemon before stopping it.
  void pause_message(int n);
  void resume_message(int n);
  // The same for comets and web (SIGSTOP / SIGCONT).
  void pause_comet(int n);
  void resume_comet(int n);
  void pause_web();
  void resume_web();
  void kill_web();   // SIGKILL
  void start_web();  // again, on the same ports; waits until it routes to every running comet
  void restart_zookeeper();  // stop, then start on the same port with the same data
  // Redis with `appendonly yes` (as a deployment runs it), so that a restart keeps the data.
  // Set before start().
  void set_redis_appendonly() { redis_.set_appendonly(true); }

  // Addresses ("127.0.0.1:P").
  static std::string comet_name(int n) { return "node" + std::to_string(n); }
  const std::string& comet_tcp(int n) const { return comet(n).tcp; }
  const std::string& comet_ws(int n) const { return comet(n).ws; }
  const std::string& comet_rpc(int n) const { return comet(n).rpc; }
  const std::string& comet_stat(int n) const { return comet(n).stat; }
  pid_t comet_pid(int n);  // -1 when it does not run
  pid_t message_pid(int n);
  pid_t web_pid();
  const std::string& message_rpc(int n) const { return message(n).rpc; }
  const std::string& message_stat(int n) const { return message(n).stat; }
  const std::string& web_http() const { return web_.http; }
  const std::string& web_admin() const { return web_.admin; }
  const std::string& web_stat() const { return web_.stat; }
  const std::string& web_app() const { return web_.app; }  // "" unless with_app()
  ZooKeeperServer& zookeeper() { return zk_; }
  RedisServer& redis() { return redis_; }
  MariaDbServer& mariadb();  // app mode only: throws std::logic_error otherwise
  bool with_app() const { return with_app_; }
  const std::string& dir() const { return dir_.path(); }

  // Web calls: GET on the public API, POST on the admin API, GET /stat.
  HttpReply get(const std::string& target) const;
  HttpReply admin_post(const std::string& target, const std::string& body,
                       const std::string& content_type = "application/json") const;
  HttpReply admin_get(const std::string& target) const;
  nlohmann::json stat() const;  // discarded when web does not answer with JSON

  // App mode: POST (JSON body) and GET on web's /app listener.
  HttpReply app_post(const std::string& path, const std::string& body) const;
  HttpReply app_get(const std::string& target) const;
  // App mode: runs `statements` in database appmsgsrv with the mariadb client (batch mode, no
  // column names) and returns its stdout. Throws std::runtime_error with its stderr when it
  // exits non-zero, and when it does not finish within 30 s (it is killed).
  std::string sql(const std::string& statements) const;

  // /1/admin/push/private: the mid, or nullopt with the answer (or failure) in *error.
  std::optional<int64_t> push(const std::string& key, const std::string& msg_json, int64_t expire,
                              std::string* error = nullptr) const;
  // The address /1/server/get gives for `key` (p=2 TCP, p=1 WebSocket); "" when none.
  std::string server_for(const std::string& key, Proto proto) const;
  // A key that web routes to comet n now: prefix + "-<i>" for the first i that fits. Throws if
  // none of the first 2000 does.
  std::string key_on(int n, const std::string& prefix) const;

  // Polls web's /stat until its ring is exactly `names` (sorted), up to `timeout`.
  bool wait_ring(const std::vector<std::string>& names, std::chrono::milliseconds timeout) const;

  // The last bytes of every daemon's log (and ZooKeeper's, and MariaDB's in app mode): for
  // failure messages.
  std::string log_tails(size_t bytes_each = 3000) const;

 private:
  enum class Kind { comet, message, web };
  struct Daemon {
    Kind kind = Kind::web;
    int number = 0;    // 1.. for comets and message nodes
    std::string name;  // "comet1", "message2", "web"
    std::string bin;
    std::string conf, log, pidfile;
    std::string tcp, ws, rpc, stat, http, admin, app;  // the listeners it has (app: app mode)
    std::string pprof;  // a comet's pprof.bind in original-style configs (read, never bound)
    bool started_once = false;
    uintmax_t log_offset = 0;  // the log's size when it was last spawned
    ChildProcess proc;
  };
  Daemon& comet(int n);
  const Daemon& comet(int n) const;
  Daemon& message(int n);
  const Daemon& message(int n) const;

  void assign_ports(Daemon& d);
  void write_config(const Daemon& d) const;
  std::string config_text(const Daemon& d) const;
  std::string original_config_text(const Daemon& d) const;
  void write_db_config() const;  // app mode: db.conf for web's -dbc
  void spawn(Daemon& d);
  // Waits until d's stat listener answers GET /metrics with 200. Throws (with its log tail)
  // when it exits or the deadline passes; on a first start that failed to bind, returns false
  // (the caller picks new ports and tries again).
  bool wait_serving(Daemon& d, std::chrono::seconds timeout);
  void start_daemons(const std::vector<Daemon*>& ds);
  // Web's ring is every running comet and it knows every running message node.
  void wait_web_ready(std::chrono::seconds timeout);
  // A push with expire > 0 through comet n answers ret 0 (it stores through a message node).
  void wait_comet_stores(int n, std::chrono::seconds timeout);
  // App mode: POST /app/client/device/validateToken with {} answers 200.
  void wait_app_ready(std::chrono::seconds timeout);
  // The mariadb client on `database` ("" for none); see sql().
  std::string run_sql(const std::string& database, const std::string& statements) const;
  std::vector<std::string> running_comet_names();
  size_t running_message_nodes();
  void kill_daemon(Daemon& d);
  [[noreturn]] void fail(const Daemon& d, const std::string& why) const;

  ClusterBinaries bins_;
  ConfigStyle style_;
  bool with_app_;
  std::string web_extra_;
  std::string extra_config_;
  int open_file_limit_ = 0;
  std::string admin_secret_;
  std::vector<std::pair<std::string, std::string>> admin_headers() const;
  TempDir dir_;
  std::string db_conf_;  // app mode: <dir>/db.conf
  ZooKeeperServer zk_;
  RedisServer redis_;
  std::unique_ptr<MariaDbServer> mariadb_;  // app mode only
  Daemon comets_[kComets];
  Daemon messages_[kMessageNodes];
  Daemon web_;
};

}  // namespace appmsg::test
