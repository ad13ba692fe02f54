// The send queue of one client connection, a pure piece (no socket): the frames waiting for
// the next write and the write in progress, with the count of messages among them.
//
// Bounds (SendLimits, the same for every connection of a comet: [channel] msgbuf.num and
// sndqueue.size): a message may queue while fewer than `messages` messages and fewer than
// `bytes` bytes wait; a replayed backlog fills only half of either, so that live messages keep
// their headroom. Replies and control frames count against the bytes only. Buffers larger
// than kKeepBufferBytes are released once written (an idle connection keeps none).
#pragma once

#include <cstddef>
#include <string>

namespace appmsg::comet {

struct SendLimits {
  size_t messages = 30;
  size_t bytes = 256 * 1024;
};

class SendQueue {
 public:
  static constexpr size_t kKeepBufferBytes = 16 * 1024;

  bool has_room(const SendLimits& l) const { return messages_ < l.messages && bytes() < l.bytes; }
  bool has_room_for_backlog(const SendLimits& l) const {
    return messages_ < l.messages / 2 + 1 && bytes() < l.bytes / 2;
  }
  // More bytes wait than the bound allows: the client is not reading.
  bool over(const SendLimits& l) const { return bytes() > l.bytes; }

  // Frames are appended here (encoders write into the string); a message's frame is followed
  // by added_message().
  std::string& frames() { return pending_; }
  void added_message() { ++messages_; }

  bool empty() const { return pending_.empty(); }
  size_t bytes() const { return pending_.size(); }
  size_t messages() const { return messages_; }  // waiting, not yet in a write
  bool writing() const { return writing_; }

  // The socket took the first `n` waiting bytes at once. When that was all of them, returns
  // true with the messages among them in `done`; else the rest becomes the write in progress
  // (write_buffer()) and false is returned.
  bool took(size_t n, size_t& done);
  const std::string& write_buffer() const { return write_; }
  // The write in progress ended (written or failed); returns the messages it carried.
  size_t write_finished();

 private:
  std::string pending_;  // frames for the next write
  std::string write_;    // the write in progress
  size_t messages_ = 0;
  size_t write_messages_ = 0;
  bool writing_ = false;
};

}  // namespace appmsg::comet
