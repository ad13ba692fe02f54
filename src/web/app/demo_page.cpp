// The demo page: the template with the public API's port.
#include "web/app/demo_page.hpp"

#include "common/http_server.hpp"
#include "web/app/app_context.hpp"
#include "web/app/qr_page.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

void add_demo_routes(HttpRouter& router, AppContext& ctx) {
  auto page = [&ctx](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    const WebConfig& web = ctx.web->config;
    HttpResponse r = html_file_response(web.view_dir + "/demo.html");
    if (r.status != 200) co_return r;
    std::string port;
    if (!web.http_bind.empty()) port = std::to_string(split_host_port(web.http_bind[0]).second);
    r.body = render_template(r.body, {{"public_port", port}});
    co_return r;
  };
  router.add("/", {"GET"}, page);
  router.add("/demo", {"GET"}, page);
}

}  // namespace appmsg::web::app
