// device/checkUpdate.
#include "web/app/client_version.hpp"

#include "common/http_server.hpp"
#include "web/app/envelope.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {

asio::awaitable<Answer> check_update(AppContext& ctx, const HttpRequest& req) {
  auto in = parse_json_request(req);
  if (!in) co_return Answer::error(kParamErr, "request is not available");
  const std::string* type = string_field(in->body, "type");
  if (!type) co_return Answer::error(kParamErr, "type is required");
  auto u = user_of_token(ctx, in->base.token);
  if (!co_await std::move(u)) co_return Answer::error(kAuthErr, kSessionTimeout);
  auto op = ctx.db->execute(
      "SELECT ver_code, ver_name, IFNULL(ver_description, ''), download_url, file_name FROM "
      "client_version WHERE type = ? ORDER BY ver_code DESC LIMIT 1",
      {*type});
  auto r = co_await std::move(op);
  if (r.rows.empty()) co_return Answer::error(kInternalErr, "no client version of this type");
  auto& row = r.rows[0];
  Answer a;
  a.payload["msg"] =
      ojson{{"msgType", 1001},
            {"content", row[2].value_or("")},
            {"objectContent", ojson{{"versionCode", std::stoll(row[0].value_or("0"))},
                                    {"versionName", row[1].value_or("")},
                                    {"url", row[3].value_or("")},
                                    {"fileName", row[4].value_or("")}}}};
  co_return a;
}

}  // namespace

void add_client_version_routes(HttpRouter& router, AppContext& ctx) {
  add_app_route(router, ctx, "/app/client/device/checkUpdate", {"POST"}, check_update);
}

}  // namespace appmsg::web::app
