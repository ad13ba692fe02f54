// create-qun, getQunMembers, updateQunTopic, addQunMember, delQunMember, and getQunList
// (ours: the caller's quns).
#include "web/app/qun_api.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/http_server.hpp"
#include "web/app/envelope.hpp"
#include "web/app/member_json.hpp"
#include "web/app/qun_notices.hpp"
#include "web/app/sql_row.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int64_t kQunLimit = 100;     // max_member of a new qun (and of an older row's 0)
constexpr size_t kMaxListed = 1000;    // entries of a memberList read at all
constexpr size_t kMaxTopicChars = 45;  // qun.name is varchar(45)

std::string new_uuid() {  // version 4, lowercase
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += digits[b[i] >> 4];
    out += digits[b[i] & 15];
  }
  return out;
}

size_t utf8_chars(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string nick_of(const User& u) {
  return u.nickname.empty() ? u.name : u.nickname;
}

// The uids of the request's memberList [{uid, ...}], once each in their order; or the answer
// to a missing, oversized or malformed list.
std::variant<std::vector<std::string>, Answer> listed_uids(const json& body) {
  const json* list = array_field(body, "memberList");
  if (!list) return Answer::error(kParamErr, "memberList is required");
  if (list->size() > kMaxListed) return Answer::error(kTooLong, "memberList is too long");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& entry : *list) {
    const std::string* uid = entry.is_object() ? string_field(entry, "uid") : nullptr;
    if (!uid || uid->empty()) return Answer::error(kParamErr, "memberList entries need a uid");
    if (seen.insert(*uid).second) out.push_back(*uid);
  }
  return out;
}

// "3,01637037d6" -> "http://<weedfs>/3/01637037d6" (spec 1.7, qun member lists).
std::string avatar_url(const AppContext& ctx, const std::string& fid) {
  if (fid.empty()) return "";
  std::string path = fid;
  if (auto comma = path.find(','); comma != std::string::npos) path[comma] = '/';
  return "http://" + ctx.config.weedfs + "/" + path;
}

ojson qun_json(const Qun& q) {
  return ojson{{"id", q.id},
               {"creatorId", q.creator_id},
               {"creatorUserName", q.creator_id + "@user"},
               {"name", q.name},
               {"description", q.description},
               {"maxMember", q.max_member},
               {"avatar", q.avatar},
               {"tenantId", q.tenant_id},
               {"created", q.created},
               {"updated", q.updated}};
}

asio::awaitable<ojson> member_list(AppContext& ctx, std::vector<std::string> uids) {
  auto op = ctx.directory->users(uids);
  auto users = co_await std::move(op);
  ojson list = ojson::array();
  for (auto& uid : uids) {
    auto it = users.find(uid);
    if (it == users.end()) continue;
    ojson m = member_json(*it->second);
    m["avatar"] = avatar_url(ctx, it->second->avatar);
    list.push_back(std::move(m));
  }
  co_return list;
}

// The users of `uids` after checking each is a user of `tenant`; or the answer to send.
asio::awaitable<std::variant<std::map<std::string, UserPtr>, Answer>> users_of_tenant(
    AppContext& ctx, std::vector<std::string> uids, std::string tenant) {
  auto op = ctx.directory->users(uids);
  auto users = co_await std::move(op);
  for (auto& uid : uids) {
    auto it = users.find(uid);
    if (it == users.end()) co_return Answer::error(kNotFound, "no such user: " + uid);
    if (it->second->tenant_id != tenant) {
      co_return Answer::error(kAuthErr, "not a user of the caller's tenant: " + uid);
    }
  }
  co_return users;
}

std::vector<std::string> nicks(const std::map<std::string, UserPtr>& users,
                               const std::vector<std::string>& uids) {
  std::vector<std::string> out;
  for (auto& uid : uids) {
    auto it = users.find(uid);
    out.push_back(it == users.end() ? uid : nick_of(*it->second));
  }
  return out;
}

// What every qun request starts with: the token's user, its tenant (which must exist) and the
// qun named by `field` ("<qunId>@qun") when it is set.
struct QunRequest {
  AppRequest in;
  Caller caller;
  std::string qun_id;
  QunPtr qun;
};

