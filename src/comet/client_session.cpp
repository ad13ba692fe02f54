// Client connection (TCP or WebSocket): command or upgrade, subscribe, heartbeats, coalesced
// writes, deadlines, close.
#include "comet/client_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "comet/session_registry.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr size_t kCommandReadBytes = 512;
constexpr size_t kMaxHeldMessages = 1024;  // live messages held during a resume
}  // namespace

ClientSession::ClientSession(asio::ip::tcp::socket socket,
                             std::shared_ptr<const SessionContext> ctx, ClientProtocol proto)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      ctx_(std::move(ctx)),
      proto_(proto) {
  if (ctx_->sessions) ctx_->sessions->add(this);
}

ClientSession::~ClientSession() {
  if (ctx_->sessions) ctx_->sessions->remove(this);
}

void ClientSession::start() {
  (proto_ == ClientProtocol::tcp ? ctx_->stats->tcp_current : ctx_->stats->ws_current)
      .fetch_add(1, std::memory_order_relaxed);
  if (proto_ == ClientProtocol::tcp) {
    parser_ = std::make_unique<CommandParser>(ctx_->command_limits());
  } else {
    handshake_ = std::make_unique<WsHandshakeParser>();
  }
  command_buf_ = std::make_unique<char[]>(kCommandReadBytes);
  read_deadline_ = Clock::now() + ctx_->config.first_command_timeout;
  arm_timer(read_deadline_);
  read_command();
}

void ClientSession::read_command() {
  socket_.async_read_some(
      asio::buffer(command_buf_.get(), kCommandReadBytes),
      [self = shared_from_this()](error_code ec, size_t n) {
        if (ec) return self->do_close(CloseReason::client);
        size_t used = 0;
        std::string_view data(self->command_buf_.get(), n);
        bool done, failed;
        if (self->proto_ == ClientProtocol::tcp) {
          auto status = self->parser_->feed(data, used);
          done = status == CommandParser::Status::done;
          failed = status == CommandParser::Status::error;
        } else {
          auto status = self->handshake_->feed(data, used);
          done = status == WsHandshakeParser::Status::done;
          failed = status == WsHandshakeParser::Status::error;
        }
        if (failed) {
          self->ctx_->stats->closed_protocol.fetch_add(1, std::memory_order_relaxed);
          if (self->proto_ == ClientProtocol::websocket) {
            self->close_after_write_ = true;  // an HTTP error answer, then close
            return self->enqueue(http_error_response(self->handshake_->error_status()));
          }
          return self->do_close(CloseReason::protocol);  // silent, as the original
        }
        if (!done) return self->read_command();
        self->on_command(used, n);
      });
}

void ClientSession::on_command(size_t used, size_t got) {
  std::string leftover(command_buf_.get() + used, got - used);  // pipelined heartbeats (W13)
  command_buf_.reset();
  if (proto_ == ClientProtocol::tcp) return on_tcp_command(std::move(leftover));
  on_ws_upgrade(std::move(leftover));
}

void ClientSession::on_tcp_command(std::string leftover) {
  auto req = parse_sub(parser_->args(), ctx_->sub_limits());
  parser_.reset();
  if (!req) {
    ctx_->stats->sub_rejected_param.fetch_add(1, std::memory_order_relaxed);
    return reply_and_close(kReplyParam, CloseReason::protocol);
  }
  check_and_subscribe(std::move(*req), std::move(leftover));
}

void ClientSession::on_ws_upgrade(std::string leftover) {
  const WsUpgrade& up = *handshake_->upgrade();
  enqueue(ws_upgrade_response(up.accept));
  auto req = parse_sub_query(up.query, ctx_->sub_limits());
  handshake_.reset();
  frames_ = std::make_unique<WsFrameDecoder>(ctx_->config.max_ws_message_bytes);
  if (!req) {
    ctx_->stats->sub_rejected_param.fetch_add(1, std::memory_order_relaxed);
    return reply_and_close(kReplyParam, CloseReason::protocol);
  }
  check_and_subscribe(std::move(*req), std::move(leftover));
}

void ClientSession::check_and_subscribe(SubRequest req, std::string leftover) {
  if (!ctx_->authenticate) return subscribe(std::move(req), std::move(leftover));
  auto self = shared_from_this();
  auto r = std::make_shared<SubRequest>(std::move(req));
  ctx_->authenticate(*r, [self, r, leftover = std::move(leftover)](AuthResult result) mutable {
    asio::post(self->socket_.get_executor(), [self, r, result, leftover = std::move(leftover)] {
      if (self->closed_) return;
      if (result == AuthResult::ok) return self->subscribe(std::move(*r), leftover);
      self->ctx_->stats->sub_rejected_auth.fetch_add(1, std::memory_order_relaxed);
      self->reply_and_close(result == AuthResult::no_channel ? kReplyChannel : kReplyAuth,
                            CloseReason::protocol);
    });
  });
}

