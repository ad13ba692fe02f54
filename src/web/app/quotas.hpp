// Quotas and usage statistics (spec/app-api.md section 6, with its [fix] items).
//
// Quota rows (customer, tenant or '*', api_name, type expire|api_cnt|push_cnt, value) are read
// from MySQL at start and every [app] quota.reload (NULL read as ''), keyed by the tuple. The
// usage sums (SUM(count) of api_call and push_cnt) are read with them and then kept current
// in memory: a gate never runs a query. Counters are summed in memory and written every
// [app] stats.flush as `INSERT ... ON DUPLICATE KEY UPDATE count = count + n`, one statement per
// counter row, never one per recipient. The check comes before the increment, so concurrent
// requests (and several web nodes between reloads) may overshoot a limit by their number.
//
// A caller whose tenant is '' or names no tenant row is neither limited nor counted.
// Single-threaded: web's event loop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <string>
#include <tuple>

#include "common/lifeline.hpp"
#include "common/mysql_pool.hpp"

namespace appmsg::web::app {

// Who is counted: the customer and tenant of the caller, the caller (a user or an app id) and
// its type (lowercase: ios, android, or the app kind).
struct Counted {
  std::string customer_id, tenant_id, caller_id, type;
};

class Quotas {
 public:
  Quotas(boost::asio::any_io_executor ex, mysql::Pool& db, std::chrono::seconds reload,
         std::chrono::milliseconds flush_every);
  ~Quotas();
  boost::asio::awaitable<void> load();   // throws mysql::Error
  void start();                          // the reload and flush loops
  boost::asio::awaitable<void> flush();  // writes what is counted (also on stop)
  void stop();

  // The gates of section 6.2: false means 65536 / 65537.
  bool valid_api_call(const std::string& customer, const std::string& tenant,
                      const std::string& api_name) const;
  bool valid_push(const std::string& customer, const std::string& tenant) const;
  void count_api_call(const Counted& who, const std::string& api_name, int sharding);
  void count_push(const Counted& who, const std::string& push_type, int64_t n);

  // A value a quota row of `type` may hold: a "YYYY/MM/DD HH:MM:SS" time for expire (past
  // ones too: they close the API), an integer of at least -1 (unlimited) for the counts.
  static bool valid_value(const std::string& type, const std::string& value);
  // A quota row written by app/syncQuota: in force at once, not at the next reload.
  void set(const std::string& customer, const std::string& tenant, const std::string& api_name,
           const std::string& type, const std::string& value) {
    quota_[Key4{customer, tenant, api_name, type}] = value;
    set_while_loading_[Key4{customer, tenant, api_name, type}] = value;
  }

  uint64_t errors() const { return errors_; }  // reloads and counter writes that failed

 private:
  using Key4 = std::tuple<std::string, std::string, std::string, std::string>;
  using Key6 = std::tuple<std::string, std::string, std::string, std::string, std::string, int>;
  const std::string* value(const std::string& customer, const std::string& tenant,
                           const std::string& api, const std::string& type,
                           std::string* row_tenant) const;
  bool valid(const std::string& customer, const std::string& tenant, const std::string& api,
             const std::string& count_type) const;
  int64_t used(const std::string& customer, const std::string& tenant,
               const std::string& api) const;
  boost::asio::awaitable<void> loop(std::shared_ptr<const bool> alive);

  boost::asio::any_io_executor ex_;
  mysql::Pool& db_;
  std::chrono::seconds reload_;
  std::chrono::milliseconds flush_every_;
  std::map<Key4, std::string> quota_;              // (customer, tenant, api, type) -> value
  std::map<Key4, std::string> set_while_loading_;  // set() since the running load() began
  // Usage: (customer, tenant, api) -> count; api "" holds pushes.
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> used_;
  std::map<Key6, int64_t> pending_api_, pending_push_;  // not yet written
  boost::asio::steady_timer timer_;
  uint64_t errors_ = 0;
  bool stopped_ = false;
  Lifeline lifeline_;
};

}  // namespace appmsg::web::app
