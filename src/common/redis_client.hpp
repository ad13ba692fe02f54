// Redis client: one pipelined connection per server, driven by Asio; hiredis encodes commands
// and parses replies. RedisShards (redis_shards.hpp) puts several behind a ketama ring.
//
// A connection reconnects by itself (with back-off) and every command carries a deadline. Redis
// answers in order, so when the oldest command sent outlives its deadline the connection is
// stalled: it is dropped, every command sent on it fails, and a new one is made. Commands issued
// while disconnected wait for the reconnect until their deadline. At most `max_pending`
// commands, and `max_pending_bytes` of encoded commands not yet sent, wait per connection;
// beyond either a command fails at once (no_buffer_space).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace appmsg {

struct RedisReply {
  enum class Type { nil, string, array, integer, status, error };
  Type type = Type::nil;
  std::string str;  // string, status or error text
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
};

struct RedisOptions {
  std::string address = "127.0.0.1:6379";           // host:port
  std::chrono::milliseconds connect_timeout{1000};  // one TCP connect attempt
  std::chrono::milliseconds command_timeout{1000};  // from issue to reply
  size_t max_pending = 65536;                       // commands waiting on one connection
  size_t max_pending_bytes = 64 << 20;              // their encoded bytes not yet written
};

class RedisClient {
 public:
  RedisClient(boost::asio::any_io_executor ex, RedisOptions opts);
  ~RedisClient();  // stops; pending commands fail with operation_aborted
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void start();  // connects in the background
  void stop();

  // Sends one command. Error replies are returned, not thrown; transport failures and deadlines
  // throw boost::system::system_error (timed_out, not_connected, connection_reset, ...).
  boost::asio::awaitable<RedisReply> command(std::vector<std::string> args);
  // Sends several commands in one write; the replies come back in the same order.
  boost::asio::awaitable<std::vector<RedisReply>> pipeline(
      std::vector<std::vector<std::string>> commands);

  bool connected() const;
  const RedisOptions& options() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace appmsg