asio::awaitable<std::variant<QunRequest, Answer>> start(AppContext& ctx, const HttpRequest& req,
                                                        const char* field, int unknown_qun) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  QunRequest r{std::move(*in), {}, {}, {}};
  if (field) {
    const std::string* name = string_field(r.in.body, field);
    if (!name) co_return Answer::error(kParamErr, std::string(field) + " is required");
    auto [id, suffix] = split_name(*name);
    if (suffix != "qun" || id.empty()) {
      co_return Answer::error(kParamErr, std::string(field) + " must be <qunId>@qun");
    }
    r.qun_id = id;
  }
  auto u = user_of_token(ctx, r.in.base.token);
  r.caller.user = co_await std::move(u);
  if (!r.caller.user) co_return Answer::error(kAuthErr, kSessionTimeout);
  r.caller.token = r.in.base.token;
  r.caller.kind = r.in.base.kind();
  auto t = tenant_of(ctx, r.caller.user->tenant_id);
  r.caller.tenant = co_await std::move(t);
  if (!r.caller.tenant) co_return Answer::error(kInternalErr, "the caller's tenant does not exist");
  if (field) {
    auto q = ctx.directory->qun(r.qun_id);
    r.qun = co_await std::move(q);
    if (!r.qun) co_return Answer::error(unknown_qun, "no such qun");
  }
  co_return r;
}

// Notices of a change that is saved: 65537 (spec 3.5) when one did not go out, with the cause.
void note_notices(Answer& a, const PushOutcome& out) {
  if (out.ret == kOk) return;
  a.ret = kOverQuotaPush;
  a.err_msg = "saved; a notice was not delivered (ret " + std::to_string(out.ret) +
              (out.err_msg.empty() ? "" : ": " + out.err_msg) + ")";
}

// What follows every committed change: this node's caches of the qun dropped, then its
// notices sent; `a` with 65537 when one was not delivered.
asio::awaitable<Answer> after_commit(AppContext& ctx, const Caller& caller, std::string qun_id,
                                     std::string qun_name, std::vector<Notice> notices,
                                     Deadline deadline, Answer a) {
  ctx.directory->forget_qun(qun_id);
  auto n = push_notices(ctx, qun_id, std::move(qun_name), std::move(notices), caller, deadline);
  note_notices(a, co_await std::move(n));
  co_return a;
}

// Member ids of a qun in join order, read inside a transaction.
std::vector<std::string> members_in(mysql::Transaction& tx, const std::string& qun_id) {
  auto r = tx.execute("SELECT user_id FROM qun_user WHERE qun_id = ? ORDER BY created, sort, id",
                      {qun_id});
  std::vector<std::string> out;
  for (auto& row : r.rows) out.push_back(col(row, 0));
  return out;
}

// Locks the qun row for the transaction; Refusal when it is gone.
Row lock_qun(mysql::Transaction& tx, const std::string& qun_id) {
  auto r = tx.execute("SELECT creator_id, max_member FROM qun WHERE id = ? FOR UPDATE", {qun_id});
  if (r.rows.empty()) throw Refusal(kInternalErr, "no such qun");
  return r.rows[0];
}

void insert_member(mysql::Transaction& tx, const std::string& qun_id, const std::string& uid,
                   int64_t sort, int64_t role) {
  tx.execute(
      "INSERT IGNORE INTO qun_user (id, qun_id, user_id, sort, role, created, updated) "
      "VALUES (UUID(), ?, ?, ?, ?, NOW(), NOW())",
      {qun_id, uid, sort, role});
}

// ---- #18 create-qun ----