void ClientSession::send_reply(std::string_view reply) {
  if (proto_ == ClientProtocol::tcp) return enqueue(reply);
  append_ws_frame(queue_.frames(), WsOpcode::text, reply);
  flush();
}

void ClientSession::subscribe(SubRequest req, std::string leftover) {
  key_ = std::move(req.key);
  new_format_ = !req.version.empty();
  heartbeat_ = std::chrono::seconds(req.heartbeat);
  if (ctx_->table->add(key_, shared_from_this()) == ChannelTable::AddResult::full) {
    ctx_->stats->sub_rejected_full.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("{}: more than {} connections, closing the newest", key_,
                  ctx_->config.max_subscriber);
    return do_close(CloseReason::protocol);  // silent, as the original (W15: counted)
  }
  subscribed_ = true;
  ctx_->stats->conn_add.fetch_add(1, std::memory_order_relaxed);
  if (ctx_->on_presence) ctx_->on_presence(key_, true);
  send_reply(kReplyHeartbeat);
  read_deadline_ = Clock::now() + heartbeat_ + ctx_->config.heartbeat_grace;
  // The timer still waits for the first-command deadline; when the heartbeat one comes first,
  // it must wake for that (a later deadline needs nothing: the timer re-arms when it fires).
  if (!closed_ && timer_at_ > read_deadline_) arm_timer(read_deadline_);
  if (!leftover.empty() && !on_client_bytes(leftover)) return do_close(CloseReason::protocol);
  if (req.resume_mid && ctx_->fetch_missed && !closed_) start_resume(*req.resume_mid);
  read_heartbeats();
}

void ClientSession::start_resume(int64_t after) {
  ctx_->stats->resumes.fetch_add(1, std::memory_order_relaxed);
  resume_ = std::make_unique<Resume>();
  resume_->after = after;
  ctx_->fetch_missed(
      key_, after, !new_format_, [self = shared_from_this()](SessionContext::Missed stored) {
        asio::post(self->socket_.get_executor(), [self, stored = std::move(stored)]() mutable {
          self->finish_resume(std::move(stored));
        });
      });
}

void ClientSession::finish_resume(SessionContext::Missed stored) {
  if (closed_ || !resume_) return;
  auto r = std::move(resume_);
  if (!stored) {
    ctx_->stats->resume_failures.fetch_add(1, std::memory_order_relaxed);
    return do_close(CloseReason::store_unavailable);
  }
  ctx_->stats->resumed_messages.fetch_add(stored->size(), std::memory_order_relaxed);
  r->held = merge_missed(r->after, std::move(*stored), std::move(r->held));
  r->held_bytes = 0;
  for (auto& m : r->held) r->held_bytes += m->bytes();
  r->replaying = true;
  resume_ = std::move(r);
  feed_replay();
}

void ClientSession::feed_replay() {
  // Fill the send queue to half its bounds, so that the live path keeps its headroom; the write
  // completion calls this again until the backlog is gone.
  const SendLimits limits = send_limits();
  while (resume_ && resume_->replaying && !closed_) {
    auto& q = resume_->held;
    size_t moved = 0;
    while (!q.empty() && queue_.has_room_for_backlog(limits)) {
      append_message(*q.front());
      resume_->held_bytes -= q.front()->bytes();
      q.pop_front();
      ++moved;
    }
    bool done = q.empty();
    if (done) resume_.reset();
    flush();
    // Writing: the write's completion feeds the rest. Nothing moved: no room until it does.
    if (done || queue_.writing() || moved == 0) return;
  }
}

void ClientSession::read_heartbeats() {
  socket_.async_read_some(
      asio::buffer(hb_buf_), [self = shared_from_this()](error_code ec, size_t n) {
        if (ec) return self->do_close(CloseReason::client);
        if (!self->on_client_bytes(std::string_view(self->hb_buf_, n))) {
          self->ctx_->stats->closed_protocol.fetch_add(1, std::memory_order_relaxed);
          return self->do_close(CloseReason::protocol);
        }
        self->read_heartbeats();
      });
}

