// MySQL connection pool: worker threads with blocking Connector/C connections, a bounded job
// queue, and completions posted back to the pool's Asio executor.
//
// Ownership: Pool owns Impl, which owns the queue and the worker threads; each worker owns its
// Connection (MYSQL* and its prepared statements). A call's state (Call: handler, deadline
// timer, done flag) is shared by the queued Job, the timer's wait operation and the posted
// completion; it never refers back to the pool, so a completion may run after ~Pool.
// Invariants: the handler is invoked exactly once, by whoever first flips Call::done (the
// worker's posted result or the deadline timer), always from the pool's executor; the timer is
// armed before the job becomes visible to workers, and touched afterwards only on the
// executor. Workers never hold the queue mutex while talking to the server.
#include "common/mysql_pool.hpp"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace appmsg::mysql {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Error::Error(unsigned code, std::string msg) : std::runtime_error(std::move(msg)), code_(code) {}

namespace {

constexpr size_t kStatementCacheSize = 256;  // per connection; LRU beyond it
constexpr size_t kFirstColumnBuffer = 256;   // longer values are re-read with fetch_column

// ---------------------------------------------------------------------------------------------
// DSN parsing (Go driver syntax)

[[noreturn]] void bad_dsn(std::string_view why) {
  throw std::invalid_argument("invalid MySQL DSN: " + std::string(why));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) bad_dsn("truncated %-escape");
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) bad_dsn("bad %-escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Go's time.ParseDuration for non-negative values: "300ms", "1.5s", "2m30s", "0".
milliseconds parse_go_duration(std::string_view s) {
  if (s == "0") return milliseconds(0);
  if (s.empty()) bad_dsn("empty duration");
  double total_ns = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) ++n;
    if (n == 0) bad_dsn("bad duration");
    double number = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + n, number);
    if (ec != std::errc() || ptr != s.data() + n) bad_dsn("bad duration");
    s.remove_prefix(n);
    static constexpr std::pair<std::string_view, double> kUnits[] = {
        {"ns", 1},   {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
        {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    bool matched = false;
    for (auto [unit, scale] : kUnits) {
      // "ms" comes before "m" in the table, so it wins.
      if (s.substr(0, unit.size()) == unit) {
        total_ns += number * scale;
        s.remove_prefix(unit.size());
        matched = true;
        break;
      }
    }
    if (!matched) bad_dsn("missing or unknown unit in duration");
  }
  return milliseconds(static_cast<int64_t>(total_ns / 1e6));
}

void parse_address(std::string_view addr, Options& o) {
  std::string_view host = addr, port;
  if (!addr.empty() && addr.front() == '[') {  // [v6]:port
    auto close = addr.find(']');
    if (close == std::string_view::npos) bad_dsn("missing ']' in address");
    host = addr.substr(1, close - 1);
    auto after = addr.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_dsn("garbage after ']' in address");
      port = after.substr(1);
    }
  } else if (auto colon = addr.rfind(':'); colon != std::string_view::npos) {
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (!host.empty()) o.host = std::string(host);
  if (!port.empty()) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
      bad_dsn("bad port");
    }
    o.port = p;
  }
}

// ---------------------------------------------------------------------------------------------
// Calls, jobs and completion

struct Counters {
  std::atomic<uint64_t> executed{0}, failed{0}, queue_full{0}, deadline_exceeded{0}, reconnects{0},
      retries{0};
};

using Handler = asio::any_completion_handler<void(std::exception_ptr, Result)>;

// One execute() call. Shared by the job, the deadline timer's wait and the posted completion.
struct Call {
  Call(asio::any_io_executor e, std::shared_ptr<Counters> c)
      : ex(std::move(e)), timer(ex), counters(std::move(c)) {}
  const asio::any_io_executor ex;  // the pool's executor: all completion logic runs here
  asio::steady_timer timer;        // the call's deadline
  std::shared_ptr<Counters> counters;
  std::atomic<bool> done{false};  // flipped by whoever completes the call, once
  Handler handler;
  asio::any_completion_executor handler_work;  // keeps the handler's executor busy meanwhile
};

