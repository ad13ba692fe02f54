// The public API on [base] http.bind (spec/web-core.md section 3), GET only, JSONP through
// `cb` or `callback`:
//   /1/server/get?k=KEY&p=PROTO    -> {"data":{"server":"host:port"},"ret":0}   p: 1 ws, 2 tcp
//   /1/msg/get?k=KEY&m=MID         -> {"data":{"msgs":[{"msg":..,"mid":N,"gid":0},..]},"ret":0}
//   /1/time/get                    -> {"data":{"timeid":<unix µs>},"ret":0}
// and the old forms /server/get (key, proto), /msg/get (key, mid), /time/get (100 ns units),
// which add "msg":"ok" and encode offline messages as JSON strings.
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web {

struct WebContext;

void add_public_routes(HttpRouter& router, WebContext& ctx);

}  // namespace appmsg::web
