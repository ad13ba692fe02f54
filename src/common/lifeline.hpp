// Lets a detached coroutine or callback tell whether the object that started it still exists.
// The owner holds a Lifeline; work it starts copies token() and, after each wait, stops when
// *token is false. Owner and work must share one thread (a strand or single-threaded
// context), so the check and the destruction cannot race.
#pragma once

#include <memory>

namespace appmsg {

class Lifeline {
 public:
  Lifeline() = default;
  Lifeline(const Lifeline&) = delete;
  Lifeline& operator=(const Lifeline&) = delete;
  ~Lifeline() { *alive_ = false; }
  std::shared_ptr<const bool> token() const { return alive_; }

 private:
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace appmsg
