#pragma once
// Op: one in-flight io_uring request. The address of an Op is the SQE's user_data, and the
// loop calls complete() for each of its CQEs; `flags` carries IORING_CQE_F_MORE while a
// multishot request stays armed. An Op must outlive its last CQE (STYLE.md, Ownership):
// owners count their in-flight ops and free themselves only when the count drains to zero.
// Ops belong to one loop thread.
#include <liburing.h>

#include <cstdint>

namespace mesh::io {

// True while a multishot request stays armed after this completion (IORING_CQE_F_MORE).
inline bool more_completions(uint32_t cqe_flags) { return (cqe_flags & IORING_CQE_F_MORE) != 0; }

class Op {
 public:
  virtual void complete(int res, uint32_t flags) = 0;

 protected:
  ~Op() = default;
};

// Dispatches completions to a member function of the owner, so one object can embed
// several ops (recv, send, connect...) without a subclass for each.
template <class Owner, void (Owner::*Fn)(int, uint32_t)>
class MemberOp final : public Op {
 public:
  explicit MemberOp(Owner* owner) : owner_(owner) {}
  void complete(int res, uint32_t flags) override { (owner_->*Fn)(res, flags); }

 private:
  Owner* owner_;
};

}  // namespace mesh::io
