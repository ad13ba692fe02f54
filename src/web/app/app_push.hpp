// app/user/push (spec/app-api.md 3.2 #8): a backend application pushes one message to up to
// [app] names.max (1000) names (65532 above). The sender is the token's application, never the
// body's appId; users who shield the application (shield_msg type 1) get nothing; the answer's
// `mlist` lists every copy's mid and key. Not limited nor counted (as the original).
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_app_push_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
