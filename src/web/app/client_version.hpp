// device/checkUpdate (spec/app-api.md 3.10): the newest client_version row of a client type,
// as a msgType 1001 notice.
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_client_version_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
