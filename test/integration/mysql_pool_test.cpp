// Integration tests of appmsg::mysql::Pool against a real MariaDB server (one per suite, on a
// free loopback port), plus parse_dsn tests that need no server.
#include "common/mysql_pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/servers.hpp"

namespace appmsg::mysql {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- parse_dsn (no server) ----

TEST(ParseDsn, tcp_form_with_params) {
  auto o = parse_dsn(
      "push:s3cret@tcp(10.0.0.7:3307)/appmsg?charset=utf8mb4&timeout=2s"
      "&readTimeout=1500ms&writeTimeout=3s&parseTime=true");
  EXPECT_EQ(o.user, "push");
  EXPECT_EQ(o.password, "s3cret");
  EXPECT_EQ(o.host, "10.0.0.7");
  EXPECT_EQ(o.port, 3307);
  EXPECT_EQ(o.database, "appmsg");
  EXPECT_EQ(o.connect_timeout, 2000ms);
  EXPECT_EQ(o.io_timeout, 3000ms);  // the larger of read and write
}

TEST(ParseDsn, address_without_network_and_defaults) {
  auto o = parse_dsn("root:pw@(db.local)/push");
  EXPECT_EQ(o.host, "db.local");
  EXPECT_EQ(o.port, 3306);
  EXPECT_EQ(o.database, "push");
  auto d = parse_dsn("/only_db");
  EXPECT_EQ(d.user, "root");
  EXPECT_EQ(d.host, "127.0.0.1");
  EXPECT_EQ(d.database, "only_db");
  EXPECT_EQ(d.connect_timeout, 3000ms);
}

TEST(ParseDsn, password_may_contain_at_colon_and_slash) {
  auto o = parse_dsn("u:p@ss:w/rd@tcp([::1]:3310)/db");
  EXPECT_EQ(o.user, "u");
  EXPECT_EQ(o.password, "p@ss:w/rd");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 3310);
  EXPECT_EQ(o.database, "db");
}

TEST(ParseDsn, unix_socket_and_go_durations) {
  auto o = parse_dsn("app@unix(/run/mysqld/mysqld.sock)/msgs?timeout=1m30s&readTimeout=0.5s");
  EXPECT_EQ(o.user, "app");
  EXPECT_EQ(o.password, "");
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.unix_socket, "/run/mysqld/mysqld.sock");
  EXPECT_EQ(o.connect_timeout, 90000ms);
  EXPECT_EQ(o.io_timeout, 500ms);
}

TEST(ParseDsn, malformed_input_throws) {
  EXPECT_THROW(parse_dsn("root@tcp(127.0.0.1:3306)"), std::invalid_argument);    // no '/'
  EXPECT_THROW(parse_dsn("root@tcp(127.0.0.1:3306/db"), std::invalid_argument);  // no ')'
  EXPECT_THROW(parse_dsn("root@tcp(127.0.0.1:99999)/db"), std::invalid_argument);
  EXPECT_THROW(parse_dsn("root@tcp(127.0.0.1:x)/db"), std::invalid_argument);
  EXPECT_THROW(parse_dsn("root@udp(127.0.0.1)/db"), std::invalid_argument);
  EXPECT_THROW(parse_dsn("root@tcp(h)/db?timeout=5"), std::invalid_argument);  // no unit
  EXPECT_THROW(parse_dsn("root@tcp(h)/db?timeout"), std::invalid_argument);
  EXPECT_THROW(parse_dsn("root@tcp(h)/db%zz"), std::invalid_argument);
}

// ---- Pool against MariaDB ----

class MySqlPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new test::MariaDbServer();
    server_->start();
    asio::io_context ioc;
    Options o;
    o.port = server_->port();
    Pool pool(ioc.get_executor(), o);
    auto fut = asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          co_await pool.execute("CREATE DATABASE IF NOT EXISTS pooltest CHARACTER SET utf8mb4", {});
        },
        asio::use_future);
    ioc.run();
    fut.get();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static Options options(int connections = 4) {
    Options o;
    o.port = server_->port();
    o.database = "pooltest";
    o.connections = connections;
    o.connect_timeout = 2000ms;
    o.io_timeout = 5000ms;
    return o;
  }

  // Runs one coroutine to completion on ioc_ and returns its value (or rethrows).
  template <typename T>
  T run(asio::awaitable<T> a) {
    auto fut = asio::co_spawn(ioc_, std::move(a), asio::use_future);
    ioc_.restart();
    ioc_.run();
    return fut.get();
  }

  Result exec(Pool& pool, std::string sql, std::vector<Value> params = {},
              std::chrono::milliseconds deadline = 5s) {
    return run(pool.execute(std::move(sql), std::move(params), deadline));
  }

  // The Error code a call ends with, 0 if it succeeds.
  unsigned error_of(Pool& pool, std::string sql, std::vector<Value> params = {},
                    std::chrono::milliseconds deadline = 5s) {
    return run([](asio::awaitable<Result> call) -> asio::awaitable<unsigned> {
      try {
        co_await std::move(call);
        co_return 0u;
      } catch (const Error& e) {
        co_return e.code();
      }
    }(pool.execute(std::move(sql), std::move(params), deadline)));
  }

  void reset_table(Pool& pool, const std::string& table) {
    exec(pool, "DROP TABLE IF EXISTS " + table);
    exec(pool, "CREATE TABLE " + table +
                   " (id BIGINT AUTO_INCREMENT PRIMARY KEY, n BIGINT NULL, s VARCHAR(255) NULL,"
                   " t MEDIUMTEXT NULL, d DOUBLE NULL, UNIQUE KEY uniq_s (s))"
                   " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  }

  asio::io_context ioc_;
  static test::MariaDbServer* server_;
};

test::MariaDbServer* MySqlPoolTest::server_ = nullptr;

TEST_F(MySqlPoolTest, insert_with_params_and_select_back) {
  Pool pool(ioc_.get_executor(), options());
  reset_table(pool, "roundtrip");
  const std::string quoted = "it's \"quoted\" \\ back`tick; ünïcødé ✓ 😀 中文";
  auto ins = exec(pool, "INSERT INTO roundtrip (n, s, t, d) VALUES (?, ?, ?, ?)",
                  {int64_t{42}, quoted, nullptr, 3.25});
  EXPECT_EQ(ins.affected_rows, 1u);
  EXPECT_GT(ins.insert_id, 0u);
  auto ins2 = exec(pool, "INSERT INTO roundtrip (n, s, t, d) VALUES (?, ?, ?, ?)",
                   {int64_t{-9223372036854775807 - 1}, nullptr, std::string(), -0.5});
  EXPECT_EQ(ins2.insert_id, ins.insert_id + 1);

  auto sel = exec(pool, "SELECT id, n, s, t, d FROM roundtrip WHERE id IN (?, ?) ORDER BY id",
                  {static_cast<int64_t>(ins.insert_id), static_cast<int64_t>(ins2.insert_id)});
  ASSERT_EQ(sel.columns, (std::vector<std::string>{"id", "n", "s", "t", "d"}));
  ASSERT_EQ(sel.rows.size(), 2u);
  const auto& r1 = sel.rows[0];
  EXPECT_EQ(r1[0], std::to_string(ins.insert_id));
  EXPECT_EQ(r1[1], "42");
  EXPECT_EQ(r1[2], quoted);
  EXPECT_EQ(r1[3], std::nullopt);
  EXPECT_EQ(r1[4], "3.25");
  const auto& r2 = sel.rows[1];
  EXPECT_EQ(r2[1], "-9223372036854775808");
  EXPECT_EQ(r2[2], std::nullopt);
  EXPECT_EQ(r2[3], "");  // empty string is not NULL
  EXPECT_EQ(r2[4], "-0.5");

  // A parameter that is a SQL injection attempt is just data.
  exec(pool, "INSERT INTO roundtrip (s) VALUES (?)",
       {std::string("x'); DROP TABLE roundtrip; --")});
  auto count = exec(pool, "SELECT COUNT(*) AS c FROM roundtrip");
  EXPECT_EQ(count.columns, std::vector<std::string>{"c"});
  EXPECT_EQ(count.rows.at(0).at(0), "3");
}

TEST_F(MySqlPoolTest, long_values_are_read_whole) {
  Pool pool(ioc_.get_executor(), options(1));
  reset_table(pool, "longvals");
  std::vector<std::string> values = {std::string(255, 'a'), std::string(256, 'b'),
                                     std::string(257, 'c'), std::string(100000, 'd')};
  values.push_back(std::string(3000, 'x') + "é😀");
  for (const auto& v : values) {
    exec(pool, "INSERT INTO longvals (t) VALUES (?)", {v});
  }
  auto sel = exec(pool, "SELECT t, n FROM longvals ORDER BY id");
  ASSERT_EQ(sel.rows.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(sel.rows[i][0], values[i]) << "row " << i;
    EXPECT_EQ(sel.rows[i][1], std::nullopt);
  }
}

// A result set is bounded in rows and in value bytes: exactly at a bound it is read, one over
// fails with result_too_large, and the pool goes on serving (the connection is replaced).
TEST_F(MySqlPoolTest, result_sets_are_bounded_in_rows_and_bytes) {
  Options o = options(1);
  o.max_result_rows = 3;
  o.max_result_bytes = 30;
  Pool pool(ioc_.get_executor(), o);
  reset_table(pool, "bounded");
  for (int i = 0; i < 4; ++i) {
    exec(pool, "INSERT INTO bounded (s) VALUES (?)", {std::string(9, 'a' + i)});
  }
  EXPECT_EQ(exec(pool, "SELECT s FROM bounded ORDER BY id LIMIT 3").rows.size(), 3u);
  EXPECT_EQ(error_of(pool, "SELECT s FROM bounded ORDER BY id"), errc::result_too_large);
  EXPECT_EQ(exec(pool, "SELECT COUNT(*) FROM bounded").rows.at(0).at(0), "4")
      << "serves again after a result over its bound";
  // The first three values: 12 + 9 + 9 = 30 bytes, exactly the bound; then 13 + 9 + 9 = 31.
  exec(pool, "UPDATE bounded SET s = ? WHERE s = ?", {std::string(12, 'z'), std::string(9, 'a')});
  EXPECT_EQ(exec(pool, "SELECT s FROM bounded ORDER BY id LIMIT 3").rows.size(), 3u);
  exec(pool, "UPDATE bounded SET s = ? WHERE s = ?", {std::string(13, 'y'), std::string(12, 'z')});
  EXPECT_EQ(error_of(pool, "SELECT s FROM bounded ORDER BY id LIMIT 3"), errc::result_too_large);
}

TEST_F(MySqlPoolTest, update_reports_affected_rows) {
  Pool pool(ioc_.get_executor(), options());
  reset_table(pool, "upd");
  for (int64_t i = 0; i < 5; ++i) exec(pool, "INSERT INTO upd (n) VALUES (?)", {i});
  auto up = exec(pool, "UPDATE upd SET d = ? WHERE n >= ?", {1.5, int64_t{2}});
  EXPECT_EQ(up.affected_rows, 3u);
  EXPECT_EQ(up.insert_id, 0u);
  auto none = exec(pool, "DELETE FROM upd WHERE n > ?", {int64_t{100}});
  EXPECT_EQ(none.affected_rows, 0u);
}

// One coroutine of the concurrency test: inserts a row and reads it back by its id.
asio::awaitable<bool> insert_and_read_back(Pool& pool, int i, size_t& max_queued) {
  std::string s = "value-" + std::to_string(i) + "-\u00fc";
  std::vector<Value> params{int64_t{i}, s};
  auto ins =
      co_await pool.execute("INSERT INTO concurrent (n, s) VALUES (?, ?)", std::move(params), 10s);
  max_queued = std::max(max_queued, pool.queued());
  std::vector<Value> id{static_cast<int64_t>(ins.insert_id)};
  auto sel = co_await pool.execute("SELECT n, s FROM concurrent WHERE id = ?", std::move(id), 10s);
  co_return ins.affected_rows == 1 && sel.rows.size() == 1 && sel.rows[0][0] == std::to_string(i) &&
      sel.rows[0][1] == s;
}

TEST_F(MySqlPoolTest, many_concurrent_executes_all_succeed) {
  Pool pool(ioc_.get_executor(), options(4));
  reset_table(pool, "concurrent");
  constexpr int kCoroutines = 200;
  int ok = 0, bad = 0;
  size_t max_queued = 0;
  for (int i = 0; i < kCoroutines; ++i) {
    asio::co_spawn(ioc_, insert_and_read_back(pool, i, max_queued),
                   [&](std::exception_ptr e, bool right) { (!e && right) ? ++ok : ++bad; });
  }
  ioc_.restart();
  ioc_.run();
  EXPECT_EQ(ok, kCoroutines);
  EXPECT_EQ(bad, 0);
  EXPECT_GT(max_queued, 0u);  // the 4 workers really were oversubscribed
  auto count = exec(pool, "SELECT COUNT(DISTINCT s) FROM concurrent");
  EXPECT_EQ(count.rows.at(0).at(0), std::to_string(kCoroutines));
  EXPECT_EQ(pool.queued(), 0u);
  EXPECT_GE(pool.stats().executed, 2u * kCoroutines);
}

TEST_F(MySqlPoolTest, sql_errors_carry_the_server_code) {
  Pool pool(ioc_.get_executor(), options(1));
  reset_table(pool, "errs");
  EXPECT_EQ(error_of(pool, "SELEC 1"), 1064u);                      // ER_PARSE_ERROR
  EXPECT_EQ(error_of(pool, "SELECT * FROM no_such_table"), 1146u);  // ER_NO_SUCH_TABLE
  exec(pool, "INSERT INTO errs (s) VALUES (?)", {std::string("dup")});
  EXPECT_EQ(error_of(pool, "INSERT INTO errs (s) VALUES (?)", {std::string("dup")}),
            1062u);  // ER_DUP_ENTRY
  EXPECT_EQ(error_of(pool, "SELECT ?", {}), errc::bad_param_count);
  EXPECT_EQ(error_of(pool, "SELECT 1", {int64_t{1}}), errc::bad_param_count);
  try {
    exec(pool, "SELECT * FROM no_such_table");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
  }
  // The connection is still good after errors.
  EXPECT_EQ(exec(pool, "SELECT ? + 1", {int64_t{41}}).rows.at(0).at(0), "42");
  EXPECT_EQ(pool.stats().reconnects, 0u);
}

// A transaction commits every statement when its body returns, and its value reaches the
// caller; a body that throws (its own exception or a server error) leaves nothing behind.
TEST_F(MySqlPoolTest, transaction_commits_or_rolls_back_whole) {
  Pool pool(ioc_.get_executor(), options(1));
  reset_table(pool, "txn");
  auto ids = run(pool.transaction([](Transaction& tx) {
    auto a = tx.execute("INSERT INTO txn (s) VALUES (?)", {std::string("a")});
    auto b = tx.execute("INSERT INTO txn (s) VALUES (?)", {std::string("b")});
    return std::vector<uint64_t>{a.insert_id, b.insert_id};
  }));
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], ids[0] + 1);
  EXPECT_EQ(exec(pool, "SELECT COUNT(*) FROM txn").rows.at(0).at(0), "2");

  struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  EXPECT_THROW(run(pool.transaction([](Transaction& tx) -> int {
                 tx.execute("INSERT INTO txn (s) VALUES (?)", {std::string("c")});
                 throw Refused("not allowed");
               })),
               Refused);
  try {
    run(pool.transaction([](Transaction& tx) {
      tx.execute("INSERT INTO txn (s) VALUES (?)", {std::string("d")});
      tx.execute("INSERT INTO txn (s) VALUES (?)", {std::string("a")});  // duplicate key
      return 0;
    }));
    ADD_FAILURE() << "expected the duplicate key error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), 1062u);
  }
  auto rows = exec(pool, "SELECT s FROM txn ORDER BY s");
  ASSERT_EQ(rows.rows.size(), 2u) << "rolled back: neither 'c' nor 'd' stayed";
  EXPECT_EQ(rows.rows[0][0], "a");
  EXPECT_EQ(rows.rows[1][0], "b");
  // The same connection (one worker) is back in autocommit: a plain insert persists.
  exec(pool, "INSERT INTO txn (s) VALUES (?)", {std::string("e")});
  Pool other(ioc_.get_executor(), options(1));
  EXPECT_EQ(exec(other, "SELECT COUNT(*) FROM txn").rows.at(0).at(0), "3");
}

