// The resume merge: two rising lists into one, each mid once, all above the client's last mid.
#include "comet/resume_merge.hpp"

#include <utility>

namespace appmsg::comet {

MessageList merge_missed(int64_t after, MessageList stored, MessageList live) {
  MessageList out;
  int64_t last = after;
  auto take = [&](MessageList& from) {
    auto m = std::move(from.front());
    from.pop_front();
    if (m->mid <= last) return;
    last = m->mid;
    out.push_back(std::move(m));
  };
  while (!stored.empty() || !live.empty()) {
    bool from_store = live.empty() || (!stored.empty() && stored.front()->mid <= live.front()->mid);
    take(from_store ? stored : live);
  }
  return out;
}

}  // namespace appmsg::comet
