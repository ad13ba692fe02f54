// Redis client: the connection loop (connect, read, write, deadlines).
//
// All state of a connection lives on its strand. Callers on any executor enqueue commands there;
// each completion is dispatched back to the caller's executor.
#include "common/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>

#include "common/spawn.hpp"

namespace appmsg {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ReplyHandler = asio::any_completion_handler<void(error_code, RedisReply)>;

namespace {

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;  // nil
  }
  return out;
}

std::string format_command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  int n = redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lens.data());
  if (n < 0 || !cmd) throw std::bad_alloc();
  std::string out(cmd, static_cast<size_t>(n));
  redisFreeCommand(cmd);
  return out;
}

std::pair<std::string, std::string> split_address(const std::string& addr) {
  auto pos = addr.rfind(':');
  if (pos == std::string::npos) return {addr, "6379"};
  return {addr.substr(0, pos), addr.substr(pos + 1)};
}

}  // namespace

struct RedisClient::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    std::string bytes;  // the encoded command until it is handed to the writer
    Clock::time_point deadline;
    ReplyHandler handler;
    bool sent = false;
  };

  Impl(asio::any_io_executor ex, RedisOptions o)
      : strand(asio::make_strand(ex)),
        opts(std::move(o)),
        socket(strand),
        wake(strand),
        ticker(strand) {}
  ~Impl() {
    if (reader) redisReaderFree(reader);
  }

  asio::strand<asio::any_io_executor> strand;
  RedisOptions opts;
  tcp::socket socket;
  asio::steady_timer wake;    // wakes the writer when output is queued
  asio::steady_timer ticker;  // enforces deadlines
  redisReader* reader = nullptr;
  std::deque<Pending> pending;  // in send order; sent ones come first
  std::string outbuf;           // encoded commands not yet handed to write
  size_t unsent_bytes = 0;      // bytes of pending commands not yet sent (bounded)
  bool is_connected = false;
  bool stopped = false;
  uint64_t generation = 0;  // one per connection; ends that connection's writer
  int failures = 0;
  Clock::time_point last_failure_log{};

  void start() {
    // A named copy: g++ 12 destroys a temporary passed to a coroutine's by-value parameter twice.
    auto self = shared_from_this();
    asio::co_spawn(strand, run(self), [](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("redis: connection loop ended: {}", ex.what());
        }
      }
    });
    tick();
  }

  void stop() {
    stopped = true;
    error_code ec;
    socket.close(ec);
    wake.cancel();
    ticker.cancel();
    fail_all(asio::error::operation_aborted);
  }

  static asio::awaitable<void> run(std::shared_ptr<Impl> self) {
    auto backoff = std::chrono::milliseconds(50);
    while (!self->stopped) {
      std::string failure;
      try {
        co_await self->connect_once();
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!failure.empty()) {
        self->log_failure("connect failed: " + failure);
        asio::steady_timer t(self->strand, backoff);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        continue;
      }
      backoff = std::chrono::milliseconds(50);
      if (self->failures > 0) spdlog::info("redis {}: connected again", self->opts.address);
      self->failures = 0;
      self->on_connected();
      // The writer runs beside the reader; it ends when the connection's generation moves on.
      spawn(self->strand, self->write_loop(self, self->generation),
            "redis " + self->opts.address + ": writer");
      std::string lost;
      try {
        co_await self->read_loop();
      } catch (const std::exception& e) {
        lost = e.what();
      }
      if (!self->stopped) self->log_failure("connection lost: " + lost);
      self->on_disconnected();
    }
  }

  asio::awaitable<void> connect_once() {
    auto [host, port] = split_address(opts.address);
    socket = tcp::socket(strand);
    // One deadline for resolve and connect: when it passes, the timer cancels the resolver and
    // closes the socket, and the pending step fails. `state` outlives this frame, so a timer
    // handler already queued when the connect completes finds `done` and does nothing.
    struct Attempt {
      bool done = false;
      bool timed_out = false;
    };
    auto state = std::make_shared<Attempt>();
    auto resolver = std::make_shared<tcp::resolver>(strand);
    asio::steady_timer timer(strand, opts.connect_timeout);
    timer.async_wait([self = shared_from_this(), state, resolver](error_code ec) {
      if (ec || state->done) return;
      state->timed_out = true;
      resolver->cancel();
      error_code ignored;
      self->socket.close(ignored);
    });
    auto [rec, endpoints] =
        co_await resolver->async_resolve(host, port, asio::as_tuple(asio::use_awaitable));
    error_code ec = rec;
    if (!ec) {
      auto [cec, ep] =
          co_await asio::async_connect(socket, endpoints, asio::as_tuple(asio::use_awaitable));
      (void)ep;
      ec = cec;
    }
    state->done = true;
    timer.cancel();
    if (state->timed_out) throw boost::system::system_error(asio::error::timed_out);
    if (ec) throw boost::system::system_error(ec);
    socket.set_option(tcp::no_delay(true));
  }

  void on_connected() {
    is_connected = true;
    if (reader) redisReaderFree(reader);
    reader = redisReaderCreate();
    for (auto& p : pending) mark_sent(p);  // everything waiting goes out now, in order
    wake.cancel();
  }

  void on_disconnected() {
    is_connected = false;
    ++generation;
    wake.cancel();
    error_code ec;
    socket.close(ec);
    outbuf.clear();
    fail_all(asio::error::connection_reset);
  }

  void log_failure(const std::string& what) {
    ++failures;
    auto now = Clock::now();
    if (failures == 1 || now - last_failure_log > std::chrono::seconds(30)) {
      spdlog::warn("redis {}: {} (failure {})", opts.address, what, failures);
      last_failure_log = now;
    }
  }

  asio::awaitable<void> read_loop() {
    std::vector<char> buf(64 * 1024);
    for (;;) {
      size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::use_awaitable);
      if (redisReaderFeed(reader, buf.data(), n) != REDIS_OK) {
        throw std::runtime_error("redis reader: out of memory");
      }
      for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
          throw std::runtime_error(std::string("protocol error: ") + reader->errstr);
        }
        if (!raw) break;
        std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                           freeReplyObject);
        if (pending.empty() || !pending.front().sent) {
          throw std::runtime_error("protocol error: reply without a command");
        }
        auto p = std::move(pending.front());
        pending.pop_front();
        std::move(p.handler)(error_code{}, convert(reply.get()));
      }
    }
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<Impl> self, uint64_t gen) {
    std::string writing;
    while (self->generation == gen && !self->stopped) {
      if (self->outbuf.empty()) {
        self->wake.expires_at(Clock::time_point::max());
        co_await self->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      writing.clear();
      writing.swap(self->outbuf);
      auto [ec, n] = co_await asio::async_write(self->socket, asio::buffer(writing),
                                                asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) {
        error_code ignored;
        self->socket.close(ignored);  // the reader sees it and ends the connection
        co_return;
      }
    }
  }

  // Hands the command's bytes to the writer; only the reply is awaited from now on.
  void mark_sent(Pending& p) {
    outbuf += p.bytes;
    unsent_bytes -= p.bytes.size();
    std::string().swap(p.bytes);
    p.sent = true;
  }

  // Called on the strand.
  void enqueue(std::string bytes, ReplyHandler handler) {
    if (stopped) return std::move(handler)(asio::error::operation_aborted, RedisReply{});
    if (pending.size() >= opts.max_pending ||
        unsent_bytes + outbuf.size() + bytes.size() > opts.max_pending_bytes) {
      return std::move(handler)(asio::error::no_buffer_space, RedisReply{});
    }
    unsent_bytes += bytes.size();
    pending.push_back(
        Pending{std::move(bytes), Clock::now() + opts.command_timeout, std::move(handler)});
    if (is_connected) {
      mark_sent(pending.back());
      wake.cancel();
    }
  }

  void fail_all(error_code ec) {
    auto failed = std::move(pending);
    pending.clear();
    unsent_bytes = 0;
    for (auto& p : failed) std::move(p.handler)(ec, RedisReply{});
  }

  // Deadline enforcement, a few times per command timeout.
  void tick() {
    auto period = std::clamp(opts.command_timeout / 10, std::chrono::milliseconds(5),
                             std::chrono::milliseconds(100));
    ticker.expires_after(period);
    ticker.async_wait([w = weak_from_this()](error_code ec) {
      auto self = w.lock();
      if (ec || !self || self->stopped) return;
      self->check_deadlines();
      self->tick();
    });
  }

  void check_deadlines() {
    auto now = Clock::now();
    if (pending.empty() || pending.front().deadline > now) return;
    if (pending.front().sent) {
      // The server has not answered the oldest command in time: the connection is stalled.
      log_failure("no reply within " + std::to_string(opts.command_timeout.count()) + " ms");
      error_code ec;
      socket.close(ec);  // the read loop ends; on_disconnected fails what was sent
      return;
    }
    // Not connected: drop what has waited too long.
    while (!pending.empty() && pending.front().deadline <= now) {
      auto p = std::move(pending.front());
      pending.pop_front();
      unsent_bytes -= p.bytes.size();
      std::move(p.handler)(asio::error::timed_out, RedisReply{});
    }
  }
};

