// ZooKeeper client over the C library (libzookeeper_mt).
//
// Owns one ZooKeeper session at a time. Everything it calls back (watch callbacks, session
// events, awaitable completions) runs on the executor given at construction, never on the
// library's own threads; that executor must be a strand or a single-threaded io_context, and
// every method must be called from it.
//
// Kept alive across failures:
//  - registrations: ephemeral (optionally sequential) nodes that are re-created after a session
//    expiry or after someone deletes them;
//  - watches on children or data, re-armed after every event, reconnect and session expiry.
// A session expiry closes the handle and opens a new session at once. Each remote call is
// bounded by the library's own timeout (two thirds of the session timeout).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace appmsg {

struct ZkOptions {
  std::string hosts = "127.0.0.1:2181";  // comma list, as [zookeeper] addr
  std::chrono::milliseconds session_timeout{30000};
};

enum class ZkSessionState { connecting, connected, expired };

class ZkError : public std::runtime_error {
 public:
  ZkError(int code, const std::string& what);
  int code() const { return code_; }  // ZOO_ERRORS value (ZNONODE, ZCONNECTIONLOSS, ...)

 private:
  int code_;
};

class ZkClient {
 public:
  using WatchId = uint64_t;
  using RegistrationId = uint64_t;

  ZkClient(boost::asio::any_io_executor ex, ZkOptions opts);
  ~ZkClient();  // closes the session: registered ephemeral nodes disappear at once
  ZkClient(const ZkClient&) = delete;
  ZkClient& operator=(const ZkClient&) = delete;

  void start();  // starts connecting; returns at once
  void close();  // closes the session; no callback runs afterwards

  bool connected() const;
  int64_t session_id() const;  // 0 while no session
  // The session id and password (for tools that must act on this session, e.g. tests).
  std::pair<int64_t, std::string> session_credentials() const;
  // Resolves once connected; throws ZkError(ZOPERATIONTIMEOUT) after `deadline`.
  boost::asio::awaitable<void> wait_connected(std::chrono::milliseconds deadline);
  // Called on every session state change (after the client has acted on it).
  void on_session(std::function<void(ZkSessionState)> cb);

  // One-shot operations; they throw ZkError.
  boost::asio::awaitable<void> ensure_path(std::string path);  // persistent, open ACL, each level
  boost::asio::awaitable<std::string> create(std::string path, std::string data, int flags);
  boost::asio::awaitable<std::optional<std::string>> get(std::string path);     // nullopt: no node
  boost::asio::awaitable<std::vector<std::string>> children(std::string path);  // sorted
  boost::asio::awaitable<void> remove(std::string path);  // no error when already gone

  // Keeps an ephemeral node with `data` at `path` (sequential: `path` is the name prefix, e.g.
  // "/comet/node1/"), creating missing parents. on_created gets the node's real path each time
  // it is (re-)created.
  RegistrationId register_ephemeral(std::string path, std::string data, bool sequential,
                                    std::function<void(const std::string&)> on_created = {});
  // Stops keeping the node and deletes it.
  boost::asio::awaitable<void> unregister(RegistrationId id);
  std::string registered_path(RegistrationId id) const;  // "" while not created

  // Calls cb with the sorted children of `path` now and after every change (empty while the
  // path does not exist).
  WatchId watch_children(std::string path, std::function<void(const std::vector<std::string>&)> cb);
  // Calls cb with the data of `path` now and after every change (nullopt while it is missing).
  WatchId watch_data(std::string path, std::function<void(const std::optional<std::string>&)> cb);
  void unwatch(WatchId id);

  // Callback contexts the library may still use: one per live watch and registration, one for
  // the session, and those of ended ones until the session's handle is closed (tests, metrics).
  size_t held_contexts() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace appmsg
