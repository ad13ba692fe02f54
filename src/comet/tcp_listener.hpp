// Accepts client connections on one bind address and hands each socket, already placed on
// the next io_context of the pool, to `on_accept` (which starts a TCP or WebSocket session).
// Running out of descriptors (EMFILE/ENFILE) pauses accepting for a moment with one log line per
// ten seconds, instead of spinning.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "comet/session_context.hpp"
#include "common/io_pool.hpp"

namespace appmsg::comet {

class TcpListener : public std::enable_shared_from_this<TcpListener> {
 public:
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket)>;
  TcpListener(boost::asio::io_context& accept_ctx, IoPool& pool,
              std::shared_ptr<const SessionContext> ctx, std::string name, OnAccept on_accept);
  uint16_t listen(const std::string& address);  // throws on bind failure; returns the port
  void start();
  void stop();

 private:
  void accept();
  void configure(boost::asio::ip::tcp::socket& s);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  IoPool& pool_;
  std::shared_ptr<const SessionContext> ctx_;
  std::string name_;
  OnAccept on_accept_;
  std::chrono::steady_clock::time_point last_log_{};
  bool stopped_ = false;
};

}  // namespace appmsg::comet
