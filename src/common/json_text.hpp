// JSON text handled without building a document: checking message bodies, removing
// insignificant whitespace, finding a member's raw value, and the two payload encodings.
//
// A pushed body is checked once where it enters (is_json), then carried as the bytes the
// caller sent, through comet, message node and store. Nothing here reorders keys, re-escapes
// strings or HTML-escapes: what a client receives is what was pushed, less the whitespace
// between tokens in the new format (which must never hold a raw CR or LF).
// Every function here is iterative, so a deeply nested body ([[[[...]]]]) can never exhaust
// the stack.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appmsg {

// True when `body` is one valid JSON value (valid UTF-8, no raw control characters in strings).
bool is_json(std::string_view body);

// Removes whitespace outside strings; keeps every other byte, key order and escapes as they
// are. A raw CR or LF inside a string (invalid JSON, reachable only when the caller skipped
// is_json) is escaped, so the result never holds CR or LF.
std::string strip_whitespace(std::string_view json);

// For JavaScript answers (JSONP): U+2028 and U+2029, line terminators in older JavaScript
// string literals, as \u escapes. Applied to JSON text, where they only occur inside strings.
std::string escape_js_separators(std::string s);

// The members of a JSON object text, as (raw key text with its quotes, raw value text), in
// their order; nullopt when `object` is not an object this scanner can walk. It does not
// validate: check the text with is_json first when it comes from outside.
std::optional<std::vector<std::pair<std::string_view, std::string_view>>> object_members(
    std::string_view object);

// Message payloads (comet.md 1.6), fields in the order msg, mid, gid; never a raw CR or LF.
// New format: {"msg":<body, whitespace between tokens removed>,"mid":N,"gid":0}.
std::string encode_new(std::string_view body, int64_t mid);
// Old format: {"msg":"<the body's text as a JSON string>","mid":N,"gid":0}; invalid UTF-8
// becomes U+FFFD.
std::string encode_old(std::string_view body, int64_t mid);
// The body's text as a JSON string literal (quotes included).
std::string json_string(std::string_view text);

}  // namespace appmsg
