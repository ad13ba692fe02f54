// Plain HTTP request/response values and the helpers every listener uses: query and form
// parsing, JSON and JSONP answers. No Beast here, so including it is cheap.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appmsg {

using HttpFields = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // decoded path without the query
  HttpFields query;    // decoded, in order
  HttpFields form;     // decoded application/x-www-form-urlencoded body, in order
  HttpFields headers;
  std::string body;
  std::string remote_address;  // "ip:port"
  // When the whole request had been read: the start of its one deadline, queueing included.
  std::chrono::steady_clock::time_point received{};

  // First value of a query parameter, else of a form field (the first of repeated ones wins).
  std::optional<std::string_view> param(std::string_view name) const;
  std::string_view param_or(std::string_view name, std::string_view def = {}) const;
  // First value of a query parameter only ("" when missing).
  std::string_view query_param(std::string_view name) const;
  std::optional<std::string_view> header(std::string_view name) const;  // case-insensitive
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json;charset=utf-8";
  std::string body;
  HttpFields headers;  // extra headers
};

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space). Malformed escapes are kept as is.
HttpFields parse_query(std::string_view query);
std::string url_decode(std::string_view s);
std::string url_encode(std::string_view s);

// Go's strconv.ParseInt(s, 10, 64): an optional '+' or '-', then one or more ASCII digits
// (leading zeros allowed), within int64. Anything else (spaces, '_', empty) is nullopt.
std::optional<int64_t> parse_go_int(std::string_view s);

// A JSONP callback name the original browser SDK may send: identifiers joined by dots,
// e.g. "GoPushCli.callback_k3x9"; at most 128 characters.
bool valid_jsonp_callback(std::string_view name);

// A JSON answer; when the request carries a non-empty `callback` (or `cb`) parameter, the body
// becomes exactly CALLBACK(json) with application/javascript. An invalid callback name gets
// {"ret":65534} as plain JSON.
HttpResponse json_response(const nlohmann::json& body, const HttpRequest* jsonp_source = nullptr);
// The same for JSON text already serialised (e.g. to keep a field order).
HttpResponse json_text_response(std::string json_text, const HttpRequest* jsonp_source = nullptr);
HttpResponse text_response(int status, std::string body);
// A page from a file: 200 text/html;charset=utf-8 with its bytes, or 404 "Not Found" (logged)
// when it cannot be read.
HttpResponse html_file_response(const std::string& path);

}  // namespace appmsg
