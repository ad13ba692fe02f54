// Logging in and tokens (spec/app-api.md 3.1): device/login (password checked: 65539 on a
// mismatch), device/validateToken, device/delToken (own tokens only), app/user/auth and the
// JSONP appweb/login (an answer body, as CALLBACK(json)).
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_login_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
