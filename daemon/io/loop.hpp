#pragma once
// Loop: one io_uring event loop, run by exactly one thread. It batches submissions, waits
// for completions with the next timer deadline as timeout, dispatches each CQE to the Op in
// its user_data, fires expired timers and runs deferred work. Everything except post() and
// request_stop() must be called from the loop's own thread.
//
// An iteration:  submit + wait(1, next timer)  ->  dispatch all CQEs  ->  fire timers
//                ->  run deferred work (which may submit more, picked up next iteration).
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/counter.hpp"
#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"
#include "daemon/io/op.hpp"
#include "daemon/io/ring.hpp"
#include "daemon/io/timer_queue.hpp"

struct io_uring_sqe;

namespace mesh::io {

struct LoopStats {
  base::Counter iterations;
  base::Counter completions;
  base::Counter submissions;
  base::Counter timers_fired;
  base::Counter deferred_run;
  base::Gauge timers_armed;
};

class Loop {
 public:
  static base::Result<std::unique_ptr<Loop>> create(const RingOptions& options);
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  ~Loop();

  // Runs until request_stop(); may be called again after it returns. Returns an error only
  // if the ring itself fails.
  base::Status run();
  // Thread-safe. The loop finishes its current iteration and run() returns.
  void request_stop();
  // Thread-safe: runs `fn` on the loop thread during its next iteration.
  void post(std::function<void()> fn);
  // Runs `fn` on the loop thread after the current batch of completions.
  void defer(std::function<void()> fn);

  // Monotonic time, read once per iteration (cheap; good enough for timeouts).
  base::MonoTime now() const { return now_; }
  base::MonoTime refresh_now();
  void schedule(Timer& timer, base::MonoTime deadline);
  void schedule_after(Timer& timer, base::Duration delay) { schedule(timer, now_ + delay); }
  void cancel(Timer& timer);

  // Submission helpers. Each prepares one SQE whose completion goes to `op`; pointers passed
  // in must stay valid until that completion.
  void accept_multishot(Op& op, int listen_fd);
  void recv(Op& op, int fd, void* buf, size_t len, int flags = 0);
  void recv_provided(Op& op, int fd, uint16_t buffer_group, int flags = 0);
  void send(Op& op, int fd, const void* buf, size_t len, int flags = MSG_NOSIGNAL | MSG_WAITALL);
  void sendmsg(Op& op, int fd, const msghdr* msg, int flags = MSG_NOSIGNAL);
  void connect(Op& op, int fd, const sockaddr* addr, socklen_t len);
  void read(Op& op, int fd, void* buf, size_t len);
  void close(Op& op, int fd);
  // Cancels every request on `fd` (their ops complete with -ECANCELED); no completion of its own.
  void cancel_fd(int fd);
  // Cancels the request whose user_data is `op`; no completion of its own.
  void cancel_op(Op& op);

  Ring& ring() { return *ring_; }
  const LoopStats& stats() const { return stats_; }

 private:
  class WakeOp;
  explicit Loop(std::unique_ptr<Ring> ring);
  io_uring_sqe* next_sqe();
  void arm_wake();
  void drain_posted();
  void run_deferred();

  std::unique_ptr<Ring> ring_;
  TimerQueue timers_;
  base::MonoTime now_{};
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> running_;
  std::atomic<bool> stop_{false};
  LoopStats stats_;

  // Cross-thread wake-up: post() appends under the mutex and writes the eventfd, whose
  // read is always armed on the ring.
  base::Fd wake_fd_;
  std::unique_ptr<WakeOp> wake_op_;
  uint64_t wake_value_ = 0;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace mesh::io