// A transaction whose deadline passes before its commit is rolled back, and the caller hears
// deadline_exceeded.
TEST_F(MySqlPoolTest, transaction_past_its_deadline_is_rolled_back) {
  Pool pool(ioc_.get_executor(), options(1));
  reset_table(pool, "txdl");
  try {
    run(pool.transaction(
        [](Transaction& tx) {
          tx.execute("INSERT INTO txdl (s) VALUES (?)", {std::string("late")});
          tx.execute("SELECT SLEEP(0.4)");
          return 0;
        },
        200ms));
    ADD_FAILURE() << "expected deadline_exceeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), errc::deadline_exceeded);
  }
  // The worker finishes (rolls back) before it takes the next job.
  EXPECT_EQ(exec(pool, "SELECT COUNT(*) FROM txdl").rows.at(0).at(0), "0");
}

TEST_F(MySqlPoolTest, queue_overflow_fails_fast) {
  Options o = options(1);
  o.max_queue = 1;
  Pool pool(ioc_.get_executor(), o);
  exec(pool, "SELECT 1");  // connect first so the timings below are about the queue only

  unsigned slow_code = 99, queued_code = 99, overflow_code = 99;
  Clock::duration overflow_after{};
  auto started = Clock::now();
  auto code_of = [&pool](std::string sql, unsigned& out) -> asio::awaitable<void> {
    try {
      co_await pool.execute(std::move(sql), {}, 10s);
      out = 0;
    } catch (const Error& e) {
      out = e.code();
    }
  };
  // The worker takes the slow job; then one job fits in the queue and the next does not.
  asio::co_spawn(ioc_, code_of("SELECT SLEEP(1)", slow_code), asio::use_future);
  ioc_.restart();
  ioc_.poll();
  auto wait_until = Clock::now() + 5s;
  while (pool.queued() != 0 && Clock::now() < wait_until) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(pool.queued(), 0u);
  asio::co_spawn(ioc_, code_of("SELECT 2", queued_code), asio::use_future);
  asio::co_spawn(
      ioc_,
      [&]() -> asio::awaitable<void> {
        co_await code_of("SELECT 3", overflow_code);
        overflow_after = Clock::now() - started;
      },
      asio::use_future);
  ioc_.run();
  EXPECT_EQ(slow_code, 0u);
  EXPECT_EQ(queued_code, 0u);
  EXPECT_EQ(overflow_code, errc::queue_full);
  EXPECT_LT(overflow_after, 500ms);  // did not wait for the SLEEP(1)
  EXPECT_EQ(pool.stats().queue_full, 1u);
}

