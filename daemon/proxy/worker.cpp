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
  retired_.clear();
  while (Relay* r = ctx_ ? ctx_->relays.front() : nullptr) Relay::discard(*r);
  buffers_.reset();
}

void Worker::add_listener(ListenerSpec spec) {
  // std::function needs a copyable callable: carry the move-only spec in a shared_ptr.
  auto carried = std::make_shared<ListenerSpec>(std::move(spec));
  loop_->post([this, carried] {
    uint64_t id = carried->id;
    auto listener = std::make_unique<Listener>(*ctx_, std::move(*carried));
    if (ctx_->draining) {
      listener->stop();
    } else {
      listener->start();
    }
    listeners_[id] = std::move(listener);
  });
}

void Worker::remove_listener(uint64_t id, bool abort) {
  loop_->post([this, id, abort] {
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return;
    it->second->stop();
    if (abort) {
      const UpstreamPolicy* policy = &it->second->policy();
      abort_where([](const Relay& r, const void* p) { return &r.policy() == p; }, policy, CloseReason::Unenrolled);
    }
    // Keep the stopped listener until its accept op has delivered its last completion (it
    // closes its socket then): the cancel is only submitted on the next loop iteration, so
    // freeing it in this pass would leave the kernel a dangling user_data.
    retired_.push_back(std::move(it->second));
    listeners_.erase(it);
    free_retired();
  });
}

void Worker::free_retired() {
  std::erase_if(retired_, [](const std::unique_ptr<Listener>& l) { return l->closed(); });
}

void Worker::abort_where(bool (*match)(const Relay&, const void*), const void* arg, CloseReason reason) {
  for (Relay* r = ctx_->relays.front(); r != nullptr;) {
    Relay* next = base::IntrusiveList<Relay>::next(*r);
    if (match == nullptr || match(*r, arg)) r->abort(reason);
    r = next;
  }
}

base::Status Worker::run() {
  // A cheap heartbeat for the systemd watchdog: a stuck worker stops refreshing it.
  struct Beat final : io::Timer::Handler {
    Worker* w;
    io::Timer timer{this};
    explicit Beat(Worker* worker) : w(worker) {}
    void on_timer(io::Timer&) override {
      w->heartbeat_ns_.store(w->loop_->now().time_since_epoch().count(), std::memory_order_relaxed);
      w->ctx_->stats.buffers_in_use.set(w->buffers_->in_use());
      w->free_retired();
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
    for (auto& [id, l] : listeners_) l->stop();
  });
}

void Worker::abort_connections(CloseReason reason) {
  loop_->post([this, reason] { abort_where(nullptr, nullptr, reason); });
}

void Worker::stop() { loop_->request_stop(); }

}  // namespace mesh::proxy
