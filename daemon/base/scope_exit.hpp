#pragma once
// ScopeExit runs a callable when it leaves scope unless release()d. Name every guard:
//   ScopeExit close_guard([&] { ::close(fd); });
#include <utility>

namespace mesh::base {

template <class F>
class ScopeExit {
 public:
  [[nodiscard]] explicit ScopeExit(F fn) : fn_(std::move(fn)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ~ScopeExit() {
    if (active_) fn_();
  }
  void release() { active_ = false; }

 private:
  F fn_;
  bool active_ = true;
};

}  // namespace mesh::base
