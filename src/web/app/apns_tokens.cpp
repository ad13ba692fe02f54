// device/addApnsToken and device/delApnsToken.
#include "web/app/apns_tokens.hpp"

#include "common/http_server.hpp"
#include "web/app/envelope.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

asio::awaitable<void> save_apns_token(AppContext& ctx, std::string uid, std::string token) {
  auto op = ctx.db->execute(
      "INSERT INTO apns_token (id, user_id, device_id, apns_token, created, updated) VALUES "
      "(UUID(), ?, ?, ?, NOW(), NOW()) ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), "
      "apns_token = VALUES(apns_token), updated = NOW()",
      {uid, token, token});
  co_await std::move(op);
}

namespace {

// The caller (by user token) and the apnsToken field; an answer when either is wrong.
struct TokenRequest {
  UserPtr user;
  const std::string* apns = nullptr;
};

asio::awaitable<std::optional<Answer>> read(AppContext& ctx, const HttpRequest& req, AppRequest* in,
                                            TokenRequest* out, bool required) {
  auto parsed = parse_json_request(req);
  if (!parsed) co_return Answer::error(kParamErr, "request is not available");
  *in = std::move(*parsed);
  if (in->body.contains("apnsToken")) {
    out->apns = string_field(in->body, "apnsToken");
    if (!out->apns || out->apns->empty() || out->apns->size() > kMaxApnsTokenBytes) {
      co_return Answer::error(kParamErr, "apnsToken must be a non-empty string");
    }
  } else if (required) {
    co_return Answer::error(kParamErr, "apnsToken is required");
  }
  auto op = user_of_token(ctx, in->base.token);
  out->user = co_await std::move(op);
  if (!out->user) co_return Answer::error(kAuthErr, kSessionTimeout);
  co_return std::nullopt;
}

asio::awaitable<Answer> add(AppContext& ctx, const HttpRequest& req) {
  AppRequest in;
  TokenRequest t;
  auto r = read(ctx, req, &in, &t, false);
  if (auto bad = co_await std::move(r)) co_return *bad;
  if (!t.apns) co_return Answer{};  // nothing to save (as the original)
  try {
    auto op = save_apns_token(ctx, t.user->id, *t.apns);
    co_await std::move(op);
  } catch (const std::exception& e) {
    note_store_failure(ctx, "addApnsToken", e);
    co_return Answer::error(kInternalErr, "Save apns_token faild");
  }
  co_return Answer{kOk, "Save apns_token success", {}};
}

asio::awaitable<Answer> remove(AppContext& ctx, const HttpRequest& req) {
  AppRequest in;
  TokenRequest t;
  auto r = read(ctx, req, &in, &t, true);
  if (auto bad = co_await std::move(r)) co_return *bad;
  try {
    auto op = ctx.db->execute("DELETE FROM apns_token WHERE apns_token = ? AND user_id = ?",
                              {*t.apns, t.user->id});
    co_await std::move(op);
  } catch (const std::exception& e) {
    note_store_failure(ctx, "delApnsToken", e);
    co_return Answer::error(kInternalErr, "Delete apns_token faild");
  }
  co_return Answer{kOk, "Save apns_token success", {}};  // sic, as the original
}

}  // namespace

void add_apns_token_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/addApnsToken", {"POST"}, add);
  add_app_route(router, ctx, "/app/client/device/delApnsToken", {"POST"}, remove);
}

}  // namespace appmsg::web::app
