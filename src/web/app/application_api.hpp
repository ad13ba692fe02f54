// Applications and shields (spec/app-api.md 3.8, 3.9): device/getApplicationList (the caller's
// tenant's applications and the global ones, by sort), device/getAppOperationList (an
// application's menu, read in one query), and device/setShieldMsg (idempotent) /
// cancelShieldMsg / isUserShieldApp for the token's own user. A type-1 shield (an
// application muted) is honoured by app/user/push; a type-0 shield (a user muted) is stored for
// the clients, which hide that user's messages: the server still delivers them.
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_application_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