TEST_F(MySqlPoolTest, deadline_expiring_while_queued_fails_without_running) {
  Pool pool(ioc_.get_executor(), options(1));
  reset_table(pool, "deadline");
  unsigned slow_code = 99, late_code = 99;
  Clock::duration late_after{};
  auto started = Clock::now();
  asio::co_spawn(
      ioc_,
      [&]() -> asio::awaitable<void> {
        co_await pool.execute("SELECT SLEEP(1)", {}, 10s);
        slow_code = 0;
      },
      asio::use_future);
  asio::co_spawn(
      ioc_,
      [&]() -> asio::awaitable<void> {
        try {
          // (Params built outside the co_await expression: g++ 12 rejects an initializer
          // list there, "array used as initializer".)
          std::vector<Value> params{std::string("must not run")};
          co_await pool.execute("INSERT INTO deadline (s) VALUES (?)", std::move(params), 200ms);
          late_code = 0;
        } catch (const Error& e) {
          late_code = e.code();
        }
        late_after = Clock::now() - started;
      },
      asio::use_future);
  ioc_.restart();
  ioc_.run();
  EXPECT_EQ(slow_code, 0u);
  EXPECT_EQ(late_code, errc::deadline_exceeded);
  EXPECT_GE(late_after, 190ms);
  EXPECT_LT(late_after, 900ms);  // resumed at its deadline, not after the SLEEP(1)
  // The worker skipped the expired job: the row was never inserted.
  EXPECT_EQ(exec(pool, "SELECT COUNT(*) FROM deadline").rows.at(0).at(0), "0");
  EXPECT_EQ(pool.stats().deadline_exceeded, 1u);
}