// Runs on the pool's executor. Completes the call unless it was completed already; returns
// whether it did.
bool finish(const std::shared_ptr<Call>& call, std::exception_ptr error, Result result) {
  if (call->done.exchange(true)) return false;
  call->timer.cancel();
  auto work = std::move(call->handler_work);
  asio::dispatch(work, [h = std::move(call->handler), error, r = std::move(result)]() mutable {
    std::move(h)(error, std::move(r));
  });
  return true;
}

void post_finish(const std::shared_ptr<Call>& call, std::exception_ptr error, Result result) {
  asio::post(call->ex,
             [call, error, r = std::move(result)]() mutable { finish(call, error, std::move(r)); });
}

struct Job {
  std::string sql;
  std::vector<Value> params;
  Clock::time_point due;
  std::shared_ptr<Call> call;
};

// ---------------------------------------------------------------------------------------------
// One blocking connection with its prepared statements

// The server or the link went away: the connection is useless.
bool is_lost_connection(unsigned code) {
  switch (code) {
    case CR_CONNECTION_ERROR:      // 2002
    case CR_CONN_HOST_ERROR:       // 2003
    case CR_SERVER_GONE_ERROR:     // 2006
    case CR_SERVER_LOST:           // 2013
    case CR_SERVER_LOST_EXTENDED:  // 2055
    case ER_SERVER_SHUTDOWN:       // 1053
    case ER_CONNECTION_KILLED:     // 1927
      return true;
    default:
      return false;
  }
}

// Any client-side error may leave the protocol out of step: drop the connection to be safe.
bool must_drop_connection(unsigned code) {
  return is_lost_connection(code) || (code >= 2000 && code < 3000) ||
         code == errc::result_too_large;
}

unsigned whole_seconds(milliseconds ms) {
  auto s = (ms.count() + 999) / 1000;
  return static_cast<unsigned>(s < 1 ? 1 : s);
}

Error mysql_error_of(MYSQL* m) {
  unsigned code = mysql_errno(m);
  return Error(code, "mysql error " + std::to_string(code) + " (" + mysql_sqlstate(m) +
                         "): " + mysql_error(m));
}

Error stmt_error_of(MYSQL_STMT* st) {
  unsigned code = mysql_stmt_errno(st);
  return Error(code, "mysql error " + std::to_string(code) + " (" + mysql_stmt_sqlstate(st) +
                         "): " + mysql_stmt_error(st));
}

class Connection {
 public:
  Connection(const Options& opts, Counters& counters, int worker)
      : opts_(opts), counters_(counters), worker_(worker) {}
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The retry rule from the header: a lost connection before execution (connect, prepare) or a
  // re-prepare request is retried once; anything from execute on is not.
  Result run(const std::string& sql, const std::vector<Value>& params, Clock::time_point due) {
    for (int attempt = 0;; ++attempt) {
      bool executing = false;
      try {
        open_if_needed();
        MYSQL_STMT* st = statement(sql);
        executing = true;
        return execute(st, params, {opts_.max_result_rows, opts_.max_result_bytes});
      } catch (const Error& e) {
        bool lost = is_lost_connection(e.code());
        if (must_drop_connection(e.code())) {
          spdlog::warn("mysql pool worker {}: {} {}: {}", worker_,
                       mysql_ ? "dropping connection to" : "cannot connect to", where(), e.what());
          close();
        }
        bool reprepare = e.code() == ER_NEED_REPREPARE;
        if (reprepare) forget(sql);
        bool retry = attempt == 0 && Clock::now() < due && ((lost && !executing) || reprepare);
        if (!retry) throw;
        ++counters_.retries;
      }
    }
  }

  void close() {
    for (auto& [sql, st] : lru_) mysql_stmt_close(st);
    lru_.clear();
    index_.clear();
    if (mysql_) mysql_close(mysql_);
    mysql_ = nullptr;
  }

 private:
  std::string where() const {
    return opts_.unix_socket.empty() || opts_.host != "localhost"
               ? opts_.host + ":" + std::to_string(opts_.port)
               : opts_.unix_socket;
  }

