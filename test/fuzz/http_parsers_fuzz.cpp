/*
 * http_parsers_fuzz: libFuzzer target for the HTTP helpers every listener uses (common/http):
 * query and form parsing, URL escapes, Go integers, and the JSONP callback check and answer.
 *
 * Input: the bytes, used five ways. Besides crashing (ASan/UBSan), it aborts when:
 *  - url_decode(url_encode(s)) is not s, or url_encode's output is not URL-safe;
 *  - pairs encoded as a query do not parse back to the same pairs, or parse_query on the raw
 *    bytes gives more pairs than parts;
 *  - parse_go_int disagrees with a plain model of Go's strconv.ParseInt(s, 10, 64);
 *  - valid_jsonp_callback disagrees with a model (dot-joined JavaScript identifiers, at most
 *    128 characters);
 *  - a JSONP answer for the bytes as `callback` is not exactly CALLBACK(json) for a valid
 *    name, or not {"ret":65534} as plain JSON for an invalid one, or holds a raw U+2028.
 */
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "common/http.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::optional<int64_t> go_int_model(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  __int128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
    if (v > (static_cast<__int128>(1) << 63)) return std::nullopt;
  }
  if (negative) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
  return static_cast<int64_t>(v);
}

bool callback_model(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view part =
        s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty()) return false;
    for (size_t i = 0; i < part.size(); ++i) {
      const unsigned char c = part[i];
      const bool ident = std::isalpha(c) || c == '_' || c == '$';
      if (!ident && !(i > 0 && std::isdigit(c))) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

void check_escapes(std::string_view s) {
  const std::string encoded = appmsg::url_encode(s);
  for (unsigned char c : encoded)
    check(std::isalnum(c) || std::string_view("-_.~@%").find(c) != std::string_view::npos);
  check(appmsg::url_decode(encoded) == s);
}

void check_query(std::string_view s) {
  // One pair per non-empty part at most.
  check(appmsg::parse_query(s).size() <=
        static_cast<size_t>(std::count(s.begin(), s.end(), '&')) + 1);
  // Pairs from the bytes (split at NUL into key, value, key, value, ...) survive encoding.
  appmsg::HttpFields pairs;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t a = s.find('\0', pos);
    const std::string key(s.substr(pos, a == std::string_view::npos ? a : a - pos));
    std::string value;
    pos = a == std::string_view::npos ? s.size() + 1 : a + 1;
    if (pos <= s.size()) {
      const size_t b = s.find('\0', pos);
      value = std::string(s.substr(pos, b == std::string_view::npos ? b : b - pos));
      pos = b == std::string_view::npos ? s.size() + 1 : b + 1;
    }
    pairs.emplace_back(key, value);
  }
  std::string query;
  for (const auto& [k, v] : pairs) {
    if (!query.empty()) query += '&';
    query += appmsg::url_encode(k) + "=" + appmsg::url_encode(v);
  }
  check(appmsg::parse_query(query) == pairs);
}

void check_jsonp(std::string_view s) {
  appmsg::HttpRequest req;
  req.query.emplace_back("callback", std::string(s));
  const auto r = appmsg::json_text_response("{\"a\":\"\xE2\x80\xA8\"}", &req);
  if (s.empty()) {
    check(r.body == "{\"a\":\"\xE2\x80\xA8\"}");
  } else if (callback_model(s)) {
    check(r.body == std::string(s) + "({\"a\":\"\\u2028\"})");
    check(r.content_type.starts_with("application/javascript"));
  } else {
    check(r.body == "{\"ret\":65534}");
    check(r.content_type.starts_with("application/json"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  check_escapes(s);
  check_query(s);
  check(appmsg::parse_go_int(s) == go_int_model(s));
  check(appmsg::valid_jsonp_callback(s) == callback_model(s));
  check_jsonp(s);
  return 0;
}