bool ClientSession::on_client_bytes(std::string_view bytes) {
  if (proto_ == ClientProtocol::websocket) {
    while (!bytes.empty()) {
      size_t used = 0;
      auto status = frames_->feed(bytes, used);
      bytes.remove_prefix(used);
      if (status == WsFrameDecoder::Status::error) return false;
      if (status == WsFrameDecoder::Status::need_more) break;
      if (!on_ws_frame(frames_->take())) return false;
    }
    return true;
  }
  for (char c : bytes) {
    if (c != 'h') return false;  // any other byte ends the connection (spec 1.5)
    enqueue(kReplyHeartbeat);
  }
  // Moving the deadline costs nothing: the timer re-arms itself when it fires early.
  read_deadline_ = Clock::now() + heartbeat_ + ctx_->config.heartbeat_grace;
  return true;
}

// A whole client frame: "h" is a heartbeat, pings get pongs, pongs are ignored, a close is
// answered and ends the connection, anything else is a protocol error.
bool ClientSession::on_ws_frame(WsFrame frame) {
  switch (frame.opcode) {
    case WsOpcode::text:
    case WsOpcode::binary:
      if (frame.payload != "h") return false;
      send_reply(kReplyHeartbeat);
      read_deadline_ = Clock::now() + heartbeat_ + ctx_->config.heartbeat_grace;
      return true;
    case WsOpcode::ping:
      append_ws_frame(queue_.frames(), WsOpcode::pong, frame.payload);
      flush();
      return true;
    case WsOpcode::pong:
      return true;
    case WsOpcode::close:
      append_ws_frame(queue_.frames(), WsOpcode::close, frame.payload.substr(0, 2));
      close_after_write_ = true;
      flush();
      return true;
    default:
      return false;
  }
}

void ClientSession::deliver(std::shared_ptr<const Message> msg) {
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), msg = std::move(msg)] { self->enqueue_message(msg); });
}

void ClientSession::enqueue_message(const std::shared_ptr<const Message>& msg) {
  if (closed_) return;
  auto& stats = *ctx_->stats;
  if (resume_) {
    // Held behind the stored messages (or the backlog still being written), shared with every
    // other recipient; bounded in count and in bytes. Over either: the client is too slow.
    if (resume_->held.size() >= kMaxHeldMessages + static_cast<size_t>(ctx_->config.resume_max) ||
        resume_->held_bytes + msg->bytes() > 2 * ctx_->config.max_resume_bytes) {
      stats.drops.fetch_add(1, std::memory_order_relaxed);
      stats.closed_slow.fetch_add(1, std::memory_order_relaxed);
      return do_close(CloseReason::slow_consumer);
    }
    resume_->held_bytes += msg->bytes();
    resume_->held.push_back(msg);
    if (resume_->replaying && !queue_.writing()) feed_replay();
    return;
  }
  if (!queue_.has_room(send_limits())) {
    stats.drops.fetch_add(1, std::memory_order_relaxed);
    stats.closed_slow.fetch_add(1, std::memory_order_relaxed);
    // Logged at most once a second: a stalled network can close thousands at once.
    static std::atomic<int64_t> last_log{0};
    int64_t now_s =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
    if (last_log.exchange(now_s) != now_s) {
      spdlog::info("{}: client too slow ({} messages waiting), closing ({} so far)", key_,
                   queue_.messages(), stats.closed_slow.load(std::memory_order_relaxed));
    }
    return do_close(CloseReason::slow_consumer);
  }
  append_message(*msg);
  flush();
}

void ClientSession::append_message(const Message& msg) {
  const std::string& payload = new_format_ ? msg.new_payload : msg.old_payload;
  if (proto_ == ClientProtocol::tcp) {
    append_tcp_frame(queue_.frames(), payload);
  } else {
    append_ws_frame(queue_.frames(), WsOpcode::text, payload);
  }
  queue_.added_message();
  ctx_->stats->deliveries.fetch_add(1, std::memory_order_relaxed);
}

void ClientSession::enqueue(std::string_view bytes) {
  queue_.frames().append(bytes);
  flush();
}

SendLimits ClientSession::send_limits() const {
  return {static_cast<size_t>(ctx_->config.msgbuf_num),
          static_cast<size_t>(ctx_->config.max_send_queue_bytes)};
}

