// What every client connection shares: settings, the channel table, counters and the hooks
// that reach outside the connection (token check, presence). Owned by the comet service and
// outliving every connection.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "comet/channel_table.hpp"
#include "comet/comet_config.hpp"
#include "comet/comet_stats.hpp"
#include "comet/resume_merge.hpp"
#include "comet/tcp_protocol.hpp"
#include "common/limits.hpp"

namespace appmsg::comet {

enum class AuthResult { ok, bad_token, no_channel };

class SessionRegistry;

struct SessionContext {
  CometConfig config;
  ChannelTable* table = nullptr;
  CometStats* stats = nullptr;
  SessionRegistry* sessions = nullptr;  // every live connection (graceful stop); may be unset
  // Checks a subscriber's token; `done` may be called on any thread. Unset when auth is off.
  std::function<void(const SubRequest&, std::function<void(AuthResult)> done)> authenticate;
  // Told when a connection joins or leaves its channel (presence). Unset: nothing to tell.
  std::function<void(const std::string& key, bool joined)> on_presence;
  // Resume: the stored messages of `key` newer than `after`, in rising mid order, read once
  // every push that might have missed the connection has been stored (PushService's fence);
  // nullopt when the store cannot be read. `done` may be called on any thread. Unset: no
  // store, and a resume request is served as a plain subscribe.
  using Missed = std::optional<MessageList>;
  // `old_format`: the payload the connection wants (only that one is encoded).
  std::function<void(const std::string& key, int64_t after, bool old_format,
                     std::function<void(Missed)> done)>
      fetch_missed;

  CommandLimits command_limits() const {
    CommandLimits l;
    l.max_arg_bytes = 256;  // a key (limits::kMaxKeyBytes) or a token
    return l;
  }
  SubLimits sub_limits() const {
    SubLimits l;
    l.min_heartbeat = config.min_heartbeat;
    l.max_heartbeat = config.max_heartbeat;
    l.max_key_bytes = limits::kMaxKeyBytes;
    return l;
  }
};

}  // namespace appmsg::comet
