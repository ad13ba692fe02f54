// The admin page: the cluster at a glance, on the admin listener.
//   GET /admin, /admin/    the page (`[app] view.dir`/admin.html; it holds no data itself)
//   GET /admin/cluster     {"ret":0,"data":{"time_ms","web":<web's /stat>,
//                           "comets":{name:<RPC stat>|{"error"}},
//                           "message_nodes":{address:<RPC stat>|{"error"}}}}
//                          behind [admin] secret (X-Appmsg-Secret, else 401 {"ret":65533});
//                          every node is asked at once, each call within 1 s.
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web {

struct WebContext;

void add_admin_overview_routes(HttpRouter& router, WebContext& ctx);

}  // namespace appmsg::web
