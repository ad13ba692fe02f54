// The file-link expiry and session purge loops.
#include "web/app/background_jobs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/http_client.hpp"
#include "common/spawn.hpp"
#include "web/app/envelope.hpp"
#include "web/app/sql_row.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int kMaxBatches = 20;         // per round of the file-link expiry
constexpr int kMaxFailuresInARow = 3;   // then the round stops calling weedfs
constexpr int64_t kSessionRows = 1000;  // per purge statement
constexpr auto kWeedfsDeadline = 5s;    // one DELETE

// weedfs's answer means the file is gone: a 2xx without an "error" string in its JSON, or 404.
bool deleted(const HttpResponse& r) {
  if (r.status == 404) return true;
  if (r.status < 200 || r.status >= 300) return false;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return !(j.is_object() && j.contains("error") && j["error"].is_string());
}

// A weedfs file id: "<volume>,<hex key and cookie>".
bool is_fid(const std::string& fid) {
  auto comma = fid.find(',');
  auto digits = [](std::string_view s, bool hex) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [hex](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) ||
             (hex && std::isxdigit(static_cast<unsigned char>(c)));
    });
  };
  return comma != std::string::npos && digits(std::string_view(fid).substr(0, comma), false) &&
         digits(std::string_view(fid).substr(comma + 1), true);
}

}  // namespace

BackgroundJobs::BackgroundJobs(asio::any_io_executor ex, AppContext& ctx)
    : ex_(ex), ctx_(ctx), file_timer_(ex), session_timer_(ex) {}

void BackgroundJobs::start() {
  if (ctx_.config.weedfs.empty()) {
    spdlog::info("web: no [weedfs] address: the file-link expiry does not run");
  } else {
    Round files = [this]() -> asio::awaitable<std::string> {
      auto r = expire_file_links();
      FileExpiryRound round = co_await std::move(r);
      co_return fmt::format("{} files deleted, {} failed, {} rows dropped without a call",
                            round.deleted, round.failed, round.dropped);
    };
    spawn(ex_,
          loop(file_timer_, ctx_.config.file_expiry_every, "file-link expiry", files,
               lifeline_.token()),
          "file-link expiry");
  }
  Round sessions = [this]() -> asio::awaitable<std::string> {
    auto p = purge_sessions();
    uint64_t n = co_await std::move(p);
    co_return n ? fmt::format("{} rows older than 24 h deleted", n) : "";
  };
  spawn(ex_,
        loop(session_timer_, ctx_.config.session_purge_every, "session purge", sessions,
             lifeline_.token()),
        "session purge");
}

void BackgroundJobs::stop() {
  stopped_ = true;
  file_timer_.cancel();
  session_timer_.cancel();
}

asio::awaitable<bool> BackgroundJobs::wait(asio::steady_timer& timer, std::chrono::seconds d,
                                           std::shared_ptr<const bool> alive) {
  timer.expires_after(d);
  auto w = timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_await std::move(w);
  co_return *alive && !stopped_;
}

asio::awaitable<void> BackgroundJobs::loop(asio::steady_timer& timer, std::chrono::seconds every,
                                           const char* name, Round round,
                                           std::shared_ptr<const bool> alive) {
  while (true) {  // the first round one interval after start, as the original
    auto w = wait(timer, every, alive);
    if (!co_await std::move(w)) co_return;
    try {
      auto r = round();
      std::string done = co_await std::move(r);
      if (!*alive) co_return;
      if (!done.empty()) spdlog::info("web: {}: {}", name, done);
    } catch (const std::exception& e) {
      if (!*alive) co_return;
      note_store_failure(ctx_, name, e);
    }
  }
}

asio::awaitable<FileExpiryRound> BackgroundJobs::expire_file_links() {
  auto alive = lifeline_.token();
  FileExpiryRound round;
  const std::string own = ctx_.config.weedfs + "/";
  if (ctx_.config.weedfs.empty()) co_return round;
  auto weedfs =
      std::make_unique<HttpClient>(ex_, HttpClientOptions{ctx_.config.weedfs, 2, 8, 1 << 20});
  int failures_in_a_row = 0;
  std::string after_id;  // rows kept this round are skipped by the next batch
  for (int batch = 0; batch < kMaxBatches && *alive && !stopped_; ++batch) {
    auto q = ctx_.db->execute(
        "SELECT a.id, a.file_id, a.file_url, EXISTS(SELECT 1 FROM file_link b WHERE "
        "b.file_id = a.file_id AND b.id <> a.id AND b.updated >= NOW() - INTERVAL ? SECOND) "
        "FROM file_link a WHERE a.updated < NOW() - INTERVAL ? SECOND AND a.id > ? "
        "ORDER BY a.id LIMIT ?",
        {ctx_.config.msg_expire, ctx_.config.msg_expire, after_id,
         static_cast<int64_t>(ctx_.config.file_expiry_batch)});
    auto rows = co_await std::move(q);
    if (!*alive || rows.rows.empty()) break;
    std::vector<mysql::Value> gone;
    for (auto& row : rows.rows) {
      after_id = col(row, 0);
      const std::string fid = col(row, 1);
      // Only the file the row names, on our weedfs, and only when nobody sent it since.
      if (!is_fid(fid) || col(row, 2) != own + fid || num(row, 3) != 0) {
        gone.push_back(after_id);
        ++round.dropped;
        continue;
      }
      if (failures_in_a_row >= kMaxFailuresInARow || stopped_) {
        ++round.failed;
        continue;
      }
      bool ok = false;
      try {
        auto d = weedfs->request("DELETE", "/" + fid, "", {}, kWeedfsDeadline);
        ok = deleted(co_await std::move(d));
      } catch (const std::exception& e) {
        spdlog::warn("web: file-link expiry: DELETE http://{}{}: {}", own, fid, e.what());
      }
      if (!*alive) co_return round;
      failures_in_a_row = ok ? 0 : failures_in_a_row + 1;
      if (ok) {
        gone.push_back(after_id);
        ++round.deleted;
        ++ctx_.stats.files_deleted;
      } else {
        ++round.failed;
        ++ctx_.stats.file_delete_failures;
      }
    }
    for (auto& id : gone) {
      auto del = ctx_.db->execute("DELETE FROM file_link WHERE id = ?", {id});
      co_await std::move(del);
      if (!*alive) co_return round;
    }
    if (rows.rows.size() < ctx_.config.file_expiry_batch) break;
  }
  co_return round;
}

asio::awaitable<uint64_t> BackgroundJobs::purge_sessions() {
  auto alive = lifeline_.token();
  uint64_t total = 0;
  for (int i = 0; i < kMaxBatches && *alive && !stopped_; ++i) {
    auto op =
        ctx_.db->execute("DELETE FROM session WHERE updated < NOW() - INTERVAL 24 HOUR LIMIT " +
                             std::to_string(kSessionRows),
                         {});
    auto r = co_await std::move(op);
    total += r.affected_rows;
    ctx_.stats.sessions_purged += r.affected_rows;
    if (r.affected_rows < static_cast<uint64_t>(kSessionRows)) break;
  }
  co_return total;
}

}  // namespace appmsg::web::app
