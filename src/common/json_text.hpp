// JSON text handled without building a document: checking, compacting and escaping message
// bodies. Every function here is iterative, so a deeply nested body ([[[[...]]]]) can never
// exhaust the stack (nlohmann's dump() recurses once per level; its accept() and parse() do
// not).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace appmsg {

// A body checked (valid JSON, valid UTF-8) and compacted: whitespace outside strings removed,
// then HTML-escaped as Go's encoder does. nullopt when it is not valid JSON.
std::optional<std::string> compact_json(std::string_view body);

// Removes whitespace outside strings; a raw CR or LF inside a string is escaped.
std::string strip_whitespace(std::string_view json);

// Go's encoder HTML escaping: < > & and U+2028, U+2029 as \u escapes.
std::string html_escape(std::string s);

// Message payloads (comet.md 1.6), fields in the order msg, mid, gid; never a literal CR or LF.
// New format: {"msg":<compact body>,"mid":N,"gid":0}; `compact_body` should come from
// compact_json (CR or LF left in it are removed or escaped anyway).
std::string encode_new(std::string_view compact_body, int64_t mid);
// Old format: {"msg":"<the raw body text as a JSON string>","mid":N,"gid":0}, HTML-escaped as
// Go's encoder does; invalid UTF-8 becomes U+FFFD.
std::string encode_old(std::string_view raw_body, int64_t mid);

// Nesting depth of a parsed value, counted without recursion; stops counting past `limit`.
int json_depth(const nlohmann::json& value, int limit);

}  // namespace appmsg