TEST_F(MySqlPoolTest, deadline_expiring_during_execution_resumes_the_caller) {
  Pool pool(ioc_.get_executor(), options(1));
  exec(pool, "SELECT 1");
  auto started = Clock::now();
  EXPECT_EQ(error_of(pool, "SELECT SLEEP(2)", {}, 300ms), errc::deadline_exceeded);
  EXPECT_LT(Clock::now() - started, 1500ms);
  // The statement finishes on its worker; the pool goes on working afterwards.
  EXPECT_EQ(exec(pool, "SELECT 7").rows.at(0).at(0), "7");
}

TEST_F(MySqlPoolTest, statement_cache_is_bounded) {
  Pool pool(ioc_.get_executor(), options(1));
  for (int i = 0; i < 300; ++i) {
    auto r = exec(pool, "SELECT ? + " + std::to_string(i), {int64_t{1000}});
    ASSERT_EQ(r.rows.at(0).at(0), std::to_string(1000 + i));
  }
  // Earlier statements were evicted (and closed on the server); the first text still works.
  EXPECT_EQ(exec(pool, "SELECT ? + 0", {int64_t{5}}).rows.at(0).at(0), "5");
  auto status = exec(pool, "SHOW SESSION STATUS LIKE 'Com_stmt_close'");
  ASSERT_EQ(status.rows.size(), 1u);
  EXPECT_GE(std::stoi(*status.rows[0][1]), 300 - 256);
  auto open = exec(pool, "SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'");
  EXPECT_LE(std::stoi(*open.rows.at(0).at(1)), 256 + 2);
}

