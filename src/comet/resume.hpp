// Resume: reading, for a connection that subscribed with its last mid, the stored messages it
// missed (SessionContext::fetch_missed). Waits for PushService's fence first, so that no push
// can slip between the connection joining its channel and the read of the store.
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

// The fetch_missed hook. Runs its work on `control` (the executor of `push` and `store`, both
// of which must outlive every call); reads at most `max` messages, oldest first, in pages, each
// call bounded by `timeout`.
std::function<void(const std::string&, int64_t, std::function<void(SessionContext::Missed)>)>
make_fetch_missed(boost::asio::any_io_executor control, PushService& push, MessageNodes& store,
                  int max, std::chrono::milliseconds timeout);

}  // namespace appmsg::comet
