// The admin API on [base] admin.bind (spec/web-core.md section 4), POST only. When [admin]
// secret is set, every call must carry it in the X-Appmsg-Secret header (else HTTP 401,
// {"ret":65533}).
//   /1/admin/push/private?key=K&expire=S   body: the message (JSON)  -> {"data":{"mid":N},"ret":0}
//   /admin/push                            the same
//   /1/admin/push/mprivate?expire=S        body: {"k":[keys],"m":<message>}
//       -> {"data":{"fk":[failed keys],"mids":[mid per key, 0 if failed]},"ret":0}
//       keys are grouped by comet: one call per comet, all comets at once
//   /1/admin/msg/del, /admin/msg/clean     key in the form body or the query -> {"ret":0}
#pragma once

#include <cstdint>
#include <string_view>

namespace appmsg {
class HttpRouter;
struct HttpRequest;
}  // namespace appmsg

namespace appmsg::web {

struct WebContext;

void add_admin_routes(HttpRouter& router, WebContext& ctx);
// The request carries [admin] secret (always true when none is set); counts failures.
bool admin_authorised(WebContext& ctx, const HttpRequest& req);

// Go's strconv.ParseUint(s, 10, 32): digits only, no sign, at most 4294967295.
bool parse_expire(std::string_view s, int64_t& out);
// True when every '%' of a form-encoded body starts a two-hex-digit escape (Go's ParseQuery
// refuses the body otherwise: spec 12.2 #33).
bool valid_form_escapes(std::string_view body);

}  // namespace appmsg::web