asio::awaitable<Answer> create_qun(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, nullptr, kInternalErr);
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<QunRequest>(started);
  const User& me = *r.caller.user;
  const std::string* topic = string_field(r.in.body, "topic");
  if (!topic) co_return Answer::error(kParamErr, "topic is required");
  if (utf8_chars(*topic) > kMaxTopicChars) co_return Answer::error(kTooLong, "topic is too long");
  auto l = listed_uids(r.in.body);
  if (auto* a = std::get_if<Answer>(&l)) co_return *a;
  const auto* listed = &std::get<0>(l);
  auto count = r.in.body.find("memberCount");
  if (count != r.in.body.end() && !count->is_number()) {
    co_return Answer::error(kParamErr, "memberCount must be a number");
  }
  std::vector<std::string> members{me.id};  // the creator first
  for (auto& uid : *listed)
    if (uid != me.id) members.push_back(uid);
  if (static_cast<int64_t>(members.size()) > kQunLimit) {
    co_return Answer::error(kTooLong, "a qun has at most 100 members");
  }
  auto c = users_of_tenant(ctx, members, me.tenant_id);
  auto checked = co_await std::move(c);
  if (auto* a = std::get_if<Answer>(&checked)) co_return *a;
  const auto deadline = deadline_of(ctx, req);
  const std::string id = new_uuid();
  try {
    auto tx = ctx.db->transaction(
        [id, name = *topic, tenant = me.tenant_id, members](mysql::Transaction& t) {
          t.execute(
              "INSERT INTO qun (id, creator_id, name, description, max_member, avatar, "
              "tenant_id, created, updated) VALUES (?, ?, ?, '', ?, '', ?, NOW(), NOW())",
              {id, members[0], name, kQunLimit, tenant});
          for (size_t i = 0; i < members.size(); ++i) {
            insert_member(t, id, members[i], static_cast<int64_t>(i), i == 0 ? 0 : 2);
          }
          return true;
        },
        time_left(deadline));
    co_await std::move(tx);
  } catch (...) {
    co_return answer_of_failure(ctx, std::current_exception(), "create qun failed");
  }
  // The creator hears it was created; the others that they were invited (a product choice:
  // the original told only the creator). A notice that fails does not undo the qun: 65537.
  std::vector<Notice> notices{{me.id, notice_text::created(*topic)}};
  for (size_t i = 1; i < members.size(); ++i)
    notices.push_back({members[i], notice_text::invited_you(nick_of(me))});
  auto after = after_commit(ctx, r.caller, id, *topic, std::move(notices), deadline, {});
  Answer a = co_await std::move(after);
  a.payload["ChatRoomName"] = id + "@qun";
  a.payload["topic"] = *topic;
  a.payload["memberCount"] = count != r.in.body.end() ? ojson(*count) : ojson(members.size());
  auto m = member_list(ctx, members);
  a.payload["memberList"] = co_await std::move(m);
  co_return a;
}

// The answer of a qun read (after a change: with the change's ret and errMsg): quninfo,
// memberList, memberCount.
asio::awaitable<Answer> qun_answer(AppContext& ctx, std::string qun_id, Qun fallback,
                                   Answer status = {}) {
  auto q = ctx.directory->qun(qun_id);
  auto qun = co_await std::move(q);
  auto ms = ctx.directory->qun_members(qun_id);
  auto members = co_await std::move(ms);
  Answer a{status.ret, status.err_msg, {}};
  a.payload["quninfo"] = qun_json(qun ? *qun : fallback);
  auto m = member_list(ctx, qun ? *members : std::vector<std::string>{});
  auto list = co_await std::move(m);
  a.payload["memberList"] = list;
  a.payload["memberCount"] = list.size();
  co_return a;
}

// ---- #19 getQunMembers ----

asio::awaitable<Answer> get_qun_members(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, "userName", kNotFound);
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<QunRequest>(started);
  auto ms = ctx.directory->qun_members(r.qun_id);
  auto members = co_await std::move(ms);
  if (!contains(*members, r.caller.user->id)) {
    co_return Answer::error(kDeleteUser, "not a member of the qun");
  }
  auto op = qun_answer(ctx, r.qun_id, *r.qun);
  co_return co_await std::move(op);
}

// ---- #20 updateQunTopic ----

asio::awaitable<Answer> update_qun_topic(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, "ChatRoomName", kInternalErr);
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<QunRequest>(started);
  const User& me = *r.caller.user;
  const std::string* topic = string_field(r.in.body, "topic");
  if (!topic) co_return Answer::error(kParamErr, "topic is required");
  if (utf8_chars(*topic) > kMaxTopicChars) co_return Answer::error(kTooLong, "topic is too long");
  const auto deadline = deadline_of(ctx, req);
  std::vector<std::string> members;
  try {
    auto tx = ctx.db->transaction(
        [id = r.qun_id, me = me.id, name = *topic](mysql::Transaction& t) {
          lock_qun(t, id);
          auto members = members_in(t, id);
          if (!contains(members, me)) throw Refusal(kDeleteUser, "not a member of the qun");
          t.execute("UPDATE qun SET name = ?, updated = NOW() WHERE id = ?", {name, id});
          return members;
        },
        time_left(deadline));
    members = co_await std::move(tx);
  } catch (...) {
    co_return answer_of_failure(ctx, std::current_exception(), "update Qun Topic  faild");
  }
  std::vector<Notice> notices;
  for (auto& uid : members) {
    notices.push_back({uid, uid == me.id ? notice_text::renamed_by_you(*topic)
                                         : notice_text::renamed(nick_of(me), *topic)});
  }
  auto after = after_commit(ctx, r.caller, r.qun_id, *topic, std::move(notices), deadline,
                            Answer{kOk, "update Qun Topic success", {}});
  co_return co_await std::move(after);
}

