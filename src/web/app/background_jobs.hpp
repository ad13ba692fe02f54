// The web node's periodic jobs of spec/app-api.md section 4 besides the quota reload (which
// Quotas runs itself):
//  - file-link expiry, every [app] filelink.interval (24 h; not at all without a [weedfs]
//    address): file_link rows not refreshed for [msg] expire seconds, in batches of [app]
//    filelink.batch (at most 20 batches a round), in id order. The file gets `DELETE
//    http://<weedfs>/<file_id>` and its row goes once weedfs answers 2xx without an "error" (or
//    404: already gone); a failed row stays for the next round, and after 3 failures in a row
//    the round stops calling weedfs. Links come from users' messages, so a row is dropped
//    without a call unless its file_id is a weedfs fid and its file_url is exactly
//    <weedfs>/<file_id>, and a file someone else sent since (a fresh row of the same file_id)
//    is left alone.
//  - session purge, every [app] session.purge (10 min): rows of the original's `session`
//    table not updated for 24 h, 1000 at a time (live sessions are kept in Redis, where they
//    expire by themselves; this clears what an original deployment left behind).
// Each round is logged with what it did and counted in /metrics (appmsg_web_app_files_deleted,
// _file_delete_failures, _sessions_purged; a failed round in _store_errors); stop() ends the
// loops at their next wait, and a round in progress stops at its next step.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "common/lifeline.hpp"
#include "web/app/app_context.hpp"

namespace appmsg::web::app {

struct FileExpiryRound {
  uint64_t deleted = 0, failed = 0, dropped = 0;  // dropped: rows of another server
};

class BackgroundJobs {
 public:
  BackgroundJobs(boost::asio::any_io_executor ex, AppContext& ctx);
  void start();
  void stop();

  // One round of each job (also run by the loops). Throw on a MySQL failure.
  boost::asio::awaitable<FileExpiryRound> expire_file_links();
  boost::asio::awaitable<uint64_t> purge_sessions();

 private:
  // One round of a job; what to log ("" for nothing).
  using Round = std::function<boost::asio::awaitable<std::string>()>;
  // Runs `round` every `every`, logging what it did and noting its failures, until stop().
  boost::asio::awaitable<void> loop(boost::asio::steady_timer& timer, std::chrono::seconds every,
                                    const char* name, Round round,
                                    std::shared_ptr<const bool> alive);
  boost::asio::awaitable<bool> wait(boost::asio::steady_timer& timer, std::chrono::seconds d,
                                    std::shared_ptr<const bool> alive);

  boost::asio::any_io_executor ex_;
  AppContext& ctx_;
  boost::asio::steady_timer file_timer_, session_timer_;
  bool stopped_ = false;
  Lifeline lifeline_;
};

}  // namespace appmsg::web::app
