#pragma once
// TimerQueue: deadline-ordered timers for one loop thread (a binary min-heap of intrusive
// Timer nodes, so scheduling and cancelling are O(log n) with no allocation per timer).
// Idle timeouts use lazy rescheduling: a connection keeps its timer armed and, when it
// fires, re-arms it for the remainder if there was activity meanwhile, so busy connections
// cost nothing per byte. Not thread-safe: owned by one Loop.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "daemon/base/clock.hpp"

namespace mesh::io {

class TimerQueue;

class Timer {
 public:
  class Handler {
   public:
    virtual void on_timer(Timer& timer) = 0;

   protected:
    ~Handler() = default;
  };

  explicit Timer(Handler* handler) : handler_(handler) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer();

  bool armed() const { return queue_ != nullptr; }
  base::MonoTime deadline() const { return deadline_; }

 private:
  friend class TimerQueue;
  Handler* handler_;
  TimerQueue* queue_ = nullptr;
  base::MonoTime deadline_{};
  uint64_t seq_ = 0;  // FIFO order among equal deadlines
  size_t index_ = 0;  // position in the heap
};

class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
  ~TimerQueue();

  // Arms (or re-arms) `timer` to fire at `deadline`.
  void schedule(Timer& timer, base::MonoTime deadline);
  void cancel(Timer& timer);

  std::optional<base::MonoTime> next_deadline() const;
  // Fires every timer whose deadline is <= now, earliest first. A handler may re-arm its
  // own timer or arm others; timers armed for <= now during this call fire in this call.
  size_t fire_expired(base::MonoTime now);
  size_t size() const { return heap_.size(); }

 private:
  bool less(size_t a, size_t b) const;
  void swap_nodes(size_t a, size_t b);
  void sift_up(size_t i);
  void sift_down(size_t i);
  void remove_at(size_t i);

  std::vector<Timer*> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace mesh::io
