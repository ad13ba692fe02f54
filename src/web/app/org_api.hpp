// The organisation tree (spec/app-api.md 3.4): device/getOrgInfo (the caller's tenant as one
// tree, read in one query, every level sorted by sort then id; the caller's first org; its
// contacts), device/getOrgUserList (now for a user of the org's tenant) and app/getOrgUserList
// (ordered by sort), app/getOrgList, and app/addOrgUser (idempotent) / app/removeOrgUser with
// `successed` [compat]. Applications act within their own tenant only (a system application,
// of no tenant, within every tenant).
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_org_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
