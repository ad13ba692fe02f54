// JSON text without documents: compact_json, whitespace stripping, HTML escaping, depth.
#include "common/json_text.hpp"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace appmsg {

// Removes whitespace outside strings. A raw CR or LF inside a string (invalid JSON, reachable
// only when the caller skipped compact_json) is escaped, so the result never holds CR or LF.
std::string strip_whitespace(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      if (c == '\n' || c == '\r') {
        out += c == '\n' ? "\\n" : "\\r";
        escaped = false;
        continue;
      }
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      out += c;
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      if (c == '"') in_string = true;
      out += c;
    }
  }
  return out;
}

// Go's encoder HTML escaping: < > & and U+2028, U+2029 as \u escapes. Applied to JSON text in
// which these can only occur inside strings, so the result is the same value.
std::string html_escape(std::string s) {
  if (s.find_first_of("<>&\xE2") == std::string::npos) return s;
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < s.size() && s[i + 1] == '\x80' &&
               (s[i + 2] == '\xA8' || s[i + 2] == '\xA9')) {
      out += s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> compact_json(std::string_view body) {
  try {
    // accept() is a SAX pass without recursion, so deep nesting cannot exhaust the stack;
    // it rejects invalid UTF-8 and raw control characters inside strings.
    if (!nlohmann::json::accept(body.begin(), body.end())) return std::nullopt;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return html_escape(strip_whitespace(body));
}

int json_depth(const nlohmann::json& value, int limit) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> stack{{&value, 1}};
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (!v->is_structured()) continue;
    deepest = std::max(deepest, depth);
    if (deepest > limit) return deepest;
    for (auto& child : *v) stack.emplace_back(&child, depth + 1);
  }
  return deepest;
}

namespace {

std::string wrap(std::string_view msg, int64_t mid) {
  std::string out;
  out.reserve(msg.size() + 48);
  out += R"({"msg":)";
  out += msg;
  out += R"(,"mid":)";
  out += std::to_string(mid);
  out += R"(,"gid":0})";
  return out;
}

}  // namespace

std::string encode_new(std::string_view compact_body, int64_t mid) {
  if (compact_body.find_first_of("\r\n") != std::string_view::npos) {
    return wrap(strip_whitespace(compact_body), mid);
  }
  return wrap(compact_body, mid);
}

std::string encode_old(std::string_view raw_body, int64_t mid) {
  // dump() escapes '"', '\\' and every control character (CR and LF included).
  const std::string quoted = nlohmann::json(std::string(raw_body))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return wrap(html_escape(quoted), mid);
}

}  // namespace appmsg
