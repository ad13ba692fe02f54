// The directory sync API for backends (spec/app-api.md 3.11, with its [fix] items):
// app/syncOrg, app/syncUser, app/syncTenant (its `tennat` key [compat]), app/syncQuota (its
// `quata` key [compat]). Each is one MySQL transaction, rolled back whole on any failure, and
// answers what happened (the original answered 0 whatever it did).
//
// Who may write what: an application of a tenant writes that tenant's orgs and users and its
// own tenant row; a system application (one of no tenant) writes every tenant. Quotas are
// limits on tenants, so only a system application sets them (a tenant's own application
// would otherwise raise its own limit).
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_sync_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
