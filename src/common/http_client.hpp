// HTTP/1.1 client to one server, with a pool of persistent connections. Every request has a
// deadline covering connect, write and read. A request that fails on a reused idle connection
// before any byte of the answer arrived is retried once on a fresh connection (the server had
// closed the idle connection). At most `max_in_flight` requests run at once; more fail at once.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "common/http.hpp"

namespace appmsg {

struct HttpClientOptions {
  std::string address;                   // "host:port"
  size_t max_idle = 16;                  // idle connections kept for reuse
  size_t max_in_flight = 1024;           // concurrent requests
  size_t max_response_bytes = 64 << 20;  // larger answers fail
};

class HttpClient {
 public:
  HttpClient(boost::asio::any_io_executor ex, HttpClientOptions opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Throws boost::system::system_error (timed_out, connection_refused, ...) on failure; any
  // HTTP status is an answer, not an error.
  boost::asio::awaitable<HttpResponse> request(std::string method, std::string target,
                                               std::string body, HttpFields headers,
                                               std::chrono::milliseconds deadline);
  const std::string& address() const;
  void close_idle();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace appmsg
