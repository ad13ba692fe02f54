// Cross-origin access (CORS) for a listener: which page origins may call it from a browser,
// the answer to a preflight (OPTIONS with Access-Control-Request-Method), and the headers an
// allowed origin's answers carry. An empty origin list turns it off (the original's behaviour:
// browsers then reach the API only through JSONP).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/http.hpp"

namespace appmsg {

class CorsPolicy {
 public:
  CorsPolicy() = default;
  // Origins as a browser sends them ("http://host:port"), or "*" for any.
  explicit CorsPolicy(std::vector<std::string> origins) : origins_(std::move(origins)) {}

  bool enabled() const { return !origins_.empty(); }
  bool allows(std::string_view origin) const;
  // The answer to a preflight from an allowed origin (204, methods GET/POST/OPTIONS, the
  // requested headers, cached 10 minutes); nullopt when `req` is no preflight or its origin is
  // not allowed (it is then routed as usual: an unknown OPTIONS gets 405).
  std::optional<HttpResponse> preflight(const HttpRequest& req) const;
  // When enabled: Vary: Origin on every answer, and Access-Control-Allow-Origin (the request's
  // origin) on the answer to an allowed origin.
  void decorate(const HttpRequest& req, HttpResponse& res) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace appmsg
