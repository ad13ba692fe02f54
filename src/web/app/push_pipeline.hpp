// The /app push pipeline (spec/app-api.md section 2, with its [fix] items): a destination name
// (<uid>@user, <qunId>@qun, <orgId>@org, <tenantId>@tenant, <appId>@app) is expanded into the
// users it means and their live sessions; each gets one offline copy on "<uid>@user" (stored
// for `expire` seconds) and one live copy per selected session on "<sessionId>@user" (not
// stored: W-14), every copy built from a clean base. The copies are grouped by comet and sent
// as one push_batch call per comet (per 512 copies), all comets in parallel, under the
// request's one deadline.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "web/app/app_context.hpp"
#include "web/app/envelope.hpp"
#include "web/comet_push_queue.hpp"

namespace appmsg::web::app {

using Deadline = std::chrono::steady_clock::time_point;

// `sessions` of a push: ["all"] (also when absent), ["active"], ["inactive"], or session ids
// (only those owned by the target user count).
struct SessionSelector {
  enum class Kind { all, active, inactive, ids } kind = Kind::all;
  std::set<std::string> ids;
  // nullopt when `sessions` is present but not an array of strings.
  static std::optional<SessionSelector> parse(const nlohmann::json& body);
  static SessionSelector from_list(const std::string& comma_separated);  // appweb's form
};

// One recipient: a user's offline name (session_id == user_id) or one of its sessions.
struct Name {
  std::string user_id, session_id;
  std::vector<std::string> active;  // the user's active session ids among the selected
  std::string display;              // the user's nickname ("" when unknown)
  std::string key() const { return session_id + "@user"; }
  bool offline() const { return session_id == user_id; }
};

// "42@user" -> {"42", "user"}; the suffix is the text after the last '@'.
std::pair<std::string, std::string> split_name(const std::string& address);

// The names of a destination, in the spec's order: per user, the offline name first, then its
// sessions. @app and unknown suffixes give none. Throws on a MySQL or Redis failure.
boost::asio::awaitable<std::vector<Name>> expand(AppContext& ctx, std::string to,
                                                 SessionSelector sel);
boost::asio::awaitable<std::vector<Name>> names_of_users(AppContext& ctx,
                                                         std::vector<std::string> uids,
                                                         SessionSelector sel);

// One copy to push.
struct Copy {
  std::string key;
  std::shared_ptr<const std::string> msg;
  int64_t expire = 0;
};

// Sends the copies, grouped by comet, and waits for every answer (or the deadline). Results
// in the order of `copies`; a key no comet serves gets 1001.
boost::asio::awaitable<std::vector<PushResult>> deliver(AppContext& ctx, std::vector<Copy> copies,
                                                        Deadline deadline);

// A copy's push answer as an /app `ret` (spec 2.3 knows 0, 1001 and 65535): delivered live but
// not stored (1004) is 0, as a retry would deliver it twice; an unknown outcome (1005) is 65535.
int app_ret(const PushResult& r);

// Copies of one push, at most (more answer 65532).
constexpr size_t kMaxCopies = 100'000;

// msgType 2's objectContent.responseUpload {fid, fileName, fileUrl, size}; nullopt when it is
// missing or malformed (65534).
struct FileUpload {
  std::string fid, name, url;
  int64_t size = 0;
};
std::optional<FileUpload> file_upload_of(const nlohmann::json& object_content);
// Tracks the file in file_link (one row per sender and file, refreshed when sent again). A
// database failure is logged and counted; it does not fail the push.
boost::asio::awaitable<void> save_file_link(AppContext& ctx, FileUpload f, std::string sender);

// A message object's text without its closing brace, so that per-copy members can be
// appended: "{...members" (or "{" for an empty object).
std::string open_text(const nlohmann::json& base);
// The copy of `open_base` for `name`: `extra` plus toUserKey and activeSessions appended;
// stored for `expire` seconds on an offline name, not stored on a session.
Copy copy_for(const Name& name, const std::string& open_base, nlohmann::json extra, int64_t expire);
// The push quota of the caller's tenant (spec 6) allows a push; callers without a tenant
// always may.
bool push_allowed(AppContext& ctx, const Caller& caller);

// The outcome of push_sessions: `ret` of the first copy that failed (0 when none did), the mid
// of the copy on the target's offline key, else of the first copy delivered; `err_msg` says why
// nothing was pushed.
struct PushOutcome {
  int ret = kOk;
  int64_t mid = 0;
  size_t copies = 0;
  std::string err_msg;
};

// pushSessions (spec 2.2) for `caller`: the push quota (when it has a tenant), msgType 2 file
// tracking, then the copies as above, and the push counter. `msg` is the message object to
// deliver (the fields each copy gets are set here). `push_type` is the counter's suffix.
boost::asio::awaitable<PushOutcome> push_sessions(AppContext& ctx, nlohmann::json msg,
                                                  std::string to, SessionSelector sel,
                                                  int64_t expire, const Caller& caller,
                                                  std::string push_type, Deadline deadline);

// The second half of push_sessions, for copies built by the caller (qun notices): the size
// and count limits and the deadline checked before anything is sent, the file link saved, one
// deliver(), the counters. `target_offline` is the key whose mid answers.
boost::asio::awaitable<PushOutcome> send_copies(AppContext& ctx, std::vector<Copy> copies,
                                                std::string target_offline,
                                                std::optional<FileUpload> upload,
                                                const Caller& caller, std::string push_type,
                                                Deadline deadline);

// The request's one deadline: [app] timeout from when it had been read.
Deadline deadline_of(const AppContext& ctx, const HttpRequest& req);
// What is left of it (at least 1 ms), for a call that takes a duration.
std::chrono::milliseconds time_left(Deadline deadline);

}  // namespace appmsg::web::app
