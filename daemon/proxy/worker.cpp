#include "daemon/proxy/worker.hpp"

#include "daemon/base/log.hpp"

namespace mesh::proxy {

using namespace std::chrono_literals;

base::Result<std::unique_ptr<Worker>> Worker::create(const WorkerOptions& options, ConnectionBudget& budget) {
  auto loop = io::Loop::create(io::RingOptions{.entries = options.ring_entries, .single_issuer = true});
  if (!loop) return base::fail(std::move(loop.error()).wrap("create worker loop"));
  std::unique_ptr<Worker> w(new Worker(options, std::move(*loop)));
  auto buffers = io::BufferRing::create(w->loop_->ring(), 0, options.buffer_count, options.buffer_size);
  if (!buffers) return base::fail(std::move(buffers.error()).wrap("create worker receive buffers"));
  w->buffers_ = std::move(*buffers);
  w->ctx_.reset(new WorkerContext{*w->loop_, *w->buffers_, budget, {}, {}, false});
  return w;
}

Worker::Worker(const WorkerOptions& options, std::unique_ptr<io::Loop> loop) : options_(options), loop_(std::move(loop)) {}

Worker::~Worker() {
  // The loop has stopped for good: free what is left, then the buffers, then the ring.
  listeners_.clear();
  while (Relay* r = ctx_ ? ctx_->relays.front() : nullptr) Relay::discard(*r);
  buffers_.reset();
}

void Worker::add_relay(std::shared_ptr<const RelayTarget> target, base::Fd listen_fd) {
  stats_.push_back(std::make_unique<RelayStats>());
  listeners_.push_back(std::make_unique<RelayListener>(*ctx_, std::move(target), *stats_.back(), std::move(listen_fd)));
}

base::Status Worker::run() {
  for (auto& l : listeners_) l->start();
  // A cheap heartbeat for the systemd watchdog: a stuck worker stops refreshing it.
  struct Beat final : io::Timer::Handler {
    Worker* w;
    io::Timer timer{this};
    explicit Beat(Worker* worker) : w(worker) {}
    void on_timer(io::Timer&) override {
      w->heartbeat_ns_.store(w->loop_->now().time_since_epoch().count(), std::memory_order_relaxed);
      w->ctx_->stats.buffers_in_use.set(w->buffers_->in_use());
      w->loop_->schedule_after(timer, 500ms);
    }
  } beat(this);
  beat.on_timer(beat.timer);
  auto status = loop_->run();
  loop_->cancel(beat.timer);
  return status;
}

base::MonoTime Worker::last_heartbeat() const {
  return base::MonoTime(base::Duration(heartbeat_ns_.load(std::memory_order_relaxed)));
}

void Worker::stop_accepting() {
  loop_->post([this] {
    ctx_->draining = true;
    for (auto& l : listeners_) l->stop();
  });
}

void Worker::abort_connections(CloseReason reason) {
  loop_->post([this, reason] {
    for (Relay* r = ctx_->relays.front(); r != nullptr;) {
      Relay* next = base::IntrusiveList<Relay>::next(*r);
      r->abort(reason);
      r = next;
    }
  });
}

void Worker::stop() { loop_->request_stop(); }

}  // namespace mesh::proxy
