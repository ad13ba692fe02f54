// Pushes by users (spec/app-api.md 3.2 #6, #7): device/push (JSON, behind the apiCallStat gate)
// and the JSONP appweb/push. The sender is always the token's owner (65533 otherwise); a qun
// send needs membership (65538) and carries the "<from>|<name>|<nick>&&" content prefix; an
// @org or @tenant send stays within the caller's own tenant (65533).
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_device_push_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