void ClientSession::flush() {
  // Every byte for the client passes here: a client that sends heartbeats or pings but never
  // reads the answers meets the same bound as one that does not read its messages.
  if (queue_.over(send_limits()) && !closed_) {
    ctx_->stats->closed_slow.fetch_add(1, std::memory_order_relaxed);
    return do_close(CloseReason::slow_consumer);
  }
  if (queue_.writing() || queue_.empty() || !socket_.is_open()) return;
  // Hand the socket what it takes now; only the rest waits for an asynchronous write. So a
  // message counts as waiting (msgbuf_num) only while the socket is really full, not while the
  // handler of a write the kernel already took is queued behind a burst of deliveries (a batch
  // of more than msgbuf_num messages to one key would otherwise close a healthy client).
  error_code ec;
  if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
  size_t written = ec ? 0 : socket_.write_some(asio::buffer(queue_.frames()), ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    ctx_->stats->message_failed.fetch_add(queue_.messages(), std::memory_order_relaxed);
    return do_close(CloseReason::client);
  }
  size_t done = 0;
  if (queue_.took(written, done)) {
    ctx_->stats->message_succeed.fetch_add(done, std::memory_order_relaxed);
    if (close_after_write_) do_close(CloseReason::protocol);
    return;
  }
  write_started_ = Clock::now();
  if (timer_at_ > write_started_ + ctx_->config.write_timeout) {
    arm_timer(write_started_ + ctx_->config.write_timeout);
  }
  asio::async_write(socket_, asio::buffer(queue_.write_buffer()),
                    [self = shared_from_this()](error_code ec, size_t) {
                      size_t messages = self->queue_.write_finished();
                      auto& stats = *self->ctx_->stats;
                      (ec ? stats.message_failed : stats.message_succeed)
                          .fetch_add(messages, std::memory_order_relaxed);
                      if (ec) return self->do_close(CloseReason::client);
                      if (self->queue_.empty() && self->close_after_write_) {
                        return self->do_close(CloseReason::protocol);
                      }
                      if (self->resume_ && self->resume_->replaying) {
                        return self->feed_replay();  // it flushes too
                      }
                      self->flush();
                    });
}

void ClientSession::reply_and_close(std::string_view reply, CloseReason reason) {
  (void)reason;
  close_after_write_ = true;
  send_reply(reply);
}

// One timer serves every deadline: the first command, the heartbeat and the current write.
void ClientSession::arm_timer(Clock::time_point at) {
  timer_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->on_timer();
  });
}

void ClientSession::on_timer() {
  if (closed_) return;
  auto now = Clock::now();
  if (queue_.writing() && now >= write_started_ + ctx_->config.write_timeout) {
    ctx_->stats->closed_write_timeout.fetch_add(1, std::memory_order_relaxed);
    return do_close(CloseReason::write_timeout);
  }
  if (now >= read_deadline_) {
    if (subscribed_) ctx_->stats->closed_heartbeat.fetch_add(1, std::memory_order_relaxed);
    return do_close(CloseReason::heartbeat_timeout);
  }
  auto next = read_deadline_;
  if (queue_.writing()) next = std::min(next, write_started_ + ctx_->config.write_timeout);
  arm_timer(next);
}

void ClientSession::close(CloseReason reason) {
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), reason] { self->do_close(reason); });
}

void ClientSession::do_close(CloseReason reason) {
  if (closed_) return;
  closed_ = true;
  resume_.reset();
  if (reason == CloseReason::migrated) {
    ctx_->stats->closed_migrated.fetch_add(1, std::memory_order_relaxed);
  }
  if (subscribed_) {
    ctx_->table->remove(key_, this);  // a no-op when a Close or Migrate took the channel
    ctx_->stats->conn_remove.fetch_add(1, std::memory_order_relaxed);
    if (ctx_->on_presence) ctx_->on_presence(key_, false);
  }
  (proto_ == ClientProtocol::tcp ? ctx_->stats->tcp_current : ctx_->stats->ws_current)
      .fetch_sub(1, std::memory_order_relaxed);
  error_code ignored;
  // A WebSocket client told to go elsewhere gets a close frame with the reason's code (1012
  // "service restart" on shutdown and migration, 1000 when kicked, 1013 "try again later" when
  // a resume could not read the store), when it fits in the socket now; other closes (errors,
  // timeouts, slow clients) are abrupt, as the original's.
  if (proto_ == ClientProtocol::websocket && subscribed_ && !queue_.writing() &&
      (reason == CloseReason::shutdown || reason == CloseReason::migrated ||
       reason == CloseReason::kicked || reason == CloseReason::store_unavailable)) {
    uint16_t code = reason == CloseReason::kicked              ? 1000
                    : reason == CloseReason::store_unavailable ? 1013
                                                               : 1012;
    std::string frame;
    append_ws_frame(frame, WsOpcode::close,
                    std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)});
    socket_.non_blocking(true, ignored);
    socket_.write_some(asio::buffer(frame), ignored);
  }
  timer_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace appmsg::comet
