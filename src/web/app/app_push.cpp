// app/user/push.
#include "web/app/app_push.hpp"

#include <set>

#include "common/http_server.hpp"
#include "common/limits.hpp"
#include "web/app/envelope.hpp"
#include "web/app/push_pipeline.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string text_of(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

asio::awaitable<std::set<std::string>> shielding_users(AppContext& ctx, const std::string& app) {
  auto op =
      ctx.db->execute("SELECT source_id FROM shield_msg WHERE target_id = ? AND type = 1", {app});
  auto r = co_await std::move(op);
  std::set<std::string> out;
  for (auto& row : r.rows) out.insert(row[0].value_or(""));
  co_return out;
}

asio::awaitable<Answer> app_user_push(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  auto a = ctx.directory->app_by_token(in->base.token);
  AppPtr app = co_await std::move(a);
  if (!app) co_return Answer::error(kAuthErr);
  const json* to = array_field(in->body, "toUserNames");
  if (!to) co_return Answer::error(kParamErr, "toUserNames must be an array");
  if (to->size() > ctx.config.max_names) co_return Answer::error(kTooLong);
  const std::string* content = string_field(in->body, "content");
  auto msg_type = number_field(in->body, "msgType");
  const std::string* status = string_field(in->body, "statusId");
  const json* oc = object_field(in->body, "objectContent");
  if (!content || !msg_type || !status || !oc || !string_field(*oc, "appId")) {
    co_return Answer::error(kParamErr,
                            "content, msgType, statusId and objectContent.appId are required");
  }
  auto sel = SessionSelector::parse(in->body);
  if (!sel) co_return Answer::error(kParamErr, "sessions must be an array of strings");
  int64_t expire = ctx.config.msg_expire;
  if (in->body.contains("expire")) {
    auto e = number_field(in->body, "expire");
    if (!e || *e < 0 || *e > static_cast<double>(limits::kMaxExpireSeconds)) {
      co_return Answer::error(kParamErr, "expire must be a number of seconds");
    }
    expire = static_cast<int64_t>(*e);
  }
  std::vector<std::string> users, groups, apps;
  for (auto& v : *to) {
    if (!v.is_string() || v.get_ref<const std::string&>().size() > limits::kMaxKeyBytes) {
      co_return Answer::error(kParamErr, "toUserNames must hold names");
    }
    auto [id, suffix] = split_name(v.get<std::string>());
    if (id.empty()) continue;
    if (suffix == "user") {
      users.push_back(id);
    } else if (suffix == "app") {
      apps.push_back(id);
    } else {
      groups.push_back(v.get<std::string>());
    }
  }
  json base{{"content", *content},
            {"msgType", (*in->body.find("msgType"))},
            {"statusId", *status},
            {"objectContent", *oc},
            {"fromUserName", app->id + "@app"},
            {"fromDisplayName", app->name}};
  std::optional<FileUpload> upload;  // saved once the push is sure to go out
  if (*msg_type == 2) {
    upload = file_upload_of(*oc);
    if (!upload) {
      co_return Answer::error(kParamErr, "objectContent.responseUpload is required");
    }
  }
  std::vector<Copy> copies;
  for (auto& id : apps) {  // to another application: its one key
    auto op = ctx.directory->app(id);
    auto target = co_await std::move(op);
    if (!target) continue;
    json m = base;
    m["toUserName"] = id + "@app";
    m["toDisplayName"] = target->name;
    m["toUserKey"] = id + "@app";
    copies.push_back(Copy{id + "@app", std::make_shared<const std::string>(text_of(m)), expire});
  }
  const size_t app_copies = copies.size();  // their results are not reported (spec 3.2 #8)
  auto n = names_of_users(ctx, users, *sel);
  std::vector<Name> names = co_await std::move(n);
  const Deadline deadline = deadline_of(ctx, req);
  for (auto& g : groups) {
    if (std::chrono::steady_clock::now() >= deadline) {  // nothing was sent yet
      co_return Answer::error(kInternalErr, "deadline passed while expanding the names");
    }
    auto e = expand(ctx, g, *sel);
    auto more = co_await std::move(e);
    names.insert(names.end(), more.begin(), more.end());
  }
  auto s = shielding_users(ctx, app->id);
  auto shielded = co_await std::move(s);
  for (auto& name : names) {
    if (shielded.count(name.user_id)) continue;
    json m = base;
    m["toUserName"] = name.user_id + "@user";
    m["toDisplayName"] = name.display;
    m["toUserKey"] = name.key();
    m["activeSessions"] = name.active;
    copies.push_back(Copy{name.key(), std::make_shared<const std::string>(text_of(m)),
                          name.offline() ? expire : 0});
  }
  if (copies.size() > kMaxCopies) co_return Answer::error(kTooLong, "too many recipients");
  std::vector<std::string> keys;
  for (auto& c : copies) {
    if (c.msg->size() > limits::kMaxBodyBytes) {
      co_return Answer::error(kParamErr, "the message is over 65535 bytes");
    }
    keys.push_back(c.key);
  }
  if (upload) {
    auto op = save_file_link(ctx, std::move(*upload), app->id);
    co_await std::move(op);
  }
  auto d = deliver(ctx, std::move(copies), deadline);
  auto results = co_await std::move(d);
  Answer out;
  json mlist = json::array();
  for (size_t i = app_copies; i < results.size(); ++i) {
    if (int ret = app_ret(results[i]); ret && out.ret == kOk) out.ret = ret;
    mlist.push_back(json{{"mid", results[i].mid}, {"key", keys[i]}});
  }
  ++ctx.stats.fanouts;
  ctx.stats.copies += results.size();
  out.payload["mlist"] = std::move(mlist);
  co_return out;
}

}  // namespace

void add_app_push_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/app/user/push", {"POST"}, app_user_push);
}

}  // namespace appmsg::web::app
