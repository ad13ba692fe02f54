// One client connection, over the TCP text protocol (spec/comet.md section 1) or WebSocket
// (section 1W); the two differ only in their codecs (tcp_protocol, ws_protocol).
//
// Life: read the `sub` command or the WebSocket upgrade (first-command deadline) -> check it
// (and the token) -> join the channel and answer +h -> answer each `h` and write pushed
// messages -> close.
// Resume (the client sent its last mid): after +h, live messages are held while the stored
// ones newer than that mid are read; then both go out merged in mid order, each mid once, fed
// into the send queue as the client drains it (so a long backlog does not count as a slow
// client); live messages arriving meanwhile queue behind the backlog.
// Ownership: the session owns its socket. While subscribed the channel table holds it too;
// it leaves the table exactly once, in close(), on its own executor. All state is touched only
// on that executor (one io_context thread), so there are no locks here.
// Memory while idle: no read buffer beyond 16 bytes, send buffers released after each write,
// one timer for every deadline.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "comet/resume_merge.hpp"
#include "comet/send_queue.hpp"
#include "comet/session_context.hpp"
#include "comet/subscriber.hpp"
#include "comet/tcp_protocol.hpp"
#include "comet/ws_protocol.hpp"

namespace appmsg::comet {

enum class ClientProtocol { tcp, websocket };

class ClientSession : public Subscriber, public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<const SessionContext> ctx,
                ClientProtocol proto);
  ~ClientSession() override;

  void start();
  void deliver(std::shared_ptr<const Message> msg) override;
  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }
  void deliver_here(const std::shared_ptr<const Message>& msg) override { enqueue_message(msg); }
  void close(CloseReason reason) override;
  bool old_format() const override { return !new_format_; }

 private:
  using Clock = std::chrono::steady_clock;

  void read_command();
  void on_command(size_t used, size_t got);
  void on_tcp_command(std::string leftover);
  void on_ws_upgrade(std::string leftover);
  void check_and_subscribe(SubRequest req, std::string leftover);
  void send_reply(std::string_view reply);
  void subscribe(SubRequest req, std::string leftover);
  void join_channel();
  void read_heartbeats();
  bool on_client_bytes(std::string_view bytes);  // false: the connection must close
  bool on_ws_frame(WsFrame frame);
  void enqueue(std::string_view bytes);
  void enqueue_message(const std::shared_ptr<const Message>& msg);
  void append_message(const Message& msg);  // no queue checks; the caller flushes
  void start_resume(int64_t after);
  void finish_resume(SessionContext::Missed stored);
  void feed_replay();  // moves replay messages into the send queue while it has room
  void flush();
  SendLimits send_limits() const;
  void reply_and_close(std::string_view reply, CloseReason reason);
  void arm_timer(Clock::time_point at);
  void on_timer();
  void do_close(CloseReason reason);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<const SessionContext> ctx_;
  ClientProtocol proto_;
  std::unique_ptr<CommandParser> parser_;         // TCP, only until the command is complete
  std::unique_ptr<WsHandshakeParser> handshake_;  // WebSocket, likewise
  std::unique_ptr<WsFrameDecoder> frames_;        // WebSocket, once upgraded
  std::unique_ptr<char[]> command_buf_;           // likewise
  std::string key_;
  struct Resume {
    int64_t after = 0;
    bool replaying = false;  // the store has answered; `held` is the merged backlog
    MessageList held;        // live messages held while the store is read, then the backlog
    size_t held_bytes = 0;   // of `held`: the backlog read (<= resume.bytes) plus live ones
  };
  std::unique_ptr<Resume> resume_;  // only while resuming
  bool new_format_ = false;
  bool subscribed_ = false;
  bool closed_ = false;
  bool close_after_write_ = false;
  std::chrono::seconds heartbeat_{0};
  Clock::time_point read_deadline_{};
  Clock::time_point write_started_{};
  Clock::time_point timer_at_{};
  SendQueue queue_;
  char hb_buf_[16];
};

}  // namespace appmsg::comet
