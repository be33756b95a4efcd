#include "daemon/io/timer_queue.hpp"

#include <utility>

#include "daemon/base/check.hpp"

namespace mesh::io {

Timer::~Timer() {
  if (queue_ != nullptr) queue_->cancel(*this);
}

TimerQueue::~TimerQueue() {
  for (Timer* t : heap_) t->queue_ = nullptr;
}

bool TimerQueue::less(size_t a, size_t b) const {
  const Timer* x = heap_[a];
  const Timer* y = heap_[b];
  if (x->deadline_ != y->deadline_) return x->deadline_ < y->deadline_;
  return x->seq_ < y->seq_;
}

void TimerQueue::swap_nodes(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  heap_[a]->index_ = a;
  heap_[b]->index_ = b;
}

void TimerQueue::sift_up(size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!less(i, parent)) break;
    swap_nodes(i, parent);
    i = parent;
  }
}

void TimerQueue::sift_down(size_t i) {
  for (;;) {
    size_t smallest = i;
    size_t l = 2 * i + 1, r = 2 * i + 2;
    if (l < heap_.size() && less(l, smallest)) smallest = l;
    if (r < heap_.size() && less(r, smallest)) smallest = r;
    if (smallest == i) return;
    swap_nodes(i, smallest);
    i = smallest;
  }
}

void TimerQueue::remove_at(size_t i) {
  Timer* t = heap_[i];
  size_t last = heap_.size() - 1;
  if (i != last) {
    swap_nodes(i, last);
    heap_.pop_back();
    sift_down(i);
    sift_up(i);
  } else {
    heap_.pop_back();
  }
  t->queue_ = nullptr;
}

void TimerQueue::schedule(Timer& timer, base::MonoTime deadline) {
  MESH_CHECK(timer.queue_ == nullptr || timer.queue_ == this);
  if (timer.queue_ != nullptr) remove_at(timer.index_);
  timer.queue_ = this;
  timer.deadline_ = deadline;
  timer.seq_ = next_seq_++;
  timer.index_ = heap_.size();
  heap_.push_back(&timer);
  sift_up(timer.index_);
}

void TimerQueue::cancel(Timer& timer) {
  if (timer.queue_ != this) return;
  remove_at(timer.index_);
}

std::optional<base::MonoTime> TimerQueue::next_deadline() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front()->deadline_;
}

size_t TimerQueue::fire_expired(base::MonoTime now) {
  size_t fired = 0;
  while (!heap_.empty() && heap_.front()->deadline_ <= now) {
    Timer* t = heap_.front();
    remove_at(0);
    ++fired;
    t->handler_->on_timer(*t);
  }
  return fired;
}

}  // namespace mesh::io
