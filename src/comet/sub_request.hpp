// The subscription request, from either client protocol: the arguments of the TCP `sub`
// command (spec/comet.md 1.3) or the WebSocket `/sub` query (1W), checked against the limits
// into one SubRequest. Pure functions: no I/O; untrusted input never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/limits.hpp"

namespace appmsg::comet {

struct SubLimits {
  int min_heartbeat = 30;                       // the original's minimum, in seconds
  int max_heartbeat = 3600;                     // W3: a dead socket is held at most an hour
  size_t max_key_bytes = limits::kMaxKeyBytes;  // session ids are <= 64 chars (W16)
  size_t max_token_bytes = 256;                 // tokens are short random strings
  size_t max_version_bytes = 32;                // versions look like "1.0.4"
};

struct SubRequest {
  std::string key;
  int heartbeat = 0;  // seconds, as sent (the server adds its grace)
  std::string token;
  std::string version;                // empty: old message format
  std::optional<int64_t> resume_mid;  // the client's last mid, when it asks to resume
};

// Validates the parsed arguments of a command (spec 1.3): args[0] must be exactly "sub", key
// non-empty and at most max_key_bytes, heartbeat decimal (optional sign as the original) within
// [min,max] (above max is -p: W3), token/version optional, and an optional 5th argument (after
// the version) that is the client's last mid for resume (decimal int64 >= 0; malformed -> -p).
// Returns nullopt for a -p reply.
std::optional<SubRequest> parse_sub(const std::vector<std::string>& args,
                                    const SubLimits& limits = {});

// The same from a WebSocket /sub query (already decoded pairs; parameters key, heartbeat, token,
// ver, and mid for resume): nullopt means -p. As Go's Query().Get, the first occurrence of a
// parameter wins and unknown parameters are ignored; a `mid` that is present must be valid.
std::optional<SubRequest> parse_sub_query(
    const std::vector<std::pair<std::string, std::string>>& query, const SubLimits& limits = {});

}  // namespace appmsg::comet
