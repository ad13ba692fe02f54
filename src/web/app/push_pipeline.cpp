// Expansion of destinations, the per-copy messages, and the grouped delivery.
#include "web/app/push_pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "common/limits.hpp"
#include "common/spawn.hpp"
#include "web/api_codes.hpp"
#include "web/comet_nodes.hpp"
#include "web/countdown.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr size_t kMaxCallCopies = 1024;    // copies in one push_batch call
constexpr size_t kMaxCallBytes = 4 << 20;  // and their bytes (the comet takes 16 MiB)

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

std::optional<SessionSelector> SessionSelector::parse(const json& body) {
  SessionSelector s;
  auto it = body.find("sessions");
  if (it == body.end() || it->is_null()) return s;
  if (!it->is_array()) return std::nullopt;
  std::vector<std::string> list;
  for (auto& v : *it) {
    if (!v.is_string()) return std::nullopt;
    list.push_back(v.get<std::string>());
  }
  if (list.empty() || (list.size() == 1 && list[0] == "all")) return s;
  if (list.size() == 1 && list[0] == "active") {
    s.kind = Kind::active;
  } else if (list.size() == 1 && list[0] == "inactive") {
    s.kind = Kind::inactive;
  } else {
    s.kind = Kind::ids;
    s.ids.insert(list.begin(), list.end());
  }
  return s;
}

SessionSelector SessionSelector::from_list(const std::string& comma_separated) {
  json arr = json::array();
  size_t at = 0;
  while (at < comma_separated.size()) {
    auto comma = comma_separated.find(',', at);
    if (comma == std::string::npos) comma = comma_separated.size();
    if (comma > at) arr.push_back(comma_separated.substr(at, comma - at));
    at = comma + 1;
  }
  return *parse(json{{"sessions", arr}});
}

std::pair<std::string, std::string> split_name(const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return {address, ""};
  return {address.substr(0, at), address.substr(at + 1)};
}

asio::awaitable<std::vector<Name>> names_of_users(AppContext& ctx, std::vector<std::string> uids,
                                                  SessionSelector sel) {
  auto u = ctx.directory->users(uids);
  auto users = co_await std::move(u);
  auto s = ctx.sessions->of_users(uids);
  auto sessions = co_await std::move(s);
  std::vector<Name> out;
  out.reserve(uids.size() * 2);
  std::set<std::string> seen;
  for (auto& uid : uids) {
    if (!seen.insert(uid).second) continue;
    auto user = users.find(uid);
    std::string display = user == users.end() ? "" : user->second->nickname;
    std::vector<const Session*> selected;
    if (auto it = sessions.find(uid); it != sessions.end()) {
      for (auto& session : it->second) {
        bool take = sel.kind == SessionSelector::Kind::all ||
                    (sel.kind == SessionSelector::Kind::active && session.state == "active") ||
                    (sel.kind == SessionSelector::Kind::inactive && session.state == "inactive") ||
                    (sel.kind == SessionSelector::Kind::ids && sel.ids.count(session.id));
        if (take) selected.push_back(&session);
      }
    }
    std::vector<std::string> active;
    for (auto* session : selected) {
      if (session->state == "active") active.push_back(session->id);
    }
    out.push_back(Name{uid, uid, active, display});
    for (auto* session : selected) out.push_back(Name{uid, session->id, active, display});
  }
  co_return out;
}

asio::awaitable<std::vector<Name>> expand(AppContext& ctx, std::string to, SessionSelector sel) {
  auto [id, suffix] = split_name(to);
  std::vector<std::string> uids;
  if (id.empty()) co_return std::vector<Name>{};
  if (suffix == "user") {
    uids.push_back(id);
  } else if (suffix == "qun") {
    auto op = ctx.directory->qun_members(id);
    auto members = co_await std::move(op);
    uids = *members;
  } else if (suffix == "org") {
    auto op = ctx.directory->org_members(id);
    uids = co_await std::move(op);
  } else if (suffix == "tenant") {
    auto op = ctx.directory->tenant_members(id);
    uids = co_await std::move(op);
  } else {
    co_return std::vector<Name>{};
  }
  auto op = names_of_users(ctx, std::move(uids), std::move(sel));
  co_return co_await std::move(op);
}

