// MySQL/MariaDB connection pool: blocking client connections on worker threads, awaited from
// Asio coroutines.
//
// Owns: `connections` worker threads, each with one lazily opened connection and a bounded
// cache of prepared statements keyed by SQL text; one bounded job queue (mutex + condition
// variable) shared by the workers. Coroutines never block: execute() queues a job and
// suspends; the worker runs it and posts the result back to the pool's executor. No lock is
// held across I/O. Only prepared statements are used (parameters are never spliced into SQL).
//
// Overflow and time policy: beyond `max_queue` waiting jobs, execute() fails at once with
// errc::queue_full. Each call has a deadline covering queue wait and execution: a job still
// queued at its deadline is dropped without running; a job already running when its deadline
// passes keeps running on its worker (it cannot be interrupted), but the caller resumes at the
// deadline with errc::deadline_exceeded, so a write may or may not have taken effect.
//
// Reconnect and retry rule (see run_job in the .cpp):
//  - Before running a job on an open connection the worker checks the socket without
//    blocking; if the server has closed it (restart, wait_timeout, KILL) the connection and its
//    statements are dropped and reopened first. So the first call after a server restart
//    succeeds once the server is back.
//  - A lost-connection error (client 2002, 2003, 2006, 2013, 2055; server 1053 shutdown, 1927
//    killed) while connecting or preparing, or a "statement needs re-prepare" (1615) at
//    execute, drops what is stale and retries the job once, if its deadline has not passed:
//    nothing has run yet, so the retry cannot apply it twice.
//  - A lost-connection error during execute or fetch drops the connection (the next job
//    reconnects) and fails this job with that error; it is never retried, because a write
//    might have been applied. Any other client error (2000-2999) also drops the connection.
//
// Shutdown: ~Pool fails queued jobs with errc::pool_stopped and waits for running statements
// (each bounded by io_timeout). Completions may run after ~Pool; they never touch the pool.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace appmsg::mysql {

struct Options {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user = "root";
  std::string password;
  std::string database;
  std::string unix_socket;   // used instead of TCP when host is "localhost"
  int connections = 4;       // worker threads, one blocking connection each
  size_t max_queue = 10000;  // jobs waiting; beyond it execute() fails at once
  // A result set is read row by row (never buffered whole by the client library); one with
  // more rows or more value bytes than these fails with errc::result_too_large and the
  // connection is dropped (the rest is never read).
  size_t max_result_rows = 100000;
  size_t max_result_bytes = 64 << 20;
  std::chrono::milliseconds connect_timeout{3000};  // per connect attempt (whole seconds)
  std::chrono::milliseconds io_timeout{5000};  // read and write timeout on the socket (seconds)
};

// Parses a Go MySQL driver DSN:
//   [user[:password]@][tcp[(host[:port])] | (host[:port]) | unix(/path)]/[database][?params]
// Recognised params: timeout (connect_timeout), readTimeout and writeTimeout (io_timeout, the
// larger wins), all Go durations such as "3s" or "500ms". Other params (charset, parseTime,
// loc, ...) are accepted and ignored: the pool always uses utf8mb4 and returns strings.
// Throws std::invalid_argument on malformed input.
Options parse_dsn(std::string_view dsn);

using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

struct Result {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // NULL is std::nullopt
  uint64_t affected_rows = 0;
  uint64_t insert_id = 0;
};

// Codes the pool produces itself; server errors (1000-4999) and client errors (2000-2999) are
// passed through unchanged.
namespace errc {
inline constexpr unsigned queue_full = 9001;         // more than max_queue jobs waiting
inline constexpr unsigned deadline_exceeded = 9002;  // the call's deadline passed
inline constexpr unsigned pool_stopped = 9003;       // the pool was destroyed first
inline constexpr unsigned bad_param_count = 9004;    // params.size() != placeholders
inline constexpr unsigned result_too_large = 9005;   // over max_result_rows or _bytes
}  // namespace errc

class Error : public std::runtime_error {
 public:
  Error(unsigned code, std::string msg);
  unsigned code() const { return code_; }

 private:
  unsigned code_;
};

// Counters since construction, for metrics.
struct PoolStats {
  uint64_t executed = 0;           // jobs that ran and succeeded
  uint64_t failed = 0;             // jobs that ran and failed (server or connection error)
  uint64_t queue_full = 0;         // rejected at once: queue at max_queue
  uint64_t deadline_exceeded = 0;  // caller resumed at its deadline
  uint64_t reconnects = 0;         // connections (re)opened after the first one per worker
  uint64_t retries = 0;            // jobs retried once under the rule above
};

// The statements of one transaction, run on the worker that owns the connection
// (Pool::transaction). Blocking; valid only inside the transaction's body.
class Transaction {
 public:
  virtual Result execute(const std::string& sql, const std::vector<Value>& params = {}) = 0;

 protected:
  ~Transaction() = default;
};

class Pool {
 public:
  Pool(boost::asio::any_io_executor ex, Options opts);  // starts the workers; connects lazily
  ~Pool();  // stops the workers, fails queued jobs (pool_stopped), joins
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs one prepared statement on a worker; the awaiting coroutine resumes on the pool's
  // executor. Throws Error. `deadline` covers queue wait and execution (see above).
  boost::asio::awaitable<Result> execute(
      std::string sql, std::vector<Value> params,
      std::chrono::milliseconds deadline = std::chrono::seconds(5));

  // Runs `body` on a worker inside one transaction: committed when it returns, rolled back
  // when it throws (its exception reaches the caller unchanged) or when the deadline passes
  // before the commit (errc::deadline_exceeded). A deadlock (1213) runs it once more. Once the
  // body has started, the caller hears the outcome itself, never a guess: the deadline is
  // checked before each statement and before the commit, so the answer may come up to one
  // statement (io_timeout) after it. The body runs on the worker thread and blocks
  // there: it must own what it captures and touch nothing of the event loop. Statements are
  // never retried inside a transaction; only opening the connection is, as for execute().
  // The value the body returns is handed to the awaiting coroutine.
  template <class Body>
  boost::asio::awaitable<std::invoke_result_t<Body&, Transaction&>> transaction(
      Body body, std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    using T = std::invoke_result_t<Body&, Transaction&>;
    auto out = std::make_shared<std::optional<T>>();
    auto op = run_transaction(
        [out, body = std::move(body)](Transaction& tx) mutable { out->emplace(body(tx)); },
        deadline);
    co_await std::move(op);
    co_return std::move(**out);
  }

  size_t queued() const;  // jobs waiting for a worker
  PoolStats stats() const;
  const Options& options() const;

 private:
  boost::asio::awaitable<void> run_transaction(std::function<void(Transaction&)> body,
                                               std::chrono::milliseconds deadline);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace appmsg::mysql