TEST_F(MySqlPoolTest, destroying_the_pool_fails_queued_jobs) {
  auto pool = std::make_unique<Pool>(ioc_.get_executor(), options(1));
  exec(*pool, "SELECT 1");
  std::vector<unsigned> codes(3, 99);
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        ioc_,
        [&pool, &codes, i]() -> asio::awaitable<void> {
          try {
            co_await pool->execute(i == 0 ? "SELECT SLEEP(0.5)" : "SELECT 1", {}, 10s);
            codes[i] = 0;
          } catch (const Error& e) {
            codes[i] = e.code();
          }
        },
        asio::use_future);
  }
  ioc_.restart();
  auto wait_until = Clock::now() + 5s;
  while (pool->queued() != 2 && Clock::now() < wait_until) {
    ioc_.poll();
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(pool->queued(), 2u);
  pool.reset();  // joins after the running SLEEP finishes
  ioc_.run();
  EXPECT_EQ(codes[0], 0u);
  EXPECT_EQ(codes[1], errc::pool_stopped);
  EXPECT_EQ(codes[2], errc::pool_stopped);
}

// The documented rule: a worker notices that the server closed its idle connection before it
// sends anything, and reconnects; so the first call after a restart succeeds.
TEST_F(MySqlPoolTest, reconnects_after_server_restart) {
  Pool pool(ioc_.get_executor(), options(4));
  // Open all four connections: each SLEEP holds a worker.
  auto burst = [&](const char* sql) {
    int ok = 0;
    for (int i = 0; i < 8; ++i) {
      asio::co_spawn(
          ioc_, [&]() -> asio::awaitable<void> { co_await pool.execute(sql, {}, 10s); },
          [&](std::exception_ptr e) { ok += e ? 0 : 1; });
    }
    ioc_.restart();
    ioc_.run();
    return ok;
  };
  ASSERT_EQ(burst("SELECT SLEEP(0.2)"), 8);
  auto before = pool.stats();

  server_->restart();

  EXPECT_EQ(error_of(pool, "SELECT 1"), 0u);  // the very next call succeeds
  EXPECT_EQ(burst("SELECT SLEEP(0.1)"), 8);   // and so does every worker
  auto after = pool.stats();
  EXPECT_GE(after.reconnects - before.reconnects, 1u);
  EXPECT_EQ(after.failed, before.failed);
}

TEST_F(MySqlPoolTest, fails_while_server_down_then_recovers) {
  Pool pool(ioc_.get_executor(), options(1));
  exec(pool, "SELECT 1");
  server_->stop();
  unsigned code = error_of(pool, "SELECT 1");
  EXPECT_TRUE(code == 2002 || code == 2003 || code == 2006 || code == 2013) << code;
  server_->start();
  EXPECT_EQ(error_of(pool, "SELECT 1"), 0u);
}

}  // namespace
}  // namespace appmsg::mysql
