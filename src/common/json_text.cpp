// JSON text without documents: checks, whitespace stripping, member scanning, payloads.
#include "common/json_text.hpp"

#include <nlohmann/json.hpp>

namespace appmsg {

bool is_json(std::string_view body) {
  try {
    // accept() is a SAX pass without recursion, so deep nesting cannot exhaust the stack;
    // it rejects invalid UTF-8 and raw control characters inside strings.
    return nlohmann::json::accept(body.begin(), body.end());
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

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

std::string escape_js_separators(std::string s) {
  if (s.find('\xE2') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\xE2' && i + 2 < s.size() && s[i + 1] == '\x80' &&
        (s[i + 2] == '\xA8' || s[i + 2] == '\xA9')) {
      out += s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// The end of the string literal starting at s[i] == '"', or npos.
size_t string_end(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// The end of the value starting at s[i] (no leading space), or npos. Brackets are counted,
// strings skipped; scalars end at the next delimiter.
size_t value_end(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return string_end(s, i);
  if (s[i] != '{' && s[i] != '[') {
    while (i < s.size() && !is_space(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
    return i;
  }
  size_t depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      i = string_end(s, i);
      if (i == std::string_view::npos) return i;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
    ++i;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::vector<std::pair<std::string_view, std::string_view>>> object_members(
    std::string_view s) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  i = skip_space(s, i + 1);
  if (i < s.size() && s[i] == '}') return out;
  while (i < s.size()) {
    if (s[i] != '"') return std::nullopt;
    size_t key_end = string_end(s, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    std::string_view key = s.substr(i, key_end - i);
    i = skip_space(s, key_end);
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    i = skip_space(s, i + 1);
    size_t end = value_end(s, i);
    if (end == std::string_view::npos || end == i) return std::nullopt;
    out.emplace_back(key, s.substr(i, end - i));
    i = skip_space(s, end);
    if (i >= s.size()) return std::nullopt;
    if (s[i] == '}') return out;
    if (s[i] != ',') return std::nullopt;
    i = skip_space(s, i + 1);
  }
  return std::nullopt;
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

std::string encode_new(std::string_view body, int64_t mid) {
  if (body.find_first_of(" \t\r\n") != std::string_view::npos) {
    return wrap(strip_whitespace(body), mid);
  }
  return wrap(body, mid);
}

std::string json_string(std::string_view text) {
  // dump() escapes '"', '\\' and every control character (CR and LF included).
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string encode_old(std::string_view body, int64_t mid) {
  return wrap(json_string(body), mid);
}

}  // namespace appmsg
