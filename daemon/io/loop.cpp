#include "daemon/io/loop.hpp"

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "daemon/base/check.hpp"
#include "daemon/base/log.hpp"

namespace mesh::io {

class Loop::WakeOp final : public Op {
 public:
  explicit WakeOp(Loop* loop) : loop_(loop) {}
  void complete(int res, uint32_t) override {
    if (res == -ECANCELED) return;
    loop_->drain_posted();
    loop_->arm_wake();
  }

 private:
  Loop* loop_;
};

base::Result<std::unique_ptr<Loop>> Loop::create(const RingOptions& options) {
  auto ring = Ring::create(options);
  if (!ring) return base::fail(ring.error());
  std::unique_ptr<Loop> loop(new Loop(std::move(*ring)));
  loop->wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!loop->wake_fd_) return base::fail_errno("create loop wake-up eventfd", errno);
  loop->wake_op_ = std::make_unique<WakeOp>(loop.get());
  loop->arm_wake();
  return loop;
}

Loop::Loop(std::unique_ptr<Ring> ring) : ring_(std::move(ring)), now_(std::chrono::steady_clock::now()) {}

Loop::~Loop() {
  // Tear the ring down first: pending requests die with it and never touch the members
  // (wake_value_, ops) that are destroyed after this.
  ring_.reset();
}

base::MonoTime Loop::refresh_now() {
  now_ = std::chrono::steady_clock::now();
  return now_;
}

io_uring_sqe* Loop::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_->get());
  if (sqe == nullptr) {
    // SQ full: flush what we have and try again. With a 4x CQ and NODROP this cannot fail twice.
    io_uring_submit(ring_->get());
    sqe = io_uring_get_sqe(ring_->get());
    MESH_CHECK(sqe != nullptr);
  }
  stats_.submissions.inc();
  return sqe;
}

void Loop::arm_wake() { read(*wake_op_, wake_fd_.get(), &wake_value_, sizeof wake_value_); }

void Loop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

void Loop::request_stop() {
  stop_.store(true, std::memory_order_release);
  post([] {});
}

void Loop::drain_posted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) deferred_.push_back(std::move(fn));
}

void Loop::defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }

void Loop::run_deferred() {
  // Work deferred by deferred work runs in the same pass, bounded so a loop of deferrals
  // cannot starve completions.
  for (int round = 0; round < 8 && !deferred_.empty(); ++round) {
    running_.swap(deferred_);
    for (auto& fn : running_) {
      fn();
      stats_.deferred_run.inc();
    }
    running_.clear();
  }
}

void Loop::schedule(Timer& timer, base::MonoTime deadline) {
  timers_.schedule(timer, deadline);
  stats_.timers_armed.set(static_cast<int64_t>(timers_.size()));
}

void Loop::cancel(Timer& timer) {
  timers_.cancel(timer);
  stats_.timers_armed.set(static_cast<int64_t>(timers_.size()));
}

base::Status Loop::run() {
  if (auto enabled = ring_->enable(); !enabled) return enabled;
  io_uring* ring = ring_->get();
  while (!stop_.load(std::memory_order_acquire)) {
    __kernel_timespec ts{};
    __kernel_timespec* wait_ts = nullptr;
    unsigned wait_nr = deferred_.empty() ? 1 : 0;
    if (auto next = timers_.next_deadline()) {
      auto delta = *next - refresh_now();
      if (delta.count() <= 0) {
        wait_nr = 0;
      } else {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delta).count();
        ts.tv_sec = ns / 1'000'000'000;
        ts.tv_nsec = ns % 1'000'000'000;
        wait_ts = &ts;
      }
    }
    io_uring_cqe* cqe = nullptr;
    int rc = wait_nr == 0 ? io_uring_submit_and_get_events(ring)
                          : io_uring_submit_and_wait_timeout(ring, &cqe, wait_nr, wait_ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
      return base::fail_errno("wait for io_uring completions", -rc);
    }
    stats_.iterations.inc();
    refresh_now();
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      auto* op = reinterpret_cast<Op*>(static_cast<uintptr_t>(cqe->user_data));
      if (op != nullptr) op->complete(cqe->res, cqe->flags);
    }
    io_uring_cq_advance(ring, seen);
    stats_.completions.inc(seen);
    if (size_t fired = timers_.fire_expired(now_)) {
      stats_.timers_fired.inc(fired);
      stats_.timers_armed.set(static_cast<int64_t>(timers_.size()));
    }
    run_deferred();
  }
  io_uring_submit(ring);
  stop_.store(false, std::memory_order_relaxed);  // a later run() runs again (tests drive a loop in steps)
  return base::ok();
}

void Loop::accept_multishot(Op& op, int listen_fd) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, &op);
}

void Loop::recv(Op& op, int fd, void* buf, size_t len, int flags) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_recv(sqe, fd, buf, len, flags);
  io_uring_sqe_set_data(sqe, &op);
}

void Loop::recv_provided(Op& op, int fd, uint16_t buffer_group, int flags) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_recv(sqe, fd, nullptr, 0, flags);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffer_group;
  io_uring_sqe_set_data(sqe, &op);
}

void Loop::send(Op& op, int fd, const void* buf, size_t len, int flags) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_send(sqe, fd, buf, len, flags);
  io_uring_sqe_set_data(sqe, &op);
}

void Loop::sendmsg(Op& op, int fd, const msghdr* msg, int flags) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_sendmsg(sqe, fd, msg, static_cast<unsigned>(flags));
  io_uring_sqe_set_data(sqe, &op);
}

void Loop::connect(Op& op, int fd, const sockaddr* addr, socklen_t len) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_connect(sqe, fd, addr, len);
  io_uring_sqe_set_data(sqe, &op);
}

void Loop::read(Op& op, int fd, void* buf, size_t len) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(len), static_cast<uint64_t>(-1));
  io_uring_sqe_set_data(sqe, &op);
}

void Loop::close(Op& op, int fd) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_close(sqe, fd);
  io_uring_sqe_set_data(sqe, &op);
}

void Loop::cancel_fd(int fd) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data(sqe, nullptr);
}

void Loop::cancel_op(Op& op) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel(sqe, &op, 0);
  io_uring_sqe_set_data(sqe, nullptr);
}

}  // namespace mesh::io
