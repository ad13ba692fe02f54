// HTTP client: connection pool, request with a deadline, one retry on a stale connection.
#include "common/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <vector>

#include "common/http_server.hpp"

namespace appmsg {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using boost::system::system_error;

namespace {
struct Connection {
  explicit Connection(asio::any_io_executor ex) : stream(ex) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};
}  // namespace

struct HttpClient::Impl {
  Impl(asio::any_io_executor e, HttpClientOptions o) : ex(std::move(e)), opts(std::move(o)) {
    auto [h, p] = split_host_port(opts.address);
    endpoint = tcp::endpoint(asio::ip::make_address(h), p);
    host_header = opts.address;
  }
  asio::any_io_executor ex;
  HttpClientOptions opts;
  tcp::endpoint endpoint;
  std::string host_header;
  std::mutex mu;  // guards idle and in_flight; never held across I/O
  std::vector<std::unique_ptr<Connection>> idle;
  size_t in_flight = 0;

  std::unique_ptr<Connection> take_idle() {
    std::lock_guard lock(mu);
    if (idle.empty()) return nullptr;
    auto c = std::move(idle.back());
    idle.pop_back();
    return c;
  }

  void give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu);
    if (idle.size() < opts.max_idle) idle.push_back(std::move(c));
  }
};

HttpClient::HttpClient(asio::any_io_executor ex, HttpClientOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

HttpClient::~HttpClient() = default;

const std::string& HttpClient::address() const {
  return impl_->opts.address;
}

void HttpClient::close_idle() {
  std::lock_guard lock(impl_->mu);
  impl_->idle.clear();
}

asio::awaitable<HttpResponse> HttpClient::request(std::string method, std::string target,
                                                  std::string body, HttpFields headers,
                                                  std::chrono::milliseconds deadline) {
  auto impl = impl_;
  {
    std::lock_guard lock(impl->mu);
    if (impl->in_flight >= impl->opts.max_in_flight) {
      throw system_error(asio::error::no_buffer_space, "http " + impl->opts.address);
    }
    ++impl->in_flight;
  }
  struct Release {
    Impl* impl;
    ~Release() {
      std::lock_guard lock(impl->mu);
      --impl->in_flight;
    }
  } release{impl.get()};

  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, impl->host_header);
  req.set(http::field::user_agent, "appmsgsrv");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.keep_alive(true);
  req.prepare_payload();

  auto until = std::chrono::steady_clock::now() + deadline;
  auto executor = co_await asio::this_coro::executor;
  for (int attempt = 0;; ++attempt) {
    auto conn = impl->take_idle();
    bool reused = conn != nullptr;
    if (!conn) {
      conn = std::make_unique<Connection>(executor);
      conn->stream.expires_at(until);
      auto [ec] =
          co_await conn->stream.async_connect(impl->endpoint, asio::as_tuple(asio::use_awaitable));
      if (ec)
        throw system_error(ec == beast::error::timeout ? asio::error::timed_out : ec,
                           "http " + impl->opts.address);
      conn->stream.socket().set_option(tcp::no_delay(true));
    }
    conn->stream.expires_at(until);
    auto [wec, wn] =
        co_await http::async_write(conn->stream, req, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    http::response_parser<http::string_body> parser;
    parser.body_limit(impl->opts.max_response_bytes);
    error_code rec = wec;
    if (!wec) {
      auto [ec, n] = co_await http::async_read(conn->stream, conn->buffer, parser,
                                               asio::as_tuple(asio::use_awaitable));
      (void)n;
      rec = ec;
    }
    if (rec) {
      bool stale = reused && attempt == 0 && rec != beast::error::timeout && !parser.got_some();
      if (stale) continue;  // the server closed the idle connection: one fresh try
      throw system_error(rec == beast::error::timeout ? asio::error::timed_out : rec,
                         "http " + impl->opts.address + target);
    }
    auto& msg = parser.get();
    HttpResponse res;
    res.status = static_cast<int>(msg.result_int());
    res.content_type = std::string(msg[http::field::content_type]);
    for (auto& f : msg)
      res.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    res.body = std::move(msg.body());
    if (msg.keep_alive()) {
      conn->stream.expires_never();
      impl->give_back(std::move(conn));
    }
    co_return res;
  }
}

}  // namespace appmsg