// Resumes the caller on its own executor.
template <class Handler, class... Args>
void complete_on_own_executor(Handler h, Args... args) {
  auto ex = asio::get_associated_executor(h);
  asio::dispatch(ex, [h = std::move(h), ... args = std::move(args)]() mutable {
    std::move(h)(std::move(args)...);
  });
}

RedisClient::RedisClient(asio::any_io_executor ex, RedisOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

RedisClient::~RedisClient() {
  stop();
}

void RedisClient::start() {
  asio::dispatch(impl_->strand, [impl = impl_] { impl->start(); });
}

void RedisClient::stop() {
  asio::dispatch(impl_->strand, [impl = impl_] {
    if (!impl->stopped) impl->stop();
  });
}

bool RedisClient::connected() const {
  return impl_->is_connected;
}
const RedisOptions& RedisClient::options() const {
  return impl_->opts;
}

// Note on the coroutines below: g++ 12 destroys a temporary lambda inside a co_await
// expression twice, so every initiation is a named local.
asio::awaitable<RedisReply> RedisClient::command(std::vector<std::string> args) {
  std::string bytes = format_command(args);
  auto init = [impl = impl_](auto handler, std::string bytes) {
    asio::dispatch(
        impl->strand, [impl, bytes = std::move(bytes), handler = std::move(handler)]() mutable {
          impl->enqueue(std::move(bytes),
                        [handler = std::move(handler)](error_code ec, RedisReply r) mutable {
                          complete_on_own_executor(std::move(handler), ec, std::move(r));
                        });
        });
  };
  RedisReply reply;
  try {
    reply =
        co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(error_code, RedisReply)>(
            init, asio::use_awaitable, std::move(bytes));
  } catch (const boost::system::system_error& e) {
    throw boost::system::system_error(e.code(), "redis " + impl_->opts.address);
  }
  co_return reply;
}

asio::awaitable<std::vector<RedisReply>> RedisClient::pipeline(
    std::vector<std::vector<std::string>> commands) {
  std::vector<std::string> encoded;
  encoded.reserve(commands.size());
  for (auto& c : commands) encoded.push_back(format_command(c));
  using Result = std::vector<RedisReply>;
  auto init = [impl = impl_](auto handler, std::vector<std::string> encoded) {
    using H = decltype(handler);
    struct Batch {
      H handler;
      Result replies;
      size_t remaining;
      error_code first_error;
    };
    auto batch = std::make_shared<Batch>(
        Batch{std::move(handler), Result(encoded.size()), encoded.size(), {}});
    asio::dispatch(impl->strand, [impl, batch, encoded = std::move(encoded)]() mutable {
      if (encoded.empty()) {
        return complete_on_own_executor(std::move(batch->handler), error_code{}, Result{});
      }
      for (size_t i = 0; i < encoded.size(); ++i) {
        impl->enqueue(std::move(encoded[i]), [batch, i](error_code ec, RedisReply r) {
          if (ec && !batch->first_error) batch->first_error = ec;
          batch->replies[i] = std::move(r);
          if (--batch->remaining == 0) {
            complete_on_own_executor(std::move(batch->handler), batch->first_error,
                                     std::move(batch->replies));
          }
        });
      }
    });
  };
  Result replies;
  try {
    replies =
        co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(error_code, Result)>(
            init, asio::use_awaitable, std::move(encoded));
  } catch (const boost::system::system_error& e) {
    throw boost::system::system_error(e.code(), "redis " + impl_->opts.address);
  }
  co_return replies;
}

}  // namespace appmsg
