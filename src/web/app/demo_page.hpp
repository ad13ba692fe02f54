// The demo page on the /app listener: GET / and /demo serve `[app] view.dir`/demo.html with
// {{public_port}} set to the port of the public API ([base] http.bind), which the page's
// script (static/demo.js, on the browser SDK static/appmsg.js) calls for /1/server/get.
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;

void add_demo_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
