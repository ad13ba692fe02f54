// Resume: reading, for a connection that subscribed with its last mid, the stored messages it
// missed (SessionContext::fetch_missed). Waits for PushService's fence first, so that no push
// can slip between the connection joining its channel and the read of the store. The read is
// bounded in messages and in bytes ([rpc] resume.max, resume.bytes): the oldest that fit are
// replayed, and the client resumes from there on its next connection.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "comet/session_context.hpp"

namespace appmsg {
class MessageNodes;
}

namespace appmsg::comet {

class PushService;

struct ResumeLimits {
  int max_messages = 500;
  size_t max_bytes = 4 << 20;
  std::chrono::milliseconds timeout{2000};  // one get call
};

using FetchMissed = decltype(SessionContext::fetch_missed);

// The fetch_missed hook. Runs its work on `control` (the executor of `push` and `store`); a
// read still running when `push` is destroyed stops at its next step without touching either.
FetchMissed make_fetch_missed(boost::asio::any_io_executor control, PushService& push,
                              MessageNodes& store, ResumeLimits limits);

}  // namespace appmsg::comet
