// The send queue's hand-over from waiting frames to the write in progress.
#include "comet/send_queue.hpp"

namespace appmsg::comet {

namespace {
void release_if_large(std::string& s) {
  s.clear();
  if (s.capacity() > SendQueue::kKeepBufferBytes) std::string().swap(s);
}
}  // namespace

bool SendQueue::took(size_t n, size_t& done) {
  if (n >= pending_.size()) {
    done = messages_;
    messages_ = 0;
    release_if_large(pending_);
    return true;
  }
  pending_.erase(0, n);
  write_.swap(pending_);
  write_messages_ = messages_;
  messages_ = 0;
  writing_ = true;
  return false;
}

size_t SendQueue::write_finished() {
  writing_ = false;
  release_if_large(write_);
  size_t done = write_messages_;
  write_messages_ = 0;
  return done;
}

}  // namespace appmsg::comet
