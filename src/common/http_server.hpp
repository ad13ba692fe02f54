// HTTP/1.1 server on Beast: routing by exact path, keep-alive, body and header limits, a
// deadline on every read and write, graceful stop. Handlers are coroutines that take an
// HttpRequest and return an HttpResponse; they never see Beast types.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/cors.hpp"
#include "common/http.hpp"
#include "common/http_limits.hpp"

namespace appmsg {

using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(const HttpRequest&)>;

// Exact-path routes with the methods each accepts. Unknown paths get 404, known paths with
// another method get 405 "Method Not Allowed\n" (as the original).
class HttpRouter {
 public:
  void add(std::string path, std::set<std::string> methods, HttpHandler handler);
  // Routes every path starting with `prefix` (longest prefix wins) when no exact route matches.
  void add_prefix(std::string prefix, std::set<std::string> methods, HttpHandler handler);
  boost::asio::awaitable<HttpResponse> dispatch(const HttpRequest& req) const;

 private:
  struct Route {
    std::set<std::string> methods;
    HttpHandler handler;
  };
  std::map<std::string, Route, std::less<>> exact_;
  std::map<std::string, Route, std::less<>> prefix_;
};

struct HttpServerOptions {
  size_t max_body_bytes = 1 << 20;                 // larger bodies get 413
  size_t max_header_bytes = 16 * 1024;             // larger headers get 431
  std::chrono::milliseconds read_timeout{30000};   // one whole request, once its first byte is in
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30000};  // one whole response
  size_t max_connections = 10000;                  // beyond it new connections are closed at once
  std::string name = "http";                       // for logs
  CorsPolicy cors;  // browsers of other origins (off by default): preflights and headers

  HttpServerOptions() = default;
  explicit HttpServerOptions(const HttpLimits& l)
      : read_timeout(l.read_timeout),
        idle_timeout(l.idle_timeout),
        max_connections(l.max_connections) {}
};

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor ex, HttpServerOptions opts,
             std::shared_ptr<const HttpRouter> router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds "host:port" (port 0 picks a free one) and starts accepting. Throws on failure.
  // Returns the bound port.
  uint16_t listen(const std::string& address);
  // Stops accepting, closes idle connections, lets requests in progress finish for up to
  // `grace`, then closes the rest.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  size_t connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Splits "host:port" ("[::1]:80" too); throws std::invalid_argument.
std::pair<std::string, uint16_t> split_host_port(const std::string& address);

// The address to publish for a listener bound at `bind` on `port`: `advertise_host` when set
// (a wildcard bind such as 0.0.0.0 is of no use to other hosts), else the bind's host.
std::string advertised_address(const std::string& bind, uint16_t port,
                               const std::string& advertise_host);

// Binds each of a stats listener's addresses and returns what to publish. A bind the operator
// configured (`configured`) must succeed (throws); a default one that is busy (several nodes of
// one daemon on a host, each from an original config that names no stats listener) is skipped
// with a warning, so that it can never stop a node from starting.
std::vector<std::string> listen_stats(HttpServer& server, const std::vector<std::string>& binds,
                                      bool configured, const std::string& advertise_host);

}  // namespace appmsg
