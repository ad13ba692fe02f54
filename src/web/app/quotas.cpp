// The quota map, the usage sums and the batched counter writes.
#include "web/app/quotas.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>

#include "common/spawn.hpp"
#include "web/app/sql_row.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

// "YYYY/MM/DD HH:MM:SS" in local time, still in the future.
bool not_expired(const std::string& value) {
  std::tm tm{};
  const char* end = strptime(value.c_str(), "%Y/%m/%d %H:%M:%S", &tm);
  if (!end || *end) return false;
  tm.tm_isdst = -1;
  std::time_t at = std::mktime(&tm);
  return at != -1 && at > std::time(nullptr);
}

std::optional<int64_t> integer(const std::string& s) {
  if (s.empty()) return std::nullopt;
  size_t used = 0;
  try {
    int64_t v = std::stoll(s, &used);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

bool Quotas::valid_value(const std::string& type, const std::string& value) {
  if (type == "expire") {
    std::tm tm{};
    const char* end = strptime(value.c_str(), "%Y/%m/%d %H:%M:%S", &tm);
    return end && !*end;
  }
  if (type == "api_cnt" || type == "push_cnt") {
    auto n = integer(value);
    return n && *n >= -1;
  }
  return false;
}

Quotas::Quotas(asio::any_io_executor ex, mysql::Pool& db, std::chrono::seconds reload,
               std::chrono::milliseconds flush_every)
    : ex_(ex), db_(db), reload_(reload), flush_every_(flush_every), timer_(ex) {}

Quotas::~Quotas() = default;

asio::awaitable<void> Quotas::load() {
  auto alive = lifeline_.token();
  set_while_loading_.clear();  // set() records here what the rows read below may predate
  auto q = db_.execute(
      "SELECT IFNULL(customer_id, ''), IFNULL(tenant_id, ''), IFNULL(api_name, ''), "
      "IFNULL(type, ''), IFNULL(value, '') FROM quota",
      {});
  auto quota_rows = co_await std::move(q);
  if (!*alive) co_return;
  auto a = db_.execute(
      "SELECT customer_id, tenant_id, api_name, SUM(count) FROM api_call "
      "GROUP BY customer_id, tenant_id, api_name",
      {});
  auto api_rows = co_await std::move(a);
  if (!*alive) co_return;
  auto p = db_.execute(
      "SELECT customer_id, tenant_id, SUM(count) FROM push_cnt GROUP BY customer_id, tenant_id",
      {});
  auto push_rows = co_await std::move(p);
  if (!*alive) co_return;
  std::map<Key4, std::string> quota;
  for (auto& r : quota_rows.rows) {
    quota[{col(r, 0), col(r, 1), col(r, 2), col(r, 3)}] = col(r, 4);
  }
  decltype(used_) used;
  for (auto& r : api_rows.rows) {
    used[{col(r, 0), col(r, 1), col(r, 2)}] += integer(col(r, 3)).value_or(0);
  }
  for (auto& r : push_rows.rows) used[{col(r, 0), col(r, 1), ""}] += integer(col(r, 2)).value_or(0);
  // Counted here but not yet written: on top of what the database has.
  for (auto& [k, n] : pending_api_) used[{std::get<0>(k), std::get<1>(k), std::get<4>(k)}] += n;
  for (auto& [k, n] : pending_push_) used[{std::get<0>(k), std::get<1>(k), ""}] += n;
  for (auto& [k, v] : set_while_loading_) quota[k] = v;
  set_while_loading_.clear();
  quota_ = std::move(quota);
  used_ = std::move(used);
}

void Quotas::start() {
  spawn(ex_, loop(lifeline_.token()), "quotas");
}

void Quotas::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> Quotas::loop(std::shared_ptr<const bool> alive) {
  auto next_reload = std::chrono::steady_clock::now() + reload_;
  while (*alive && !stopped_) {
    timer_.expires_after(flush_every_);
    auto wait = timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    co_await std::move(wait);
    if (!*alive || stopped_) co_return;
    auto f = flush();
    co_await std::move(f);
    if (!*alive) co_return;
    if (std::chrono::steady_clock::now() < next_reload) continue;
    next_reload = std::chrono::steady_clock::now() + reload_;
    try {
      auto l = load();
      co_await std::move(l);
    } catch (const std::exception& e) {
      if (!*alive) co_return;
      ++errors_;
      spdlog::warn("quotas: reload failed, keeping the loaded quotas: {}", e.what());
    }
  }
}

asio::awaitable<void> Quotas::flush() {
  auto alive = lifeline_.token();
  auto api = std::move(pending_api_);
  auto push = std::move(pending_push_);
  pending_api_.clear();
  pending_push_.clear();
  auto write = [this](const char* table, const char* kind_column, const Key6& k, int64_t n) {
    std::string sql = std::string("INSERT INTO ") + table +
                      " (id, customer_id, tenant_id, caller_id, type, " + kind_column +
                      ", count, sharding, created, updated) VALUES (UUID(), ?, ?, ?, ?, ?, ?, ?, "
                      "NOW(), NOW()) ON DUPLICATE KEY UPDATE count = count + VALUES(count), "
                      "updated = NOW()";
    return db_.execute(std::move(sql),
                       {std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k),
                        std::get<4>(k), n, static_cast<int64_t>(std::get<5>(k))});
  };
  for (int pass = 0; pass < 2; ++pass) {
    auto& rows = pass == 0 ? api : push;
    for (auto& [k, n] : rows) {
      try {
        auto op =
            write(pass == 0 ? "api_call" : "push_cnt", pass == 0 ? "api_name" : "push_type", k, n);
        co_await std::move(op);
      } catch (const std::exception& e) {
        if (!*alive) co_return;
        // Kept for the next flush: a count is never lost to a passing failure.
        (pass == 0 ? pending_api_ : pending_push_)[k] += n;
        if (errors_++ % 100 == 0) spdlog::warn("quotas: writing counters: {}", e.what());
      }
      if (!*alive) co_return;
    }
  }
}

const std::string* Quotas::value(const std::string& customer, const std::string& tenant,
                                 const std::string& api, const std::string& type,
                                 std::string* row_tenant) const {
  auto it = quota_.find({customer, tenant, api, type});
  if (it != quota_.end()) {
    *row_tenant = tenant;
    return &it->second;
  }
  it = quota_.find({customer, "*", api, type});
  if (it == quota_.end()) return nullptr;
  *row_tenant = "*";
  return &it->second;
}

int64_t Quotas::used(const std::string& customer, const std::string& tenant,
                     const std::string& api) const {
  if (tenant != "*") {
    auto it = used_.find({customer, tenant, api});
    return it == used_.end() ? 0 : it->second;
  }
  int64_t sum = 0;  // every tenant of the customer
  for (auto it = used_.lower_bound({customer, "", ""});
       it != used_.end() && std::get<0>(it->first) == customer; ++it) {
    if (std::get<2>(it->first) == api) sum += it->second;
  }
  return sum;
}

bool Quotas::valid(const std::string& customer, const std::string& tenant, const std::string& api,
                   const std::string& count_type) const {
  std::string row_tenant;
  const std::string* expire = value(customer, tenant, api, "expire", &row_tenant);
  if (!expire || !not_expired(*expire)) return false;
  const std::string* limit_text = value(customer, tenant, api, count_type, &row_tenant);
  if (!limit_text) return false;
  auto limit = integer(*limit_text);
  if (!limit) return false;
  if (*limit == -1) return true;
  return *limit > used(customer, row_tenant, api);
}

bool Quotas::valid_api_call(const std::string& customer, const std::string& tenant,
                            const std::string& api_name) const {
  return valid(customer, tenant, api_name, "api_cnt");
}

bool Quotas::valid_push(const std::string& customer, const std::string& tenant) const {
  return valid(customer, tenant, "", "push_cnt");
}

void Quotas::count_api_call(const Counted& who, const std::string& api_name, int sharding) {
  pending_api_[{who.customer_id, who.tenant_id, who.caller_id, who.type, api_name, sharding}] += 1;
  used_[{who.customer_id, who.tenant_id, api_name}] += 1;
}

void Quotas::count_push(const Counted& who, const std::string& push_type, int64_t n) {
  if (n <= 0) return;
  int sharding = who.type == "ios" || who.type == "android" ? 1 : std::rand() % 10;
  std::string type = who.type == "ios" || who.type == "android" ? who.type : "app";
  pending_push_[{who.customer_id, who.tenant_id, who.caller_id, type, push_type, sharding}] += n;
  used_[{who.customer_id, who.tenant_id, ""}] += n;
}

}  // namespace appmsg::web::app
