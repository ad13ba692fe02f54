// The erweima page, its QR image, and the template renderer.
#include "web/app/qr_page.hpp"

#include <qrencode.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "common/http_server.hpp"
#include "web/app/app_context.hpp"
#include "web/app/envelope.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_template(const std::string& tmpl,
                            const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  size_t at = 0;
  while (true) {
    size_t open = tmpl.find("{{", at);
    if (open == std::string::npos) break;
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string::npos) throw std::runtime_error("template: unclosed {{");
    std::string name = tmpl.substr(open + 2, close - open - 2);
    const std::string* value = nullptr;
    for (auto& [k, v] : values)
      if (k == name) value = &v;
    if (!value) throw std::runtime_error("template: unknown placeholder {{" + name + "}}");
    out.append(tmpl, at, open - at);
    out += html_escape(*value);
    at = close + 2;
  }
  out.append(tmpl, at, std::string::npos);
  return out;
}

std::string qr_svg(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
      QRcode_encodeString8bit(text.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!qr)
    throw std::runtime_error("the QR code cannot hold " + std::to_string(text.size()) + " bytes");
  const int n = qr->width, quiet = 4, size = n + 2 * quiet;
  std::ostringstream svg;
  svg << R"(<?xml version="1.0" encoding="UTF-8"?>)"
      << "\n"
      << R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 )" << size << ' ' << size
      << R"(" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d=")";
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      if (qr->data[y * n + x] & 1) svg << 'M' << x + quiet << ',' << y + quiet << "h1v1h-1z";
    }
  }
  svg << "\"/></svg>\n";
  return svg.str();
}

namespace {

HttpResponse not_found() {
  HttpResponse r;
  r.status = 404;
  r.content_type = "text/plain;charset=utf-8";
  r.body = "Not Found";
  return r;
}

HttpResponse failure(const std::string& why) {
  HttpResponse r;
  r.status = 500;
  r.content_type = "text/plain;charset=utf-8";
  r.body = why;
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The address of the page for `id` as the client reached this node.
std::string page_url(const HttpRequest& req, const std::string& id) {
  std::string host(req.header("Host").value_or("localhost"));
  return "http://" + host + "/app/user/erweima?id=" + url_encode(id);
}

asio::awaitable<HttpResponse> erweima(AppContext& ctx, const HttpRequest& req) {
  std::string id(req.query_param("id"));
  if (id.empty() || id.size() > 64) co_return not_found();
  UserPtr user;
  try {
    auto u = ctx.directory->user(id);
    user = co_await std::move(u);
  } catch (const std::exception& e) {
    note_store_failure(ctx, "erweima", e);
    co_return failure("the directory is unavailable");
  }
  if (!user) co_return not_found();
  HttpResponse r;
  r.content_type = "text/html;charset=utf-8";
  try {
    const std::string tmpl = read_file(ctx.web->config.view_dir + "/erweima.html");
    r.body =
        render_template(tmpl, {{"nickname", user->nickname.empty() ? user->name : user->nickname},
                               {"email", ctx.config.qr_contact ? user->email : ""},
                               {"phone", ctx.config.qr_contact ? user->mobile : ""},
                               {"qr", "/app/user/erweima/qr.svg?id=" + url_encode(id)},
                               {"url", page_url(req, id)}});
  } catch (const std::exception& e) {
    spdlog::warn("web: erweima: {}", e.what());  // the operator's template: 500 with the reason
    co_return failure(e.what());
  }
  co_return r;
}

asio::awaitable<HttpResponse> erweima_qr(AppContext& ctx, const HttpRequest& req) {
  std::string id(req.query_param("id"));
  if (id.empty() || id.size() > 64) co_return not_found();
  try {
    auto u = ctx.directory->user(id);
    if (!co_await std::move(u)) co_return not_found();
    HttpResponse r;
    r.content_type = "image/svg+xml";
    r.body = qr_svg(page_url(req, id));  // of the Host it was asked on: not cached
    co_return r;
  } catch (const mysql::Error& e) {
    note_store_failure(ctx, "erweima QR code", e);
    co_return failure("the directory is unavailable");
  } catch (const std::exception& e) {
    co_return failure(e.what());
  }
}

}  // namespace

void add_qr_routes(HttpRouter& router, AppContext& ctx) {
  router.add("/app/user/erweima", {"GET"},
             [&ctx](const HttpRequest& req) { return erweima(ctx, req); });
  router.add("/app/user/erweima/qr.svg", {"GET"},
             [&ctx](const HttpRequest& req) { return erweima_qr(ctx, req); });
}

}  // namespace appmsg::web::app
