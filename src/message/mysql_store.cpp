// MySQL backend: prepared statements on a pool per shard, per-key limit, batched cleanup.
#include "message/mysql_store.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>

#include "common/spawn.hpp"

namespace appmsg::message {

namespace asio = boost::asio;
using Params = std::vector<mysql::Value>;

namespace {
int64_t now_unix() {
  return static_cast<int64_t>(std::time(nullptr));
}
constexpr auto kDeadline = std::chrono::seconds(5);
}  // namespace

MysqlStore::MysqlStore(asio::any_io_executor ex, const MessageConfig& cfg)
    : ex_(ex), cfg_(cfg), clean_timer_(ex) {
  std::vector<std::pair<std::string, int>> weighted;
  for (auto& s : cfg.mysql_sources) {
    auto opts = mysql::parse_dsn(s.address);
    opts.connections = cfg.mysql_connections;
    names_.push_back(s.name);
    pools_.push_back(std::make_unique<mysql::Pool>(ex, opts));
    weighted.emplace_back(s.name, s.weight);
  }
  ring_ = std::make_unique<StorageRing>(std::move(weighted), cfg.mysql_ketama_base);
}

void MysqlStore::start() {
  spawn(ex_, clean_loop(), "mysql: expiry sweep");
}

void MysqlStore::stop() {
  stopped_ = true;
  clean_timer_.cancel();
}

std::string MysqlStore::shard_of(const std::string& key) const {
  return ring_->node_for(key);
}

mysql::Pool& MysqlStore::pool_for(const std::string& key) {
  const std::string& name = ring_->node_for(key);
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return *pools_[i];
  }
  throw std::logic_error("mysql ring names an unknown shard " + name);
}

asio::awaitable<void> MysqlStore::prepare() {
  for (auto& pool : pools_) {
    auto op = pool->execute(kCreateTable, {}, kDeadline);
    co_await std::move(op);
  }
}

asio::awaitable<std::vector<std::optional<std::string>>> MysqlStore::save(
    std::vector<StoredMessage> items) {
  std::vector<std::optional<std::string>> errors(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto& m = items[i];
    auto& pool = pool_for(m.key);
    auto started = std::chrono::steady_clock::now();
    try {
      Params insert{m.key, m.mid, m.expire_at, m.msg};
      auto op = pool.execute(
          "INSERT INTO private_msg(skey,mid,ttl,msg) VALUES(?,?,?,?) "
          "ON DUPLICATE KEY UPDATE ttl=VALUES(ttl), msg=VALUES(msg)",
          std::move(insert), kDeadline);
      co_await std::move(op);
      // Keep the newest `store` messages of the key: the subquery is the newest mid beyond
      // them (NULL while there are at most `store`), and it goes with everything older.
      Params trim{m.key, m.key, static_cast<int64_t>(cfg_.store)};
      auto top = pool.execute(
          "DELETE FROM private_msg WHERE skey=? AND mid <= (SELECT mid FROM (SELECT mid FROM "
          "private_msg WHERE skey=? ORDER BY mid DESC LIMIT 1 OFFSET ?) AS keep)",
          std::move(trim), kDeadline);
      co_await std::move(top);
    } catch (const std::exception& e) {
      errors[i] = std::string("mysql: ") + e.what();
    }
    report(ring_->node_for(m.key), started, !errors[i]);
  }
  co_return errors;
}

asio::awaitable<GetResult> MysqlStore::get(std::string key, int64_t after_mid, int limit) {
  Params params{key, after_mid, now_unix(), static_cast<int64_t>(limit + 1)};
  auto started = std::chrono::steady_clock::now();
  const std::string shard = ring_->node_for(key);
  auto op = pool_for(key).execute(
      "SELECT mid, msg FROM private_msg WHERE skey=? AND mid>? AND ttl>=? ORDER BY mid LIMIT ?",
      std::move(params), kDeadline);
  mysql::Result result;
  try {
    result = co_await std::move(op);
  } catch (...) {
    report(shard, started, false);
    throw;
  }
  report(shard, started, true);
  GetResult out;
  for (auto& row : result.rows) {
    if (static_cast<int>(out.messages.size()) == limit) {
      out.more = true;
      break;
    }
    if (!row[0] || !row[1]) continue;
    out.messages.emplace_back(std::stoll(*row[0]), *row[1]);
  }
  co_return out;
}

asio::awaitable<void> MysqlStore::remove(std::string key) {
  Params params{key};
  auto op =
      pool_for(key).execute("DELETE FROM private_msg WHERE skey=?", std::move(params), kDeadline);
  co_await std::move(op);
}

asio::awaitable<uint64_t> MysqlStore::clean_once() {
  auto alive = lifeline_.token();
  uint64_t total = 0;
  for (size_t s = 0; s < pools_.size(); ++s) {
    try {
      for (;;) {  // bounded batches, so that no statement holds locks for long
        Params params{now_unix()};
        auto op = pools_[s]->execute("DELETE FROM private_msg WHERE ttl<? LIMIT 1000",
                                     std::move(params), kDeadline);
        auto r = co_await std::move(op);
        if (!*alive) co_return total;
        total += r.affected_rows;
        if (r.affected_rows < 1000 || stopped_) break;
      }
    } catch (const std::exception& e) {
      if (!*alive) co_return total;
      spdlog::warn("mysql {}: cleanup failed: {}", names_[s], e.what());
    }
  }
  co_return total;
}

asio::awaitable<void> MysqlStore::clean_loop() {
  auto alive = lifeline_.token();
  while (!stopped_) {
    auto op = clean_once();
    uint64_t n = co_await std::move(op);
    if (!*alive) co_return;
    if (n) spdlog::info("mysql: removed {} expired messages", n);
    clean_timer_.expires_after(cfg_.mysql_clean);
    co_await clean_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!*alive) co_return;
  }
}

}  // namespace appmsg::message
