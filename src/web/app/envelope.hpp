// The /app wire format (spec/app-api.md 1.2-1.7): the `baseRequest` envelope of requests, the
// `baseResponse` envelope of answers with payload keys beside it, the `ret` codes, the JSONP
// form of the appweb routes, and the caller checks every handler starts with (user token, app
// token, the apiCallStat gate).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "common/http.hpp"
#include "web/app/app_context.hpp"

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

using ojson = nlohmann::ordered_json;

// `ret` codes [compat].
constexpr int kOk = 0;
constexpr int kNoNode = 1001;
constexpr int kNotFound = 65531;
constexpr int kTooLong = 65532;
constexpr int kAuthErr = 65533;
constexpr int kParamErr = 65534;
constexpr int kInternalErr = 65535;
constexpr int kOverQuotaApiCall = 65536;
constexpr int kOverQuotaPush = 65537;
constexpr int kDeleteUser = 65538;  // not a member of the qun
constexpr int kLoginErr = 65539;

// errMsg of a user token that is not live ("session timed out, please log in again") [compat].
constexpr const char* kSessionTimeout = "会话超时请重新登录";

// An answer: `ret`, `errMsg` and the payload keys, in order, beside baseResponse.
struct Answer {
  int ret = kOk;
  std::string err_msg;
  ojson payload = ojson::object();
  static Answer error(int ret, std::string msg = {}) { return Answer{ret, std::move(msg), {}}; }
};

// {"baseResponse":{"ret":R,"errMsg":"..."},<payload keys>}
std::string answer_text(const Answer& a);

struct BaseRequest {
  std::string uid, device_id, device_type, token;
  // lowercased deviceType; "app" when absent (the apiCallStat rule)
  std::string kind() const;
  bool is_device() const;  // ios or android
};

// A parsed JSON request: the body (an object) and its baseRequest.
struct AppRequest {
  nlohmann::json body;
  BaseRequest base;
};

// The body as an object whose "baseRequest" is an object of strings (fields absent are "");
// nullopt when it is not (65534).
std::optional<AppRequest> parse_json_request(const HttpRequest& req);
// The appweb (JSONP) form: baseRequest[uid], baseRequest[token], ... from the query or form.
BaseRequest base_from_params(const HttpRequest& req);

// Required fields: nullptr / nullopt when absent or of another type.
const std::string* string_field(const nlohmann::json& obj, std::string_view name);
std::optional<double> number_field(const nlohmann::json& obj, std::string_view name);
const nlohmann::json* object_field(const nlohmann::json& obj, std::string_view name);
const nlohmann::json* array_field(const nlohmann::json& obj, std::string_view name);

// Who calls: a user (by token) or an application (by app token), and its tenant.
struct Caller {
  UserPtr user;
  AppPtr app;
  TenantPtr tenant;   // nullptr: not limited nor counted
  std::string token;  // the user's token
  std::string kind;   // ios, android or app
  const std::string& id() const { return user ? user->id : app->id; }
  Counted counted() const;
};

// The user of a live token (its TTL is extended), or nullptr. Throws on Redis/MySQL failure.
boost::asio::awaitable<UserPtr> user_of_token(AppContext& ctx, std::string token);
boost::asio::awaitable<TenantPtr> tenant_of(AppContext& ctx, const std::string& tenant_id);

// The calling application of an app-token route, or the answer to send (65533 "auth
// failure").
boost::asio::awaitable<std::variant<AppPtr, Answer>> app_caller(AppContext& ctx,
                                                                const AppRequest& in);

// The apiCallStat gate (spec 1.5): identifies the caller (login name, user token or app token
// by deviceType) and checks the API-call quota. An answer to send instead of running the
// handler, or nullopt with *caller filled in; then count_api_call counts the call (login counts
// only a call whose password matched).
// `login`: device/login, whose device callers are found by their login name (userName); every
// other route's device callers by their token.
boost::asio::awaitable<std::optional<Answer>> api_call_gate(AppContext& ctx, const HttpRequest& req,
                                                            const AppRequest& in, Caller* caller,
                                                            bool login = false);
void count_api_call(AppContext& ctx, const HttpRequest& req, const Caller& caller);

// A MySQL or Redis failure a handler deals with itself (answering its own code, or going on
// without a best-effort write): logged (at most one line a second) and counted in
// appmsg_web_app_store_errors_total.
void note_store_failure(AppContext& ctx, const std::string& what, const std::exception& e);

// A refusal from inside a MySQL transaction body (mysql::Pool::transaction): the
// transaction is rolled back and the caller answers `ret`.
struct Refusal : std::runtime_error {
  Refusal(int r, const std::string& msg) : std::runtime_error(msg), ret(r) {}
  int ret;
};
// The answer to a failed transaction: a Refusal as it is; a value over its column's size
// (MySQL 1406) 65532; any other MySQL failure 65535 with `db_msg` (noted as a store failure).
// Other exceptions are rethrown.
Answer answer_of_failure(AppContext& ctx, std::exception_ptr e, const std::string& db_msg);

// Registers an /app route. JSON answers go out as application/json (no charset); the
// handler's exceptions become 65535 (logged), its answer codes are counted per route.
using AppHandler = std::function<boost::asio::awaitable<Answer>(AppContext&, const HttpRequest&)>;
void add_app_route(HttpRouter& router, AppContext& ctx, const std::string& path,
                   std::set<std::string> methods, AppHandler handler);
// The same for the JSONP routes: the answer is CALLBACK(json) when `callbackparam` is a valid
// name, plain JSON when it is empty, and 65534 as plain JSON when it is not a valid name.
void add_jsonp_route(HttpRouter& router, AppContext& ctx, const std::string& path,
                     AppHandler handler);

}  // namespace appmsg::web::app
