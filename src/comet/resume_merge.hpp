// The resume merge, a pure piece: the stored messages a resuming connection missed and the
// live ones held while the store was read, both in rising mid order, become one backlog in mid
// order with each mid once and nothing at or below the client's last mid. A message delivered
// live while its offline copy was being stored is in both lists and goes out once.
// Messages are shared and immutable: merging moves pointers, never payloads.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "comet/subscriber.hpp"

namespace appmsg::comet {

using MessageList = std::deque<std::shared_ptr<const Message>>;

MessageList merge_missed(int64_t after, MessageList stored, MessageList live);

}  // namespace appmsg::comet
