// The system notices of qun changes (spec/app-api.md 3.5): the [compat] template texts, and
// their delivery as msgType 51 messages from "<qunId>@qun" to each recipient's "<uid>@user"
// (its offline copy and every session), all recipients of one change in one deliver() call,
// so one push_batch per comet.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "web/app/push_pipeline.hpp"

namespace appmsg::web::app {

namespace notice_text {
std::string created(const std::string& topic);                           // to the creator
std::string renamed_by_you(const std::string& topic);                    // to the renamer
std::string renamed(const std::string& nick, const std::string& topic);  // to the others
std::string you_invited(const std::vector<std::string>& names);          // to the inviter
std::string invited_you(const std::string& nick);                        // to each invited
std::string invited(const std::string& nick, const std::vector<std::string>& names);
std::string left(const std::string& nick);  // to the remaining members
std::string you_left();                     // to a member who left, or removed itself
std::string you_removed(const std::vector<std::string>& names);  // to the remover
std::string removed(const std::string& nick, const std::vector<std::string>& names);
std::string removed_you(const std::string& nick);  // to each removed member
}  // namespace notice_text

struct Notice {
  std::string uid, content;
};

// Sends the notices of one change of `qun_id` (shown as `qun_name`) for `caller`: its push
// quota, then every copy in one deliver(). ret is the first copy's failure, 0 when none.
boost::asio::awaitable<PushOutcome> push_notices(AppContext& ctx, std::string qun_id,
                                                 std::string qun_name, std::vector<Notice> notices,
                                                 const Caller& caller, Deadline deadline);

}  // namespace appmsg::web::app