  // True when the idle socket is readable or hung up: with no request outstanding that means
  // the server closed it or sent an error before closing (shutdown, KILL, wait_timeout).
  bool closed_by_server() const {
    int fd = static_cast<int>(mysql_get_socket(mysql_));
    if (fd < 0) return true;
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    int n = ::poll(&p, 1, 0);
    return n > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
  }

  void open_if_needed() {
    if (mysql_ && closed_by_server()) {
      spdlog::info("mysql pool worker {}: server closed the idle connection to {}; reconnecting",
                   worker_, where());
      close();
    }
    if (mysql_) return;
    MYSQL* m = mysql_init(nullptr);
    if (!m) throw Error(CR_OUT_OF_MEMORY, "mysql_init failed");
    unsigned connect_s = whole_seconds(opts_.connect_timeout);
    unsigned io_s = whole_seconds(opts_.io_timeout);
    my_bool no_reconnect = 0;  // a silent reconnect would invalidate our statements
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &io_s);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &io_s);
    mysql_options(m, MYSQL_OPT_RECONNECT, &no_reconnect);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const char* db = opts_.database.empty() ? nullptr : opts_.database.c_str();
    const char* sock = opts_.unix_socket.empty() ? nullptr : opts_.unix_socket.c_str();
    if (!mysql_real_connect(m, opts_.host.c_str(), opts_.user.c_str(), opts_.password.c_str(), db,
                            static_cast<unsigned>(opts_.port), sock, CLIENT_MULTI_RESULTS)) {
      Error e = mysql_error_of(m);
      mysql_close(m);
      throw e;
    }
    mysql_ = m;
    if (ever_connected_) {
      ++counters_.reconnects;
      spdlog::info("mysql pool worker {}: reconnected to {}", worker_, where());
    }
    ever_connected_ = true;
  }

  MYSQL_STMT* statement(const std::string& sql) {
    if (auto it = index_.find(sql); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    MYSQL_STMT* st = mysql_stmt_init(mysql_);
    if (!st) throw mysql_error_of(mysql_);
    if (mysql_stmt_prepare(st, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
      Error e = stmt_error_of(st);
      mysql_stmt_close(st);
      throw e;
    }
    lru_.emplace_front(sql, st);
    index_.emplace(sql, lru_.begin());
    if (lru_.size() > kStatementCacheSize) {
      mysql_stmt_close(lru_.back().second);
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return st;
  }

  void forget(const std::string& sql) {
    auto it = index_.find(sql);
    if (it == index_.end()) return;
    mysql_stmt_close(it->second->second);
    lru_.erase(it->second);
    index_.erase(it);
  }

  // What mysql_stmt_bind_param points into: it copies the MYSQL_BIND array but reads the
  // buffers and lengths only in mysql_stmt_execute, so this must live until then.
  struct ParamBinds {
    std::vector<MYSQL_BIND> binds;
    std::vector<unsigned long> lengths;
  };

  static void bind_params(MYSQL_STMT* st, const std::vector<Value>& params, ParamBinds& pb) {
    unsigned long expected = mysql_stmt_param_count(st);
    if (expected != params.size()) {
      throw Error(errc::bad_param_count, "statement has " + std::to_string(expected) +
                                             " placeholders but " + std::to_string(params.size()) +
                                             " params were given");
    }
    if (params.empty()) return;
    auto& binds = pb.binds;
    auto& lengths = pb.lengths;
    binds.resize(params.size());
    lengths.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      MYSQL_BIND& b = binds[i];
      std::memset(&b, 0, sizeof b);
      // The client library reads the buffers but its API is not const-correct.
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
              b.buffer_type = MYSQL_TYPE_NULL;
            } else if constexpr (std::is_same_v<T, int64_t>) {
              b.buffer_type = MYSQL_TYPE_LONGLONG;
              b.buffer = const_cast<int64_t*>(&v);
            } else if constexpr (std::is_same_v<T, double>) {
              b.buffer_type = MYSQL_TYPE_DOUBLE;
              b.buffer = const_cast<double*>(&v);
            } else {
              b.buffer_type = MYSQL_TYPE_STRING;
              b.buffer = const_cast<char*>(v.data());
              b.buffer_length = static_cast<unsigned long>(v.size());
              lengths[i] = static_cast<unsigned long>(v.size());
              b.length = &lengths[i];
            }
          },
          params[i]);
    }
    if (mysql_stmt_bind_param(st, binds.data()) != 0) throw stmt_error_of(st);
  }

  struct ResultBound {
    size_t rows, bytes;
  };

  static void read_rows(MYSQL_STMT* st, unsigned ncols, Result& res, ResultBound bound) {
    size_t bytes = 0;
    auto too_large = [&](const char* what) {
      return Error(errc::result_too_large,
                   std::string("result set over its bound of ") +
                       std::to_string(what[0] == 'r' ? bound.rows : bound.bytes) + " " + what);
    };
    std::vector<MYSQL_BIND> binds(ncols);
    std::vector<char> buffers(static_cast<size_t>(ncols) * kFirstColumnBuffer);
    std::vector<unsigned long> lengths(ncols);
    std::vector<my_bool> nulls(ncols), errors(ncols);
    for (unsigned i = 0; i < ncols; ++i) {
      MYSQL_BIND& b = binds[i];
      std::memset(&b, 0, sizeof b);
      b.buffer_type = MYSQL_TYPE_STRING;
      b.buffer = buffers.data() + static_cast<size_t>(i) * kFirstColumnBuffer;
      b.buffer_length = kFirstColumnBuffer;
      b.length = &lengths[i];
      b.is_null = &nulls[i];
      b.error = &errors[i];
    }
    if (mysql_stmt_bind_result(st, binds.data()) != 0) throw stmt_error_of(st);
    for (;;) {
      int rc = mysql_stmt_fetch(st);
      if (rc == MYSQL_NO_DATA) break;
      if (rc == 1) throw stmt_error_of(st);
      if (res.rows.size() >= bound.rows) throw too_large("rows");
      auto& row = res.rows.emplace_back(ncols);
      for (unsigned i = 0; i < ncols; ++i) {
        if (nulls[i]) continue;
        bytes += lengths[i];
        if (bytes > bound.bytes) throw too_large("bytes");
        if (lengths[i] <= kFirstColumnBuffer) {
          row[i].emplace(static_cast<const char*>(binds[i].buffer), lengths[i]);
          continue;
        }
        // Truncated: read the whole value into a buffer of its real length.
        std::string value(lengths[i], '\0');
        unsigned long got = 0;
        MYSQL_BIND whole;
        std::memset(&whole, 0, sizeof whole);
        whole.buffer_type = MYSQL_TYPE_STRING;
        whole.buffer = value.data();
        whole.buffer_length = static_cast<unsigned long>(value.size());
        whole.length = &got;
        if (mysql_stmt_fetch_column(st, &whole, i, 0) != 0) throw stmt_error_of(st);
        value.resize(std::min<unsigned long>(got, value.size()));
        row[i] = std::move(value);
      }
    }
  }

  static Result execute(MYSQL_STMT* st, const std::vector<Value>& params, ResultBound bound) {
    ParamBinds param_binds;
    bind_params(st, params, param_binds);
    if (mysql_stmt_execute(st) != 0) throw stmt_error_of(st);
    Result res;
    // Frees the statement's result set however we leave (it must be freed before the next
    // statement runs on this connection).
    struct FreeResult {
      MYSQL_STMT* st;
      ~FreeResult() { mysql_stmt_free_result(st); }
    } free_result{st};
    std::unique_ptr<MYSQL_RES, void (*)(MYSQL_RES*)> meta(mysql_stmt_result_metadata(st),
                                                          mysql_free_result);
    if (meta) {
      unsigned ncols = mysql_num_fields(meta.get());
      MYSQL_FIELD* fields = mysql_fetch_fields(meta.get());
      for (unsigned i = 0; i < ncols; ++i) res.columns.emplace_back(fields[i].name);
      read_rows(st, ncols, res, bound);
    } else {
      res.affected_rows = mysql_stmt_affected_rows(st);
      res.insert_id = mysql_stmt_insert_id(st);
    }
    // A CALL may return more result sets and a final status: only the first is kept, the
    // rest are read and discarded so the connection stays in step.
    while (mysql_stmt_more_results(st)) {
      mysql_stmt_free_result(st);
      int rc = mysql_stmt_next_result(st);
      if (rc > 0) throw stmt_error_of(st);
      if (rc < 0) break;
    }
    return res;
  }

  const Options& opts_;
  Counters& counters_;
  const int worker_;
  MYSQL* mysql_ = nullptr;
  bool ever_connected_ = false;
  std::list<std::pair<std::string, MYSQL_STMT*>> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<std::pair<std::string, MYSQL_STMT*>>::iterator> index_;
};

