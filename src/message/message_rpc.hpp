// The message node's internal RPC (DESIGN.md section 4), called by comets and web nodes:
//   save        {"key","msg":<JSON>,"mid","expire"}               -> {}
//   save_batch  {"items":[{"key","msg","mid","expire"},...]}
//               -> {"errors":[{"index","code","message"}]}
//   get         {"key","mid":<after>,"limit":<n>}
//               -> {"msgs":[{"msg","mid","gid":0}],"more":bool}
//   delete      {"key"}                                           -> {}
//   ping        anything                                          -> {}
//   stat        anything                                          -> /stat's counters and "backend"
// `msg` may be a JSON value or a string holding JSON text. `expire` is relative seconds.
// Codes: 100 bad parameters (empty or oversized key, msg not JSON or too large, mid < 0 or
// >= 2^53, expire out of range, limit out of range), 105 the storage shard failed.
#pragma once

#include <string>

#include "common/http_server.hpp"
#include "message/message_config.hpp"
#include "message/message_store.hpp"

namespace appmsg::message {

namespace message_error {
constexpr int param = 100;
constexpr int storage = 105;
}  // namespace message_error

struct MessageStats;

void add_message_rpc(HttpRouter& router, const MessageConfig& cfg, MessageStore& store,
                     MessageStats& stats);

}  // namespace appmsg::message
