// Envelopes, field checks, caller checks and the route wrappers of the /app API.
#include "web/app/envelope.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "common/http_server.hpp"
#include "common/json_text.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;
using nlohmann::json;

std::string answer_text(const Answer& a) {
  ojson out;
  out["baseResponse"] = ojson{{"ret", a.ret}, {"errMsg", a.err_msg}};
  for (auto& [k, v] : a.payload.items()) out[k] = v;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string BaseRequest::kind() const {
  if (device_type.empty()) return "app";
  std::string k = device_type;
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  return k;
}

bool BaseRequest::is_device() const {
  auto k = kind();
  return k == "ios" || k == "android";
}

const std::string* string_field(const json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

std::optional<double> number_field(const json& obj, std::string_view name) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

const json* object_field(const json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it != obj.end() && it->is_object() ? &*it : nullptr;
}

const json* array_field(const json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it != obj.end() && it->is_array() ? &*it : nullptr;
}

std::optional<AppRequest> parse_json_request(const HttpRequest& req) {
  AppRequest out;
  out.body = json::parse(req.body, nullptr, false);
  if (out.body.is_discarded() || !out.body.is_object()) return std::nullopt;
  const json* base = object_field(out.body, "baseRequest");
  if (!base) return std::nullopt;
  struct {
    const char* name;
    std::string* to;
  } fields[] = {{"uid", &out.base.uid},
                {"deviceID", &out.base.device_id},
                {"deviceType", &out.base.device_type},
                {"token", &out.base.token}};
  for (auto& f : fields) {
    auto it = base->find(f.name);
    if (it == base->end() || it->is_null()) continue;
    if (!it->is_string()) return std::nullopt;
    *f.to = it->get<std::string>();
  }
  return out;
}

BaseRequest base_from_params(const HttpRequest& req) {
  BaseRequest b;
  b.uid = std::string(req.param_or("baseRequest[uid]"));
  b.device_id = std::string(req.param_or("baseRequest[deviceID]"));
  b.device_type = std::string(req.param_or("baseRequest[deviceType]"));
  b.token = std::string(req.param_or("baseRequest[token]"));
  return b;
}

Counted Caller::counted() const {
  Counted c;
  c.customer_id = tenant ? tenant->customer_id : "";
  c.tenant_id = tenant ? tenant->id : "";
  c.caller_id = id();
  c.type = kind;
  return c;
}

asio::awaitable<UserPtr> user_of_token(AppContext& ctx, std::string token) {
  if (token.empty() || token.size() > 256) co_return nullptr;
  auto t = ctx.tokens->touch(token);
  auto uid = co_await std::move(t);
  if (!uid) co_return nullptr;
  auto u = ctx.directory->user(*uid);
  co_return co_await std::move(u);
}

asio::awaitable<TenantPtr> tenant_of(AppContext& ctx, const std::string& tenant_id) {
  if (tenant_id.empty()) co_return nullptr;
  auto t = ctx.directory->tenant(tenant_id);
  co_return co_await std::move(t);
}

asio::awaitable<std::variant<AppPtr, Answer>> app_caller(AppContext& ctx, const AppRequest& in) {
  auto op = ctx.directory->app_by_token(in.base.token);
  auto app = co_await std::move(op);
  if (!app) co_return Answer::error(kAuthErr, "auth failure");
  co_return app;
}

asio::awaitable<std::optional<Answer>> api_call_gate(AppContext& ctx, const HttpRequest& req,
                                                     const AppRequest& in, Caller* caller,
                                                     bool login) {
  caller->kind = in.base.kind();
  const bool device = in.base.is_device();
  if (device && login) {
    const std::string* login = string_field(in.body, "userName");
    if (!login) co_return Answer::error(kParamErr, "userName must be a string");
    auto op = ctx.directory->user_by_login(*login);
    caller->user = co_await std::move(op);
  } else if (device) {
    auto op = user_of_token(ctx, in.base.token);
    caller->user = co_await std::move(op);
    caller->token = in.base.token;
  } else {
    auto op = ctx.directory->app_by_token(in.base.token);
    caller->app = co_await std::move(op);
  }
  if (!caller->user && !caller->app) co_return Answer::error(kLoginErr, "Auth failure");
  auto t = tenant_of(ctx, caller->user ? caller->user->tenant_id : caller->app->tenant_id);
  caller->tenant = co_await std::move(t);
  if (!caller->tenant) co_return std::nullopt;  // no tenant: neither limited nor counted
  const std::string& api = req.path;            // the path only: a query string changes nothing
  if (!ctx.quotas->valid_api_call(caller->tenant->customer_id, caller->tenant->id, api)) {
    co_return Answer::error(kOverQuotaApiCall, "apicall auth failure");
  }
  co_return std::nullopt;
}

void count_api_call(AppContext& ctx, const HttpRequest& req, const Caller& caller) {
  if (!caller.tenant) return;
  static thread_local std::minstd_rand rng{std::random_device{}()};
  ctx.quotas->count_api_call(caller.counted(), req.path,
                             caller.user ? 0 : static_cast<int>(rng() % 10));
}

Answer answer_of_failure(AppContext& ctx, std::exception_ptr e, const std::string& db_msg) {
  try {
    std::rethrow_exception(e);
  } catch (const Refusal& r) {
    return Answer::error(r.ret, r.what());
  } catch (const mysql::Error& err) {
    if (err.code() == 1406) return Answer::error(kTooLong, "a value is too long for its field");
    note_store_failure(ctx, db_msg, err);
    return Answer::error(kInternalErr, db_msg);
  }
}

void note_store_failure(AppContext& ctx, const std::string& what, const std::exception& e) {
  ++ctx.stats.store_errors;
  auto now = std::chrono::steady_clock::now();
  if (now - ctx.stats.last_store_error_log < std::chrono::seconds(1)) return;
  ctx.stats.last_store_error_log = now;
  spdlog::warn("{}: {} ({} store failures so far)", what, e.what(), ctx.stats.store_errors);
}

namespace {

HttpResponse json_http(std::string text) {
  HttpResponse r;
  r.content_type = "application/json";
  r.body = std::move(text);
  return r;
}

// Runs a handler under the wrapper's rules; the answer and its text.
asio::awaitable<Answer> run(AppContext& ctx, const std::string& path, const AppHandler& handler,
                            const HttpRequest& req) {
  Answer a;
  try {
    auto op = handler(ctx, req);
    a = co_await std::move(op);
  } catch (const std::exception& e) {
    ++ctx.stats.internal_errors;
    spdlog::warn("{}: {}", path, e.what());
    a = Answer::error(kInternalErr, "internal error");
  }
  ++ctx.stats.answers[path][a.ret];
  co_return a;
}

}  // namespace

void add_app_route(HttpRouter& router, AppContext& ctx, const std::string& path,
                   std::set<std::string> methods, AppHandler handler) {
  router.add(path, std::move(methods),
             [&ctx, path, handler](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
               auto op = run(ctx, path, handler, req);
               Answer a = co_await std::move(op);
               co_return json_http(answer_text(a));
             });
}

void add_jsonp_route(HttpRouter& router, AppContext& ctx, const std::string& path,
                     AppHandler handler) {
  router.add(
      path, {"GET", "POST"},
      [&ctx, path, handler](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
        std::string callback(req.param_or("callbackparam"));
        if (!callback.empty() && !valid_jsonp_callback(callback)) {
          ++ctx.stats.answers[path][kParamErr];
          co_return json_http(answer_text(Answer::error(kParamErr, "invalid callbackparam")));
        }
        auto op = run(ctx, path, handler, req);
        Answer a = co_await std::move(op);
        if (callback.empty()) co_return json_http(answer_text(a));
        HttpResponse r;
        r.content_type = "application/javascript";
        r.body = callback + "(" + escape_js_separators(answer_text(a)) + ")\n";
        co_return r;
      });
}

}  // namespace appmsg::web::app
