// TCP accept loop for client connections.
#include "comet/tcp_listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "common/http_server.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

TcpListener::TcpListener(asio::io_context& accept_ctx, IoPool& pool,
                         std::shared_ptr<const SessionContext> ctx, std::string name,
                         OnAccept on_accept)
    : acceptor_(accept_ctx),
      backoff_(accept_ctx),
      pool_(pool),
      ctx_(std::move(ctx)),
      name_(std::move(name)),
      on_accept_(std::move(on_accept)) {}

uint16_t TcpListener::listen(const std::string& address) {
  auto [host, port] = split_host_port(address);
  tcp::endpoint ep(asio::ip::make_address(host), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  spdlog::info("comet: {} clients on {}", name_, address);
  return acceptor_.local_endpoint().port();
}

void TcpListener::start() {
  accept();
}

void TcpListener::stop() {
  stopped_ = true;
  error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

void TcpListener::configure(tcp::socket& s) {
  error_code ec;
  s.set_option(tcp::no_delay(true), ec);
  if (ctx_->config.tcp_keepalive) s.set_option(asio::socket_base::keep_alive(true), ec);
  if (ctx_->config.sndbuf > 0)
    s.set_option(asio::socket_base::send_buffer_size(ctx_->config.sndbuf), ec);
  if (ctx_->config.rcvbuf > 0)
    s.set_option(asio::socket_base::receive_buffer_size(ctx_->config.rcvbuf), ec);
}

void TcpListener::accept() {
  if (stopped_) return;
  acceptor_.async_accept(pool_.next(), [self = shared_from_this()](error_code ec, tcp::socket s) {
    if (self->stopped_) return;
    if (ec) {
      auto now = std::chrono::steady_clock::now();
      if (now - self->last_log_ > std::chrono::seconds(10)) {
        spdlog::warn("comet: {} accept failed: {}; pausing 100 ms", self->name_, ec.message());
        self->last_log_ = now;
      }
      self->backoff_.expires_after(std::chrono::milliseconds(100));
      self->backoff_.async_wait([self](error_code e) {
        if (!e) self->accept();
      });
      return;
    }
    self->configure(s);
    self->on_accept_(std::move(s));
    self->accept();
  });
}

}  // namespace appmsg::comet
