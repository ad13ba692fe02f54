// The admin page and its data: web's own /stat plus the RPC `stat` of every comet and
// message node, asked in parallel.
#include "web/admin_overview.hpp"

#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/http_server.hpp"
#include "common/rpc.hpp"
#include "common/spawn.hpp"
#include "web/admin_api.hpp"
#include "web/api_codes.hpp"
#include "web/countdown.hpp"
#include "web/web_context.hpp"

namespace appmsg::web {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::chrono::milliseconds kNodeDeadline{1000};

// Runs `call` (an awaitable<json> factory) detached; its answer or {"error"} lands in
// (*out)[name]. `out` and `countdown` keep what the job writes to alive.
template <typename Call>
void ask(asio::any_io_executor ex, std::string name, Call call, std::shared_ptr<json> out,
         std::shared_ptr<Countdown> countdown) {
  spawn(
      ex,
      [](std::string name, Call call, std::shared_ptr<json> out,
         std::shared_ptr<Countdown> countdown) -> asio::awaitable<void> {
        struct Done {
          std::shared_ptr<Countdown> c;
          ~Done() { c->one_done(); }
        } done{countdown};
        try {
          auto op = call();
          (*out)[name] = co_await std::move(op);
        } catch (const std::exception& e) {
          (*out)[name] = json{{"error", e.what()}};
        }
      }(name, std::move(call), out, countdown),
      "admin overview: stat of " + name);
}

asio::awaitable<HttpResponse> cluster(WebContext& ctx, const HttpRequest& req) {
  if (!admin_authorised(ctx, req)) {
    auto r = json_response(json{{"ret", kAuthErr}});
    r.status = 401;
    co_return r;
  }
  auto ex = co_await asio::this_coro::executor;
  auto snap = ctx.comets->snapshot();
  auto addresses = ctx.messages->addresses();
  auto comets = std::make_shared<json>(json::object());
  auto messages = std::make_shared<json>(json::object());
  auto countdown = std::make_shared<Countdown>(ex, snap->nodes.size() + addresses.size());
  for (auto& [name, node] : snap->nodes) {
    ask(
        ex, name, [node = node] { return node->call("stat", json::object(), kNodeDeadline); },
        comets, countdown);
  }
  for (auto& address : addresses) {
    MessageNodes* nodes = ctx.messages;  // owned by WebService, which outlives requests
    ask(
        ex, address,
        [nodes, address] { return nodes->call_at(address, "stat", json::object(), kNodeDeadline); },
        messages, countdown);
  }
  auto wait = countdown->wait();
  co_await std::move(wait);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  json data{{"time_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now).count()},
            {"web", web_stat(ctx)},
            {"comets", std::move(*comets)},
            {"message_nodes", std::move(*messages)}};
  co_return json_response(json{{"ret", kOk}, {"data", std::move(data)}});
}

}  // namespace

void add_admin_overview_routes(HttpRouter& router, WebContext& ctx) {
  auto page = [&ctx](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return html_file_response(ctx.config.view_dir + "/admin.html");
  };
  router.add("/admin", {"GET"}, page);
  router.add("/admin/", {"GET"}, page);
  router.add("/admin/cluster", {"GET"},
             [&ctx](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
               auto op = cluster(ctx, req);
               co_return co_await std::move(op);
             });
}

}  // namespace appmsg::web
