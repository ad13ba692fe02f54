// Request helpers: query/form decoding, JSON and JSONP responses.
#include "common/http.hpp"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "common/json_text.hpp"

namespace appmsg {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string_view> find(const HttpFields& fields, std::string_view name) {
  for (auto& [k, v] : fields) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

constexpr int kParamErr = 65534;
}  // namespace

std::optional<std::string_view> HttpRequest::param(std::string_view name) const {
  if (auto v = find(query, name)) return v;
  return find(form, name);
}

std::string_view HttpRequest::query_param(std::string_view name) const {
  auto v = find(query, name);
  return v ? *v : std::string_view();
}

std::string_view HttpRequest::param_or(std::string_view name, std::string_view def) const {
  auto v = param(name);
  return v ? *v : def;
}

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '@') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

HttpFields parse_query(std::string_view query) {
  HttpFields out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(url_decode(part), std::string());
    } else {
      out.emplace_back(url_decode(part.substr(0, eq)), url_decode(part.substr(eq + 1)));
    }
  }
  return out;
}

bool valid_jsonp_callback(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  bool start = true;
  for (char c : name) {
    bool ident = isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$';
    bool digit = isdigit(static_cast<unsigned char>(c));
    if (c == '.') {
      if (start) return false;
      start = true;
    } else if (ident || (digit && !start)) {
      start = false;
    } else {
      return false;
    }
  }
  return !start;
}

HttpResponse json_response(const nlohmann::json& body, const HttpRequest* jsonp_source) {
  return json_text_response(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                            jsonp_source);
}

HttpResponse json_text_response(std::string json_text, const HttpRequest* jsonp_source) {
  HttpResponse r;
  std::string_view callback;
  if (jsonp_source) {
    callback = jsonp_source->param_or("callback");
    if (callback.empty()) callback = jsonp_source->param_or("cb");
  }
  if (callback.empty()) {
    r.body = std::move(json_text);
    return r;
  }
  if (!valid_jsonp_callback(callback)) {
    r.body = nlohmann::json{{"ret", kParamErr}}.dump();
    return r;
  }
  r.content_type = "application/javascript;charset=utf-8";
  r.body.reserve(callback.size() + json_text.size() + 2);
  r.body.append(callback);
  r.body += '(';
  // U+2028/U+2029 end a line inside an older JavaScript string literal: escaped, the same value.
  r.body += escape_js_separators(std::move(json_text));
  r.body += ')';
  return r;
}

HttpResponse text_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

std::optional<int64_t> parse_go_int(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  // Accumulate as a negative number so that INT64_MIN is representable.
  int64_t value = 0;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const int digit = c - '0';
    if (value < (kMin + digit) / 10) return std::nullopt;  // value * 10 - digit < kMin
    value = value * 10 - digit;
  }
  if (negative) return value;
  if (value == kMin) return std::nullopt;
  return -value;
}

HttpResponse html_file_response(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    spdlog::warn("cannot read the page {}", path);
    return text_response(404, "Not Found");
  }
  return HttpResponse{200, "text/html;charset=utf-8", text.str(), {}};
}

}  // namespace appmsg
