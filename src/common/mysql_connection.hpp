// One blocking Connector/C connection of the MySQL pool and its prepared statements (an LRU
// cache), with the retry rule and the row reader; used only by a pool worker thread
// (mysql_pool.cpp), never shared. Internal to the pool.
#pragma once

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mysql_pool.hpp"

namespace appmsg::mysql::detail {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kStatementCacheSize = 256;  // per connection; LRU beyond it
constexpr size_t kFirstColumnBuffer = 256;   // longer values are re-read with fetch_column

// Counters shared by the pool and its connections (PoolStats is a copy).
struct Counters {
  std::atomic<uint64_t> executed{0}, failed{0}, queue_full{0}, deadline_exceeded{0}, reconnects{0},
      retries{0};
};

// ---------------------------------------------------------------------------------------------
// One blocking connection with its prepared statements

// The server or the link went away: the connection is useless.
inline bool is_lost_connection(unsigned code) {
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
inline bool must_drop_connection(unsigned code) {
  return is_lost_connection(code) || (code >= 2000 && code < 3000) ||
         code == errc::result_too_large;
}

inline unsigned whole_seconds(milliseconds ms) {
  auto s = (ms.count() + 999) / 1000;
  return static_cast<unsigned>(s < 1 ? 1 : s);
}

inline Error mysql_error_of(MYSQL* m) {
  unsigned code = mysql_errno(m);
  return Error(code, "mysql error " + std::to_string(code) + " (" + mysql_sqlstate(m) +
                         "): " + mysql_error(m));
}

inline Error stmt_error_of(MYSQL_STMT* st) {
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

  // Transactions (Pool::transaction): begin() opens the connection if needed (retried once
  // like run(), nothing has run yet) and turns autocommit off; run_in_transaction() is never
  // retried; end() commits or rolls back and turns autocommit back on. Any failure that
  // leaves the connection in doubt drops it, which makes the server roll back.
  void begin(Clock::time_point due) {
    for (int attempt = 0;; ++attempt) {
      try {
        open_if_needed();
        if (mysql_autocommit(mysql_, 0) != 0) throw mysql_error_of(mysql_);
        return;
      } catch (const Error& e) {
        if (must_drop_connection(e.code())) close();
        if (!(attempt == 0 && Clock::now() < due && is_lost_connection(e.code()))) throw;
        ++counters_.retries;
      }
    }
  }

  Result run_in_transaction(const std::string& sql, const std::vector<Value>& params) {
    if (!mysql_) throw Error(CR_SERVER_LOST, "mysql: the transaction's connection was dropped");
    try {
      MYSQL_STMT* st = statement(sql);
      return execute(st, params, {opts_.max_result_rows, opts_.max_result_bytes});
    } catch (const Error& e) {
      if (must_drop_connection(e.code())) close();
      if (e.code() == ER_NEED_REPREPARE) forget(sql);
      throw;
    }
  }

  void end(bool commit) {
    if (!mysql_) {  // dropped: the server rolled back
      if (commit) throw Error(CR_SERVER_LOST, "mysql: the transaction's connection was dropped");
      return;
    }
    bool ok = commit ? mysql_commit(mysql_) == 0 : mysql_rollback(mysql_) == 0;
    Error failure = ok ? Error(0, "") : mysql_error_of(mysql_);
    if (ok && mysql_autocommit(mysql_, 1) != 0) {
      ok = false;
      failure = mysql_error_of(mysql_);
    }
    if (!ok) {
      close();  // in doubt: a fresh connection starts clean
      if (commit) throw failure;
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

}  // namespace appmsg::mysql::detail
