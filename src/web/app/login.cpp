// device/login, device/validateToken, device/delToken, app/user/auth, appweb/login.
#include "web/app/login.hpp"

#include <spdlog/spdlog.h>

#include "common/http_server.hpp"
#include "web/app/apns_tokens.hpp"
#include "web/app/envelope.hpp"
#include "web/app/member_json.hpp"
#include "web/app/off_loop.hpp"
#include "web/app/password.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

// Checks the password off the event loop, and replaces an original plaintext (or a weaker
// hash) by a hash of the current strength once it matched. nullopt: too many checks wait (a
// login flood), answered 65535 at once instead of queueing without bound.
asio::awaitable<std::optional<bool>> check_password(AppContext& ctx, const User& user,
                                                    std::string password) {
  if (ctx.hashing_jobs >= AppContext::kMaxHashingJobs) co_return std::nullopt;
  HashingJob job(ctx);
  const int iterations = ctx.config.password_iterations;
  auto check = off_loop(*ctx.hashing, [password, stored = user.password] {
    return verify_password(password, stored);
  });
  if (!co_await std::move(check)) co_return false;
  // The upgrade can wait for a quieter moment: the plaintext still verifies next time.
  if (needs_rehash(user.password, iterations) &&
      ctx.hashing_jobs <= AppContext::kMaxHashingJobs / 2) {
    auto h = off_loop(*ctx.hashing,
                      [password, iterations] { return hash_password(password, iterations); });
    auto stored = co_await std::move(h);
    try {
      auto op = ctx.directory->set_password(user.id, std::move(stored));
      co_await std::move(op);
    } catch (const std::exception& e) {
      note_store_failure(ctx, "login: re-hashing the password of user " + user.id, e);
    }
  }
  co_return true;
}

// The login answer: uid, token, member.
asio::awaitable<Answer> issue_token(AppContext& ctx, const User& user) {
  Answer a;
  a.payload["uid"] = user.id;
  try {
    auto op = ctx.tokens->create(user.id);
    a.payload["token"] = co_await std::move(op);
  } catch (const std::exception& e) {
    note_store_failure(ctx, "login: token", e);
    co_return Answer{kInternalErr, e.what(), a.payload};
  }
  a.payload["member"] = member_json(user);
  co_return a;
}

asio::awaitable<Answer> device_login(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* login = string_field(in->body, "userName");
  const std::string* password = string_field(in->body, "password");
  if (!login || !password) co_return Answer::error(kParamErr, "userName and password required");
  const std::string* apns = nullptr;
  if (in->body.contains("apnsToken")) {
    apns = string_field(in->body, "apnsToken");
    if (!apns || apns->size() > kMaxApnsTokenBytes) {
      co_return Answer::error(kParamErr, "apnsToken must be a string");
    }
  }
  Caller caller;
  auto gate = api_call_gate(ctx, req, *in, &caller, true);
  if (auto refused = co_await std::move(gate)) co_return *refused;
  UserPtr user = caller.user;
  if (!user) {  // an app token passed the gate: the login name is still to be found
    auto op = ctx.directory->user_by_login(*login);
    user = co_await std::move(op);
  }
  if (!user) co_return Answer::error(kLoginErr, "auth failed");
  auto check = check_password(ctx, *user, *password);
  auto matched = co_await std::move(check);
  if (!matched) co_return Answer::error(kInternalErr, "busy: too many logins at once");
  if (!*matched) co_return Answer::error(kLoginErr, "auth failed");
  count_api_call(ctx, req, caller);
  if (apns && !apns->empty()) {
    try {
      auto op = save_apns_token(ctx, user->id, *apns);
      co_await std::move(op);
    } catch (const std::exception& e) {
      note_store_failure(ctx, "login: apns_token", e);
      co_return Answer::error(kInternalErr, "Save apns_token faild");
    }
  }
  try {  // the login log: one row per (user, device)
    auto op = ctx.db->execute(
        "INSERT INTO client (id, user_id, type, device_id, latest_login_time, created, updated) "
        "VALUES (UUID(), ?, ?, ?, NOW(), NOW(), NOW()) ON DUPLICATE KEY UPDATE "
        "latest_login_time = NOW(), updated = NOW()",
        {user->id, in->base.device_type, in->base.device_id});
    co_await std::move(op);
  } catch (const std::exception& e) {
    note_store_failure(ctx, "login: the login log of user " + user->id, e);
  }
  auto op = issue_token(ctx, *user);
  co_return co_await std::move(op);
}

asio::awaitable<Answer> validate_token(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* token = string_field(in->body, "validToken");
  if (!token) co_return Answer::error(kParamErr, "validToken is required");
  auto op = user_of_token(ctx, *token);
  auto user = co_await std::move(op);
  co_return user ? Answer{} : Answer::error(kNoNode);
}

asio::awaitable<Answer> delete_token(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* target = string_field(in->body, "delToken");
  if (!target) co_return Answer::error(kParamErr, "delToken is required");
  auto op = user_of_token(ctx, in->base.token);
  auto user = co_await std::move(op);
  if (!user) co_return Answer::error(kAuthErr, kSessionTimeout);
  if (uid_of_token(*target) != user->id) {
    co_return Answer::error(kAuthErr, "only the caller's own tokens can be deleted");
  }
  try {
    auto del = ctx.tokens->remove(*target);
    co_await std::move(del);
  } catch (const std::exception& e) {
    note_store_failure(ctx, "delToken", e);
    co_return Answer::error(kInternalErr, "delete token fail ");
  }
  co_return Answer{};
}

asio::awaitable<Answer> app_user_auth(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* token = string_field(in->body, "token");
  const std::string* uid = string_field(in->body, "uid");
  if (!token || !uid) co_return Answer::error(kParamErr, "token and uid are required");
  auto a = ctx.directory->app_by_token(in->base.token);
  if (!co_await std::move(a)) co_return Answer::error(kAuthErr, "auth failure");
  auto op = user_of_token(ctx, *token);
  auto user = co_await std::move(op);
  if (!user || user->id != *uid) co_return Answer::error(kAuthErr, "auth failure");
  co_return Answer{};
}

asio::awaitable<Answer> appweb_login(AppContext& ctx, const HttpRequest& req) {
  auto base = base_from_params(req);
  auto password = req.param("password");
  if (base.uid.empty() || !password)
    co_return Answer::error(kParamErr, "uid and password required");
  auto op = ctx.directory->user(base.uid);
  auto user = co_await std::move(op);
  if (!user) co_return Answer::error(kParamErr, "auth failed");
  auto check = check_password(ctx, *user, std::string(*password));
  auto matched = co_await std::move(check);
  if (!matched) co_return Answer::error(kInternalErr, "busy: too many logins at once");
  if (!*matched) co_return Answer::error(kParamErr, "auth failed");
  auto t = issue_token(ctx, *user);
  co_return co_await std::move(t);
}

}  // namespace

void add_login_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/login", {"POST"}, device_login);
  add_app_route(router, ctx, "/app/client/device/validateToken", {"POST"}, validate_token);
  add_app_route(router, ctx, "/app/client/device/delToken", {"POST"}, delete_token);
  add_app_route(router, ctx, "/app/client/app/user/auth", {"POST"}, app_user_auth);
  add_jsonp_route(router, ctx, "/app/client/appweb/login", appweb_login);
}

}  // namespace appmsg::web::app
