// Internal RPC between the daemons: HTTP/1.1 + JSON over pooled persistent connections.
//
// Wire form (debuggable with curl):
//   POST /rpc/<method>   X-Appmsg-Secret: <shared secret>   body: JSON params
//   200 {"result": ...}                     success
//   200 {"error": {"code": N, "message": "..."}}  the method failed (codes below)
//   401 / 404 / 400 with the same error body    bad secret / unknown method / body not JSON
// Every call carries its deadline (X-Appmsg-Deadline, Unix milliseconds). A server that reads a
// call after it answers `expired` without running it: the caller has given up (e.g. the server
// was stopped, or its socket backlog was), and running it would deliver a push nobody waits for,
// with a newer mid than what was stored meanwhile elsewhere. So the daemons' clocks must agree
// (NTP): a server ahead by d shortens every deadline by d.
// Batch forms are ordinary methods whose params carry arrays; one call per peer, not per key.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.hpp"

namespace appmsg {

namespace rpc_code {
constexpr int unavailable = -1;  // could not reach the peer, or the connection broke
constexpr int timeout = -2;      // no answer within the deadline
constexpr int bad_request = 1;   // params malformed
constexpr int unauthorized = 2;  // wrong or missing secret
constexpr int no_method = 3;     // unknown method
constexpr int internal = 4;      // the method threw something unexpected
constexpr int expired = 5;       // read after its deadline: it did not run
// Methods may use their own codes from 100 up.
}  // namespace rpc_code

class RpcError : public std::runtime_error {
 public:
  RpcError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }
  // True for transport failures and deadlines: the peer did not answer, so the call may or may
  // not have run. Retry elsewhere only what is idempotent (saves of a given mid are).
  bool transport() const { return code_ < 0; }

 private:
  int code_;
};

using RpcMethod = std::function<boost::asio::awaitable<nlohmann::json>(const nlohmann::json&)>;

constexpr const char* kRpcSecretHeader = "X-Appmsg-Secret";
constexpr const char* kRpcDeadlineHeader = "X-Appmsg-Deadline";

// Routes POST /rpc/<name> to `method`. A non-empty secret must match the request's header.
// A method reports failure by throwing RpcError (its code and message go back to the caller).
void add_rpc_method(HttpRouter& router, const std::string& name, std::string secret,
                    RpcMethod method);

// Logs a warning for each bind that is reachable from other hosts while `secret` is empty: the
// listener (the internal RPC, or web's admin API) is then open to anyone who can reach it.
void warn_if_open(const std::vector<std::string>& binds, const std::string& secret,
                  std::string_view what = "rpc", std::string_view key = "[rpc] secret");

struct RpcClientOptions {
  std::string address;  // host:port of the peer's RPC listener
  std::string secret;
  size_t max_idle = 16;
  size_t max_in_flight = 1024;
};

class RpcClient {
 public:
  RpcClient(boost::asio::any_io_executor ex, RpcClientOptions opts);
  ~RpcClient();
  // Throws RpcError: negative codes for transport failures and deadlines.
  // By value: the coroutine runs when awaited, after the caller's temporaries are gone.
  boost::asio::awaitable<nlohmann::json> call(std::string method, nlohmann::json params,
                                              std::chrono::milliseconds deadline);
  const std::string& address() const;

 private:
  RpcClientOptions opts_;
  std::unique_ptr<class HttpClient> http_;
};

}  // namespace appmsg