// ---- #21 addQunMember ----

struct Added {
  std::vector<std::string> before, added;
};

asio::awaitable<Answer> add_qun_member(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, "ChatRoomName", kInternalErr);
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<QunRequest>(started);
  const User& me = *r.caller.user;
  auto l = listed_uids(r.in.body);
  if (auto* a = std::get_if<Answer>(&l)) co_return *a;
  const auto* listed = &std::get<0>(l);
  auto c = users_of_tenant(ctx, *listed, me.tenant_id);
  auto checked = co_await std::move(c);
  if (auto* a = std::get_if<Answer>(&checked)) co_return *a;
  const auto& users = std::get<0>(checked);
  const auto deadline = deadline_of(ctx, req);
  Added change;
  try {
    auto tx = ctx.db->transaction(
        [id = r.qun_id, me = me.id, listed = *listed](mysql::Transaction& t) {
          Row q = lock_qun(t, id);
          const int64_t limit = num(q, 1) > 0 ? num(q, 1) : kQunLimit;
          Added out{members_in(t, id), {}};
          if (!contains(out.before, me)) throw Refusal(kDeleteUser, "not a member of the qun");
          for (auto& uid : listed)
            if (!contains(out.before, uid)) out.added.push_back(uid);
          if (static_cast<int64_t>(out.before.size() + out.added.size()) > limit) {
            throw Refusal(kTooLong, "a qun has at most " + std::to_string(limit) + " members");
          }
          auto sorts =
              t.execute("SELECT IFNULL(MAX(sort), -1) FROM qun_user WHERE qun_id = ?", {id});
          int64_t next = num(sorts.rows.at(0), 0) + 1;
          for (auto& uid : out.added) insert_member(t, id, uid, next++, 2);
          return out;
        },
        time_left(deadline));
    change = co_await std::move(tx);
  } catch (...) {
    co_return answer_of_failure(ctx, std::current_exception(), "add Qun Member faild");
  }
  std::vector<Notice> notices;  // none when nobody was added
  if (!change.added.empty()) {
    const auto names = nicks(users, change.added);
    notices.push_back({me.id, notice_text::you_invited(names)});
    for (auto& uid : change.added) notices.push_back({uid, notice_text::invited_you(nick_of(me))});
    for (auto& uid : change.before)
      if (uid != me.id) notices.push_back({uid, notice_text::invited(nick_of(me), names)});
  }
  auto after = after_commit(ctx, r.caller, r.qun_id, r.qun->name, std::move(notices), deadline, {});
  Answer a = co_await std::move(after);
  auto op = qun_answer(ctx, r.qun_id, *r.qun, a);
  co_return co_await std::move(op);
}

// ---- #22 delQunMember ----

struct Removed {
  std::vector<std::string> before, removed, remaining;
};

