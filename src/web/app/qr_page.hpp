// The QR page (spec/app-api.md 3.12 #38): GET /app/user/erweima?id=<uid>, the target of a
// user's QR code, an HTML card rendered from the template `[app] view.dir`/erweima.html with
// every value HTML-escaped (the original let a nickname carry stored XSS); and
// GET /app/user/erweima/qr.svg?id=<uid>, the QR code of that page's address, drawn on the
// server with libqrencode as SVG and linked from the page. No token is needed, so email and
// phone are shown only when `[app] qr.contact` is true (the original exposed the mobile number
// of any id). Unknown id: 404 "Not Found"; an unreadable or broken template: 500 with the
// reason.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_qr_routes(HttpRouter& router, AppContext& ctx);

// "<", ">", "&", '"' and "'" as entities.
std::string html_escape(const std::string& text);
// Replaces each {{name}} of `tmpl` with the escaped value of `name`; throws
// std::runtime_error naming an unknown or unclosed placeholder.
std::string render_template(const std::string& tmpl,
                            const std::vector<std::pair<std::string, std::string>>& values);
// The QR code of `text` as an SVG document; throws std::runtime_error when it cannot be
// encoded.
std::string qr_svg(const std::string& text);

}  // namespace appmsg::web::app