asio::awaitable<std::vector<PushResult>> deliver(AppContext& ctx, std::vector<Copy> copies,
                                                 Deadline deadline) {
  auto results =
      std::make_shared<std::vector<PushResult>>(copies.size(), PushResult{kNoNode, 0, "no comet"});
  auto snap = ctx.web->comets->snapshot();
  // Per comet: calls of at most kMaxCallCopies copies and kMaxCallBytes.
  struct Call {
    std::shared_ptr<CometNode> node;
    std::vector<PushItem> items;
    std::vector<size_t> index;
    size_t bytes = 0;
  };
  std::map<CometNode*, std::vector<Call>> by_node;
  for (size_t i = 0; i < copies.size(); ++i) {
    auto node = snap->node_for(copies[i].key);
    if (!node) continue;
    auto& calls = by_node[node.get()];
    if (calls.empty() || calls.back().items.size() >= kMaxCallCopies ||
        calls.back().bytes + copies[i].msg->size() > kMaxCallBytes) {
      calls.push_back(Call{node, {}, {}, 0});
    }
    auto& call = calls.back();
    call.bytes += copies[i].msg->size() + copies[i].key.size();
    call.items.push_back(PushItem{std::move(copies[i].key), copies[i].msg, copies[i].expire});
    call.index.push_back(i);
  }
  size_t n = 0;
  for (auto& [node, calls] : by_node) n += calls.size();
  auto ex = co_await asio::this_coro::executor;
  auto countdown = std::make_shared<Countdown>(ex, n);
  for (auto& [raw, calls] : by_node) {
    for (auto& call : calls) {
      // Each job holds what it uses: its node, the shared results and the countdown.
      spawn(
          ex,
          [](std::shared_ptr<CometNode> node, std::vector<PushItem> items,
             std::vector<size_t> index, Deadline deadline, std::shared_ptr<Countdown> countdown,
             std::shared_ptr<std::vector<PushResult>> results) -> asio::awaitable<void> {
            struct Done {  // whatever happens, the request stops waiting for this job
              std::shared_ptr<Countdown> c;
              ~Done() { c->one_done(); }
            } done{countdown};
            auto op = node->push_items(std::move(items), deadline);
            auto rs = co_await std::move(op);
            for (size_t j = 0; j < rs.size() && j < index.size(); ++j) {
              (*results)[index[j]] = std::move(rs[j]);
            }
          }(call.node, std::move(call.items), std::move(call.index), deadline, countdown, results),
          "/app push to comet " + call.node->name());
    }
  }
  auto wait = countdown->wait();
  co_await std::move(wait);
  co_return std::move(*results);
}

int app_ret(const PushResult& r) {
  if (r.ret == kNotStored) return kOk;
  if (r.ret == kOutcomeUnknown) return kInternalErr;
  return r.ret;
}

std::optional<FileUpload> file_upload_of(const json& object_content) {
  const json* up = object_field(object_content, "responseUpload");
  if (!up) return std::nullopt;
  const std::string *fid = string_field(*up, "fid"), *name = string_field(*up, "fileName"),
                    *url = string_field(*up, "fileUrl");
  auto size = number_field(*up, "size");
  if (!fid || !name || !url || !size || *size < 0 || *size > 2147483647.0 ||
      *size != static_cast<double>(static_cast<int64_t>(*size))) {
    return std::nullopt;
  }
  return FileUpload{*fid, *name, *url, static_cast<int64_t>(*size)};
}

asio::awaitable<void> save_file_link(AppContext& ctx, FileUpload f, std::string sender) {
  try {
    auto op = ctx.db->execute(
        "INSERT INTO file_link (id, sender_id, file_id, file_name, file_url, size, created, "
        "updated) VALUES (UUID(), ?, ?, ?, ?, ?, NOW(), NOW()) ON DUPLICATE KEY UPDATE "
        "file_name = VALUES(file_name), file_url = VALUES(file_url), size = VALUES(size), "
        "updated = NOW()",
        {sender, f.fid, f.name, f.url, f.size});
    co_await std::move(op);
  } catch (const std::exception& e) {
    note_store_failure(ctx, "file_link of " + f.fid + " from " + sender, e);
  }
}

Deadline deadline_of(const AppContext& ctx, const HttpRequest& req) {
  auto from = req.received == Deadline{} ? std::chrono::steady_clock::now() : req.received;
  return from + ctx.config.request_timeout;
}

std::chrono::milliseconds time_left(Deadline deadline) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  return std::max(d, std::chrono::milliseconds(1));
}

std::string open_text(const json& base) {
  std::string t = base.dump(-1, ' ', false, json::error_handler_t::replace);
  t.pop_back();
  return t;
}

Copy copy_for(const Name& name, const std::string& open_base, json extra, int64_t expire) {
  extra["toUserKey"] = name.key();
  extra["activeSessions"] = name.active;
  std::string tail = extra.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string copy = open_base;
  if (copy.size() > 1) copy += ',';
  copy.append(tail, 1, std::string::npos);  // tail without its '{'
  return Copy{name.key(), std::make_shared<const std::string>(std::move(copy)),
              name.offline() ? expire : 0};
}

bool push_allowed(AppContext& ctx, const Caller& caller) {
  return !caller.tenant || ctx.quotas->valid_push(caller.tenant->customer_id, caller.tenant->id);
}

