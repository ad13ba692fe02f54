// What the channel table and the push path know of a client connection, whatever its protocol.
//
// A pushed message is encoded once per format and shared, immutable, by every recipient.
// deliver() and close() may be called from any thread; they never block: the connection hands
// the work to its own executor.
#pragma once

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace appmsg::comet {

struct Message {
  // What the connection counts against its resume buffer (the larger payload).
  size_t bytes() const { return std::max(new_payload.size(), old_payload.size()); }
  int64_t mid = 0;
  std::string new_payload;  // {"msg":<body>,"mid":N,"gid":0}
  std::string old_payload;  // {"msg":"<body as a string>","mid":N,"gid":0}; empty when no
                            // recipient wants the old format
};

enum class CloseReason {
  client,
  protocol,
  heartbeat_timeout,
  slow_consumer,
  write_timeout,
  kicked,
  migrated,
  shutdown,
  store_unavailable  // a resume could not read the store; the client retries later
};

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void deliver(std::shared_ptr<const Message> msg) = 0;
  // The executor the connection lives on, and delivery for a caller already running there
  // (a batch push hands each executor all its deliveries in one job).
  virtual boost::asio::any_io_executor executor() = 0;
  virtual void deliver_here(const std::shared_ptr<const Message>& msg) = 0;
  virtual void close(CloseReason reason) = 0;
  // True when the client wants the old message format (it sent no version); fixed before the
  // connection joins its channel, so any thread may read it.
  virtual bool old_format() const = 0;
};

}  // namespace appmsg::comet
