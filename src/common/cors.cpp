// CorsPolicy: origin checks, preflight answers and response headers.
#include "common/cors.hpp"

#include <algorithm>

namespace appmsg {

bool CorsPolicy::allows(std::string_view origin) const {
  if (origin.empty() || origin == "null") return false;
  return std::any_of(origins_.begin(), origins_.end(),
                     [&](const std::string& o) { return o == "*" || o == origin; });
}

std::optional<HttpResponse> CorsPolicy::preflight(const HttpRequest& req) const {
  if (req.method != "OPTIONS" || !req.header("Access-Control-Request-Method")) return std::nullopt;
  auto origin = req.header("Origin");
  if (!origin || !allows(*origin)) return std::nullopt;
  HttpResponse res{204, "text/plain; charset=utf-8", "", {}};
  res.headers = {{"Access-Control-Allow-Origin", std::string(*origin)},
                 {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                 {"Access-Control-Max-Age", "600"},
                 {"Vary", "Origin"}};
  if (auto asked = req.header("Access-Control-Request-Headers")) {
    res.headers.emplace_back("Access-Control-Allow-Headers", std::string(*asked));
  }
  return res;
}

void CorsPolicy::decorate(const HttpRequest& req, HttpResponse& res) const {
  if (!enabled()) return;
  // Whatever the origin: a cache must not hand one origin's answer to another.
  res.headers.emplace_back("Vary", "Origin");
  auto origin = req.header("Origin");
  if (origin && allows(*origin)) {
    res.headers.emplace_back("Access-Control-Allow-Origin", std::string(*origin));
  }
}

}  // namespace appmsg
