// Users and contacts (spec/app-api.md 3.3): device/getMember (the caller's tenant or its qun
// co-members only; no password), device/addOrRemoveContact (for the token's user, idempotent),
// device/search (the caller's tenant, LIKE wildcards escaped, pages of at most 100).
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_directory_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