asio::awaitable<Answer> del_qun_member(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, "ChatRoomName", kInternalErr);
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<QunRequest>(started);
  const User& me = *r.caller.user;
  auto l = listed_uids(r.in.body);
  if (auto* a = std::get_if<Answer>(&l)) co_return *a;
  const auto* listed = &std::get<0>(l);
  if (listed->empty()) co_return Answer::error(kParamErr, "memberList is empty");
  const bool leave = listed->size() == 1 && (*listed)[0] == me.id;
  const auto deadline = deadline_of(ctx, req);
  Removed change;
  try {
    auto tx = ctx.db->transaction(
        [id = r.qun_id, me = me.id, listed = *listed, leave](mysql::Transaction& t) {
          Row q = lock_qun(t, id);
          const std::string creator = col(q, 0);
          Removed out{members_in(t, id), {}, {}};
          if (!contains(out.before, me)) throw Refusal(kDeleteUser, "not a member of the qun");
          if (!leave && creator != me) {
            throw Refusal(kInternalErr, "delete Qun Member faild,only qun creater can delete");
          }
          for (auto& uid : out.before) {
            (contains(listed, uid) ? out.removed : out.remaining).push_back(uid);
          }
          for (auto& uid : out.removed) {
            t.execute("DELETE FROM qun_user WHERE qun_id = ? AND user_id = ?", {id, uid});
          }
          if (out.remaining.empty()) {
            t.execute("DELETE FROM qun WHERE id = ?", {id});  // the last member left
          } else if (contains(out.removed, creator)) {        // the longest-standing one owns it
            t.execute("UPDATE qun SET creator_id = ?, updated = NOW() WHERE id = ?",
                      {out.remaining[0], id});
            t.execute("UPDATE qun_user SET role = 0 WHERE qun_id = ? AND user_id = ?",
                      {id, out.remaining[0]});
          }
          return out;
        },
        time_left(deadline));
    change = co_await std::move(tx);
  } catch (...) {
    co_return answer_of_failure(ctx, std::current_exception(), "delete Qun Member faild");
  }
  std::vector<Notice> notices;  // none when nobody was removed
  if (!change.removed.empty()) {
    auto u = ctx.directory->users(change.removed);
    auto users = co_await std::move(u);
    const auto names = nicks(users, change.removed);
    const std::string nick = nick_of(me);
    const bool left = change.removed.size() == 1 && change.removed[0] == me.id;
    for (auto& uid : change.removed) {
      notices.push_back(
          {uid, uid == me.id ? notice_text::you_left() : notice_text::removed_you(nick)});
    }
    for (auto& uid : change.remaining) {
      if (left) {
        notices.push_back({uid, notice_text::left(nick)});
      } else {
        notices.push_back({uid, uid == me.id ? notice_text::you_removed(names)
                                             : notice_text::removed(nick, names)});
      }
    }
  }
  auto after = after_commit(ctx, r.caller, r.qun_id, r.qun->name, std::move(notices), deadline, {});
  Answer a = co_await std::move(after);
  auto op = qun_answer(ctx, r.qun_id, *r.qun, a);
  co_return co_await std::move(op);
}

// ---- getQunList (not in the original): the quns the caller belongs to ----

asio::awaitable<Answer> get_qun_list(AppContext& ctx, const HttpRequest& req) {
  auto s = start(ctx, req, nullptr, 0);
  auto started = co_await std::move(s);
  if (auto* a = std::get_if<Answer>(&started)) co_return *a;
  auto& r = std::get<QunRequest>(started);
  auto op = ctx.db->execute(
      "SELECT q.id, q.name, (SELECT COUNT(*) FROM qun_user m WHERE m.qun_id = q.id), "
      "q.creator_id FROM qun q JOIN qun_user u ON u.qun_id = q.id WHERE u.user_id = ? "
      "ORDER BY q.name, q.id",
      {r.caller.user->id});
  auto rows = co_await std::move(op);
  ojson list = ojson::array();
  for (auto& row : rows.rows) {
    ojson m = node_json(col(row, 0), "@qun", col(row, 1), 0, nullptr);
    m["memberCount"] = num(row, 2);
    m["creator"] = col(row, 3) + "@user";
    list.push_back(std::move(m));
  }
  Answer a;
  a.payload["qunCount"] = list.size();
  a.payload["qunList"] = std::move(list);
  co_return a;
}

}  // namespace

void add_qun_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/create-qun", {"POST"}, create_qun);
  add_app_route(router, ctx, "/app/client/device/getQunMembers", {"POST"}, get_qun_members);
  add_app_route(router, ctx, "/app/client/device/updateQunTopic", {"POST"}, update_qun_topic);
  add_app_route(router, ctx, "/app/client/device/addQunMember", {"POST"}, add_qun_member);
  add_app_route(router, ctx, "/app/client/device/delQunMember", {"POST"}, del_qun_member);
  add_app_route(router, ctx, "/app/client/device/getQunList", {"POST"}, get_qun_list);
}

}  // namespace appmsg::web::app
