// Notice texts and their delivery.
#include "web/app/qun_notices.hpp"

#include <map>

namespace appmsg::web::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace notice_text {
namespace {
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += "、";
    out += n;
  }
  return out;
}
std::string some(const std::vector<std::string>& names) {
  return joined(names) + "等" + std::to_string(names.size()) + "人";
}
}  // namespace

std::string created(const std::string& topic) {
  return "您创建了群\"" + topic + "\"";
}
std::string renamed_by_you(const std::string& topic) {
  return "您修改了群名为\"" + topic + "\"";
}
std::string renamed(const std::string& nick, const std::string& topic) {
  return nick + "修改了群名为\"" + topic + "\"";
}
std::string you_invited(const std::vector<std::string>& names) {
  return "您邀请" + some(names) + "加入了群聊";
}
std::string invited_you(const std::string& nick) {
  return "您被" + nick + "邀请加入群聊";
}
std::string invited(const std::string& nick, const std::vector<std::string>& names) {
  return nick + "邀请" + some(names) + "加入了群聊";
}
std::string left(const std::string& nick) {
  return nick + "退出了群聊";
}
std::string you_left() {
  return "您退出了群聊";
}
std::string you_removed(const std::vector<std::string>& names) {
  return "您将" + joined(names) + "移出了群聊";
}
std::string removed(const std::string& nick, const std::vector<std::string>& names) {
  return nick + "将" + joined(names) + "移除了群聊";
}
std::string removed_you(const std::string& nick) {
  return "您被" + nick + "移出了群聊";
}
}  // namespace notice_text

asio::awaitable<PushOutcome> push_notices(AppContext& ctx, std::string qun_id, std::string qun_name,
                                          std::vector<Notice> notices, const Caller& caller,
                                          Deadline deadline) {
  if (notices.empty()) co_return PushOutcome{};
  if (!push_allowed(ctx, caller)) co_return PushOutcome{kOverQuotaPush, 0, 0, "over push quota"};
  std::vector<std::string> uids;
  std::map<std::string, std::string> text_of;  // uid -> the open text of its notice
  for (auto& n : notices) {
    json msg{{"fromUserName", qun_id + "@qun"},
             {"fromDisplayName", qun_name},
             {"msgType", 51},
             {"content", n.content}};
    if (text_of.emplace(n.uid, open_text(msg)).second) uids.push_back(n.uid);
  }
  auto op = names_of_users(ctx, std::move(uids), SessionSelector{});
  auto names = co_await std::move(op);
  std::vector<Copy> copies;
  copies.reserve(names.size());
  for (auto& name : names) {
    json extra{{"toUserName", name.user_id + "@user"}};
    copies.push_back(
        copy_for(name, text_of[name.user_id], std::move(extra), ctx.config.msg_expire));
  }
  auto send = send_copies(ctx, std::move(copies), "", std::nullopt, caller, "@qun", deadline);
  co_return co_await std::move(send);
}

}  // namespace appmsg::web::app
