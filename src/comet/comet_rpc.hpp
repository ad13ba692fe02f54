// The comet's internal RPC methods (DESIGN.md section 4), called by web nodes:
//   push        {"key":K,"msg":"<JSON text>","expire":S}            -> {"mid":N}
//   push_batch  {"items":[{"key","msg","expire"},...]}               ->
//   {"results":[{"mid":N}|{"mid":N,"code":C,"error":E}]}
//               {"keys":[K,...],"msg":"<JSON text>","expire":S}     (one message to many keys, same
//               answer)
//   close       {"key":K}                                            -> {"closed":n}
//   migrate     {"nodes":[name,...],"vnode":255,"grace_ms":G}        -> {"closed":n,"grace_ms":G}
//               (G > 0: the closes run G ms later, and n is 0; see migration.hpp)
//   ping        anything                                             -> {"node":name}
//   stat        anything                  -> counters (comet_stats.hpp: add_stat_rpc)
// Error codes: push_error::param (100) for bad params, push_error::store (101) when the offline
// copy failed, 103 no such channel (close), 104 migrate without this node.
#pragma once

#include <memory>
#include <string>

#include "comet/migration.hpp"
#include "comet/push_service.hpp"
#include "common/http_server.hpp"

namespace appmsg::comet {

namespace rpc_error {
constexpr int no_channel = 103;
constexpr int not_in_ring = 104;
}  // namespace rpc_error

class FreezeGuard;

// push and push_batch answer rpc `expired` (not run) while `freeze` holds pushes.
void add_comet_rpc(HttpRouter& router, const std::string& secret, PushService& push,
                   ChannelTable& table, Migration& migration, const FreezeGuard& freeze,
                   const std::string& node_name);

}  // namespace appmsg::comet