asio::awaitable<PushOutcome> push_sessions(AppContext& ctx, json msg, std::string to,
                                           SessionSelector sel, int64_t expire,
                                           const Caller& caller, std::string push_type,
                                           Deadline deadline) {
  PushOutcome out;
  if (!push_allowed(ctx, caller)) {
    out.ret = kOverQuotaPush;
    co_return out;
  }
  std::optional<FileUpload> upload;  // saved once the push is sure to go out
  if (auto t = msg.find("msgType"); t != msg.end() && t->is_number() && t->get<double>() == 2) {
    const json* oc = object_field(msg, "objectContent");
    upload = oc ? file_upload_of(*oc) : std::nullopt;
    if (!upload) {
      out.ret = kParamErr;
      out.err_msg = "objectContent.responseUpload {fid, fileName, fileUrl, size} is required";
      co_return out;
    }
  }
  std::vector<Copy> copies;
  std::string target_offline;  // the key whose mid answers the push
  auto [to_id, to_suffix] = split_name(to);
  if (to_suffix == "app") {
    copies.push_back(Copy{to,
                          std::make_shared<const std::string>(
                              msg.dump(-1, ' ', false, json::error_handler_t::replace)),
                          expire});
  } else {
    auto e = expand(ctx, to, sel);
    auto names = co_await std::move(e);
    const std::string from = msg.value("fromUserName", std::string());
    const bool qun_push = to_suffix == "qun";
    const bool from_qun = ends_with(from, "@qun");
    if (!qun_push && !from_qun && from != to) {
      auto mine = expand(ctx, caller.id() + "@user", SessionSelector{});
      auto more = co_await std::move(mine);
      names.insert(names.end(), more.begin(), more.end());
    }
    if (to_suffix == "user") target_offline = to_id + "@user";
    const std::string content = msg.value("content", std::string());
    auto amp = content.find("&&");
    const std::string original = amp == std::string::npos ? content : content.substr(amp + 2);
    const std::string device = msg.value("deviceID", std::string());
    // Two clean bases: the message without the per-copy members, and its sender-copy form.
    json base = msg;
    for (auto* k : {"toUserName", "toDisplayName", "toUserKey", "activeSessions"}) base.erase(k);
    const std::string base_text = open_text(base);
    std::string sender_text;
    if (qun_push) {
      json s = base;
      s["fromUserName"] = caller.id() + "@user";
      s["content"] = original;
      sender_text = open_text(s);
    }
    std::set<std::string> keys_seen;  // a name reached twice (the sender in its own org) once
    for (auto& name : names) {
      if (!keys_seen.insert(name.key()).second) continue;
      const bool mine = caller.user && name.user_id == caller.id();
      if (mine && (qun_push || !from_qun) && !device.empty() &&
          ends_with(name.session_id, device) && !name.offline()) {
        continue;  // the sending device
      }
      json extra = json::object();
      const std::string* text = &base_text;
      if (qun_push && mine) {
        text = &sender_text;
        extra["toUserName"] = to;
      } else if (mine && !from_qun) {
        extra["toUserName"] = to;
      } else if (qun_push) {
        extra["toUserName"] = name.user_id + "@user";
        extra["toDisplayName"] = name.display;
      } else {
        extra["toUserName"] = name.user_id + "@user";
      }
      copies.push_back(copy_for(name, *text, std::move(extra), expire));
    }
  }
  auto op = send_copies(ctx, std::move(copies), target_offline, std::move(upload), caller,
                        std::move(push_type), deadline);
  co_return co_await std::move(op);
}

asio::awaitable<PushOutcome> send_copies(AppContext& ctx, std::vector<Copy> copies,
                                         std::string target_offline,
                                         std::optional<FileUpload> upload, const Caller& caller,
                                         std::string push_type, Deadline deadline) {
  PushOutcome out;
  if (copies.size() > kMaxCopies) {
    out.ret = kTooLong;
    out.err_msg = "too many recipients";
    co_return out;
  }
  std::vector<std::string> keys;
  keys.reserve(copies.size());
  for (auto& c : copies) {
    if (c.msg->size() > limits::kMaxBodyBytes) {  // the limit of every daemon
      out.ret = kParamErr;
      out.err_msg = "the message is over 65535 bytes";
      co_return out;
    }
    keys.push_back(c.key);
  }
  if (std::chrono::steady_clock::now() >= deadline) {  // the lookups took it all: send nothing
    out.ret = kInternalErr;
    out.err_msg = "deadline passed before sending";
    co_return out;
  }
  if (upload) {
    auto op = save_file_link(ctx, std::move(*upload), caller.id());
    co_await std::move(op);
  }
  auto d = deliver(ctx, std::move(copies), deadline);
  auto results = co_await std::move(d);
  ++ctx.stats.fanouts;
  ctx.stats.copies += results.size();
  std::optional<int64_t> first_mid, target_mid;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const int ret = app_ret(r);
    if (ret) ++ctx.stats.copy_failures;
    if (ret && out.ret == kOk) out.ret = ret;
    if (r.ret != kOk && r.ret != kNotStored) continue;  // not delivered
    if (!first_mid) first_mid = r.mid;
    if (keys[i] == target_offline) target_mid = r.mid;
  }
  out.mid = target_mid.value_or(first_mid.value_or(0));
  out.copies = results.size();
  if (caller.tenant)
    ctx.quotas->count_push(caller.counted(), push_type, static_cast<int64_t>(out.copies));
  co_return out;
}

}  // namespace appmsg::web::app