std::once_flag library_once;

}  // namespace

// ---------------------------------------------------------------------------------------------
// DSN

Options parse_dsn(std::string_view dsn) {
  Options o;
  if (dsn.empty()) return o;
  // As the Go driver: the database name follows the last '/' (the password or a socket path
  // may contain '/'; param values must escape it as %2F).
  auto slash = dsn.rfind('/');
  if (slash == std::string_view::npos) bad_dsn("missing '/' before the database name");
  std::string_view head = dsn.substr(0, slash);
  std::string_view tail = dsn.substr(slash + 1);

  // [user[:password]@][net[(addr)]]; the password may contain '@' and ':'.
  if (auto at = head.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = head.substr(0, at);
    head = head.substr(at + 1);
    auto colon = userinfo.find(':');
    o.user = std::string(userinfo.substr(0, colon));
    o.password = colon == std::string_view::npos ? "" : std::string(userinfo.substr(colon + 1));
  }
  std::string_view net = head, addr;
  if (auto open = head.find('('); open != std::string_view::npos) {
    if (head.back() != ')') bad_dsn("address must be enclosed in '(' ')'");
    net = head.substr(0, open);
    addr = head.substr(open + 1, head.size() - open - 2);
  }
  if (net.empty() || net == "tcp" || net == "tcp4" || net == "tcp6") {
    parse_address(addr, o);
  } else if (net == "unix") {
    o.host = "localhost";  // Connector/C uses the socket only for host "localhost"
    o.unix_socket = addr.empty() ? "/run/mysqld/mysqld.sock" : std::string(addr);
  } else {
    bad_dsn("unknown network '" + std::string(net) + "'");
  }

  std::string_view query;
  if (auto q = tail.find('?'); q != std::string_view::npos) {
    query = tail.substr(q + 1);
    tail = tail.substr(0, q);
  }
  o.database = unescape(tail, false);

  milliseconds read_timeout{-1}, write_timeout{-1};
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) bad_dsn("missing '=' in parameter");
    std::string_view key = pair.substr(0, eq);
    std::string value = unescape(pair.substr(eq + 1), true);
    if (key == "timeout") {
      o.connect_timeout = parse_go_duration(value);
    } else if (key == "readTimeout") {
      read_timeout = parse_go_duration(value);
    } else if (key == "writeTimeout") {
      write_timeout = parse_go_duration(value);
    }
    // Other Go driver params (charset, parseTime, loc, ...) do not apply here.
  }
  if (read_timeout.count() >= 0 || write_timeout.count() >= 0) {
    o.io_timeout = std::max(read_timeout, write_timeout);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Pool

struct Pool::Impl {
  Impl(asio::any_io_executor e, Options o)
      : ex(std::move(e)), opts(std::move(o)), counters(std::make_shared<Counters>()) {}

  void worker_main(int index) {
    mysql_thread_init();
    {
      Connection conn(opts, *counters, index);
      for (;;) {
        Job job;
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return stopping || !queue.empty(); });
          if (stopping) break;  // ~Pool fails whatever is still queued
          job = std::move(queue.front());
          queue.pop_front();
        }
        // The timer has completed (or will at once) a call whose deadline has passed.
        if (job.call->done.load() || Clock::now() >= job.due) continue;
        std::exception_ptr error;
        Result result;
        try {
          result = conn.run(job.sql, job.params, job.due);
          ++counters->executed;
        } catch (const Error&) {
          ++counters->failed;
          error = std::current_exception();
        } catch (const std::exception& e) {
          ++counters->failed;
          spdlog::error("mysql pool worker {}: unexpected exception: {}", index, e.what());
          error = std::make_exception_ptr(Error(0, e.what()));
        }
        post_finish(job.call, error, std::move(result));
      }
    }
    mysql_thread_end();
  }

  void submit(Handler handler, std::string sql, std::vector<Value> params, milliseconds deadline) {
    auto call = std::make_shared<Call>(ex, counters);
    auto handler_ex = asio::get_associated_executor(handler, ex);
    call->handler_work = asio::prefer(handler_ex, asio::execution::outstanding_work.tracked);
    call->handler.swap(handler);  // not operator=: Boost 1.81's move-assignment recurses
    auto due = Clock::now() + deadline;

    // Armed before the job is visible to the workers: afterwards only the executor touches it.
    call->timer.expires_at(due);
    call->timer.async_wait([call](boost::system::error_code ec) {
      if (ec || call->done.load()) return;
      if (finish(
              call,
              std::make_exception_ptr(Error(errc::deadline_exceeded, "mysql: deadline exceeded")),
              {})) {
        ++call->counters->deadline_exceeded;
      }
    });

    unsigned rejected = 0;
    {
      std::lock_guard lock(mu);
      if (stopping) {
        rejected = errc::pool_stopped;
      } else if (queue.size() >= opts.max_queue) {
        rejected = errc::queue_full;
      } else {
        queue.push_back(Job{std::move(sql), std::move(params), due, call});
      }
    }
    if (rejected == errc::queue_full) {
      ++counters->queue_full;
      post_finish(call,
                  std::make_exception_ptr(Error(
                      errc::queue_full,
                      "mysql: queue full (" + std::to_string(opts.max_queue) + " jobs waiting)")),
                  {});
    } else if (rejected != 0) {
      post_finish(call, std::make_exception_ptr(Error(errc::pool_stopped, "mysql: pool stopped")),
                  {});
    } else {
      cv.notify_one();
    }
  }

  const asio::any_io_executor ex;
  const Options opts;
  const std::shared_ptr<Counters> counters;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> queue;  // guarded by mu; at most opts.max_queue
  bool stopping = false;  // guarded by mu
  std::vector<std::thread> workers;
};

