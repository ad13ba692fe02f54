// HTTP server: accept loop, one session coroutine per connection, routing, graceful stop.
//
// Ownership: a session owns its stream and keeps itself alive through the coroutine that runs
// it; the server keeps only weak_ptrs to sessions, to close them on stop.
#include "common/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>

namespace appmsg {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// --- router ------------------------------------------------------------------------------

void HttpRouter::add(std::string path, std::set<std::string> methods, HttpHandler handler) {
  exact_[std::move(path)] = Route{std::move(methods), std::move(handler)};
}

void HttpRouter::add_prefix(std::string prefix, std::set<std::string> methods,
                            HttpHandler handler) {
  prefix_[std::move(prefix)] = Route{std::move(methods), std::move(handler)};
}

asio::awaitable<HttpResponse> HttpRouter::dispatch(const HttpRequest& req) const {
  const Route* route = nullptr;
  if (auto it = exact_.find(req.path); it != exact_.end()) {
    route = &it->second;
  } else {
    size_t best = 0;
    for (auto& [prefix, r] : prefix_) {
      if (req.path.rfind(prefix, 0) == 0 && prefix.size() >= best) {
        route = &r;
        best = prefix.size();
      }
    }
  }
  if (!route) co_return text_response(404, "404 page not found\n");
  if (!route->methods.count(req.method)) co_return text_response(405, "Method Not Allowed\n");
  co_return co_await route->handler(req);
}

std::pair<std::string, uint16_t> split_host_port(const std::string& address) {
  auto pos = address.rfind(':');
  if (pos == std::string::npos) throw std::invalid_argument("address without a port: " + address);
  std::string host = address.substr(0, pos);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  const std::string port = address.substr(pos + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
    throw std::invalid_argument("bad port in address: " + address);
  }
  return {host, static_cast<uint16_t>(p)};
}

std::string advertised_address(const std::string& bind, uint16_t port,
                               const std::string& advertise_host) {
  std::string host = advertise_host.empty() ? split_host_port(bind).first : advertise_host;
  return host + ":" + std::to_string(port);
}

// --- server ------------------------------------------------------------------------------

namespace {

class Session;

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor e, HttpServerOptions o, std::shared_ptr<const HttpRouter> r)
      : ex(std::move(e)), opts(std::move(o)), router(std::move(r)) {}

  asio::any_io_executor ex;
  HttpServerOptions opts;
  std::shared_ptr<const HttpRouter> router;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::atomic<bool> stopping{false};

  std::mutex mu;  // guards sessions; never held across I/O
  std::map<uint64_t, std::weak_ptr<Session>> sessions;
  uint64_t next_session = 1;

  asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor);
  void close_sessions(bool idle_only);
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server, uint64_t id)
      : stream_(std::move(socket)), server_(std::move(server)), id_(id) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }

  static asio::awaitable<void> run(std::shared_ptr<Session> self) {
    struct Forget {  // leaves the server's registry even when serve() throws
      Session* s;
      ~Forget() { s->forget(); }
    } forget{self.get()};
    co_await self->serve();
  }

  // Closes the connection from any thread; with idle_only, only when no request is in progress.
  void close(bool idle_only) {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), idle_only] {
      if (idle_only && self->busy_) return;
      error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.socket().close(ec);
    });
  }

 private:
  asio::awaitable<void> serve() {
    const auto& opts = server_->opts;
    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(opts.max_body_bytes);
      parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
      stream_.expires_after(first ? opts.read_timeout : opts.idle_timeout);
      first = false;
      auto [ec, n] =
          co_await http::async_read(stream_, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) {
        co_await reject(ec);
        co_return;
      }
      busy_ = true;
      auto& msg = parser.get();
      bool keep_alive = msg.keep_alive() && !server_->stopping;
      HttpResponse res = co_await handle(msg);
      http::response<http::string_body> out{static_cast<http::status>(res.status), msg.version()};
      out.set(http::field::server, "appmsgsrv");
      out.set(http::field::content_type, res.content_type);
      for (auto& [k, v] : res.headers) out.set(k, v);
      out.body() = std::move(res.body);
      out.keep_alive(keep_alive);
      out.prepare_payload();
      stream_.expires_after(opts.write_timeout);
      auto [wec, wn] =
          co_await http::async_write(stream_, out, asio::as_tuple(asio::use_awaitable));
      (void)wn;
      busy_ = false;
      if (wec || !keep_alive || server_->stopping) break;
    }
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Answers what can be answered about a request that could not be read, then closes.
  asio::awaitable<void> reject(error_code ec) {
    int status = 0;
    if (ec == http::error::body_limit) {
      status = 413;
    } else if (ec == http::error::header_limit) {
      status = 431;
    } else if (ec.category() == error_code(http::error::body_limit).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      status = 400;
    }
    if (status == 0) co_return;  // closed, timed out or reset: nothing to say
    spdlog::debug("{}: {} from {}: {}", server_->opts.name, status, remote_, ec.message());
    http::response<http::string_body> out{static_cast<http::status>(status), 11};
    out.set(http::field::content_type, "text/plain; charset=utf-8");
    out.body() = std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\n";
    out.keep_alive(false);
    out.prepare_payload();
    stream_.expires_after(std::chrono::seconds(5));
    co_await http::async_write(stream_, out, asio::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<HttpResponse> handle(http::request<http::string_body>& msg) {
    HttpRequest req;
    req.received = Clock::now();
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto q = req.target.find('?');
    req.path = url_decode(std::string_view(req.target).substr(0, q));
    if (q != std::string::npos) req.query = parse_query(std::string_view(req.target).substr(q + 1));
    for (auto& f : msg)
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    auto ct = req.header("Content-Type");
    if (ct && ct->rfind("application/x-www-form-urlencoded", 0) == 0)
      req.form = parse_query(req.body);
    req.remote_address = remote_;
    auto started = Clock::now();
    HttpResponse res;
    const CorsPolicy& cors = server_->opts.cors;
    try {
      if (auto pre = cors.preflight(req)) {
        res = std::move(*pre);
      } else {
        res = co_await server_->router->dispatch(req);
        cors.decorate(req, res);
      }
    } catch (const std::exception& e) {
      spdlog::error("{}: {} {} from {}: handler failed: {}", server_->opts.name, req.method,
                    req.target, remote_, e.what());
      res = text_response(500, "Internal Server Error\n");
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    spdlog::debug("{}: {} {} from {} -> {} ({} us)", server_->opts.name, req.method, req.target,
                  remote_, res.status, us.count());
    co_return res;
  }

  void forget() {
    std::lock_guard lock(server_->mu);
    server_->sessions.erase(id_);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::Impl> server_;
  uint64_t id_;
  std::string remote_;
  bool busy_ = false;
};

}  // namespace

asio::awaitable<void> HttpServer::Impl::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
  auto self = shared_from_this();
  Clock::time_point last_log{};
  uint64_t refused = 0;  // connections closed at max_connections
  for (;;) {
    auto strand = asio::make_strand(ex);  // named: g++ 12 destroys co_await temporaries twice
    auto [ec, socket] =
        co_await acceptor->async_accept(strand, asio::as_tuple(asio::use_awaitable));
    if (stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors (EMFILE/ENFILE) or a transient error: back off instead of spinning.
      if (Clock::now() - last_log > std::chrono::seconds(10)) {
        spdlog::warn("{}: accept failed: {}; pausing", opts.name, ec.message());
        last_log = Clock::now();
      }
      asio::steady_timer t(ex, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    std::shared_ptr<Session> session;
    {
      std::lock_guard lock(mu);  // held only to count and insert; the log line comes after
      if (sessions.size() < opts.max_connections) {
        session = std::make_shared<Session>(std::move(socket), self, next_session);
        sessions.emplace(next_session++, session);
      }
    }
    if (!session) {
      error_code ignored;
      socket.close(ignored);
      ++refused;
      if (Clock::now() - last_log > std::chrono::seconds(10)) {
        spdlog::warn("{}: at the maximum of {} connections; refused {} so far", opts.name,
                     opts.max_connections, refused);
        last_log = Clock::now();
      }
      continue;
    }
    asio::co_spawn(session->executor(), Session::run(session),
                   [name = opts.name](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::error("{}: session ended with an error: {}", name, ex.what());
                     }
                   });
  }
}

void HttpServer::Impl::close_sessions(bool idle_only) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu);
    for (auto& [id, w] : sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->close(idle_only);
}

HttpServer::HttpServer(asio::any_io_executor ex, HttpServerOptions opts,
                       std::shared_ptr<const HttpRouter> router)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts), std::move(router))) {}

HttpServer::~HttpServer() {
  impl_->stopping = true;
  for (auto& a : impl_->acceptors) {
    error_code ec;
    a->close(ec);
  }
  impl_->close_sessions(false);
}

uint16_t HttpServer::listen(const std::string& address) {
  auto [host, port] = split_host_port(address);
  tcp::endpoint ep(asio::ip::make_address(host), port);
  auto acceptor = std::make_shared<tcp::acceptor>(impl_->ex);
  acceptor->open(ep.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  acceptor->bind(ep);
  acceptor->listen(asio::socket_base::max_listen_connections);
  uint16_t bound = acceptor->local_endpoint().port();
  impl_->acceptors.push_back(acceptor);
  asio::co_spawn(impl_->ex, impl_->accept_loop(acceptor),
                 [name = impl_->opts.name](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("{}: accept loop ended: {}", name, ex.what());
                   }
                 });
  spdlog::info("{}: listening on {}:{}", impl_->opts.name, host, bound);
  return bound;
}

asio::awaitable<void> HttpServer::stop(std::chrono::milliseconds grace) {
  impl_->stopping = true;
  for (auto& a : impl_->acceptors) {
    error_code ec;
    a->close(ec);
  }
  impl_->close_sessions(true);
  auto until = Clock::now() + grace;
  asio::steady_timer t(impl_->ex);
  while (connections() > 0 && Clock::now() < until) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    impl_->close_sessions(true);
  }
  impl_->close_sessions(false);
}

size_t HttpServer::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

std::vector<std::string> listen_stats(HttpServer& server, const std::vector<std::string>& binds,
                                      bool configured, const std::string& advertise_host) {
  std::vector<std::string> out;
  for (auto& bind : binds) {
    try {
      out.push_back(advertised_address(bind, server.listen(bind), advertise_host));
    } catch (const std::exception& e) {
      if (configured) throw;
      spdlog::warn(
          "stats: the default listener {} is not free ({}); running without it (set "
          "[base] stat.bind to serve /stat and /metrics)",
          bind, e.what());
    }
  }
  return out;
}

}  // namespace appmsg
