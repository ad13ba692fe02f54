// Sessions (spec/app-api.md 3.7): device/setSessionState and app/setSessionState (one handler:
// a user token for deviceType ios/android, else an app token; a user sets only its own
// sessions, an app only those of its tenant's users; 65531 for no such live session), and
// app/getSessions (Session objects with `sate`).
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_session_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