Pool::Pool(asio::any_io_executor ex, Options opts) {
  if (opts.connections < 1) throw std::invalid_argument("mysql pool: connections must be >= 1");
  if (opts.max_queue < 1) throw std::invalid_argument("mysql pool: max_queue must be >= 1");
  std::call_once(library_once, [] {
    if (mysql_library_init(0, nullptr, nullptr) != 0) {
      throw std::runtime_error("mysql_library_init failed");
    }
  });
  impl_ = std::make_unique<Impl>(std::move(ex), std::move(opts));
  impl_->workers.reserve(static_cast<size_t>(impl_->opts.connections));
  for (int i = 0; i < impl_->opts.connections; ++i) {
    impl_->workers.emplace_back([impl = impl_.get(), i] { impl->worker_main(i); });
  }
}

Pool::~Pool() {
  std::deque<Job> orphans;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    orphans.swap(impl_->queue);
  }
  impl_->cv.notify_all();
  for (auto& job : orphans) {
    post_finish(job.call, std::make_exception_ptr(Error(errc::pool_stopped, "mysql: pool stopped")),
                {});
  }
  for (auto& t : impl_->workers) t.join();
}

asio::awaitable<Result> Pool::execute(std::string sql, std::vector<Value> params,
                                      milliseconds deadline) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Result)>(
      [impl = impl_.get()](auto handler, std::string sql, std::vector<Value> params,
                           milliseconds deadline) {
        impl->submit(Handler(std::move(handler)), std::move(sql), std::move(params), deadline);
      },
      asio::use_awaitable, std::move(sql), std::move(params), deadline);
}

size_t Pool::queued() const {
  std::lock_guard lock(impl_->mu);
  return impl_->queue.size();
}

PoolStats Pool::stats() const {
  const Counters& c = *impl_->counters;
  return PoolStats{c.executed.load(),          c.failed.load(),     c.queue_full.load(),
                   c.deadline_exceeded.load(), c.reconnects.load(), c.retries.load()};
}

const Options& Pool::options() const {
  return impl_->opts;
}

}  // namespace appmsg::mysql
