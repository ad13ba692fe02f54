// The limits every daemon applies to a message, defined once so that what one daemon accepts
// the next one accepts too: a body web takes is delivered by the comet and stored by the
// message node, and a key the comet serves the message node stores.
//
// Bodies travel as the bytes the caller sent (common/json_text.hpp): no hop rewrites them, so
// a body within kMaxBodyBytes stays within it at every hop.
#pragma once

#include <cstddef>
#include <cstdint>

namespace appmsg::limits {

// A key (`<id>@user`, a session key such as `123_Mozilla-5-442@user`): the MySQL store's
// `skey` column is VARCHAR(255).
constexpr size_t kMaxKeyBytes = 255;
// A pushed message body: the MySQL store's `msg` column is a BLOB (65,535 bytes).
constexpr size_t kMaxBodyBytes = 65535;
// How long an offline copy may be kept, in seconds (a year).
constexpr int64_t kMaxExpireSeconds = 365LL * 24 * 3600;

}  // namespace appmsg::limits
