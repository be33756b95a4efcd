#include "daemon/proxy/worker.hpp"

#include "daemon/base/log.hpp"
#include "daemon/proxy/hbone/tunnel_connection.hpp"

namespace mesh::proxy {

using namespace std::chrono_literals;

base::Result<std::unique_ptr<Worker>> Worker::create(const WorkerOptions& options, ConnectionBudget& budget) {
  auto loop = io::Loop::create(io::RingOptions{.entries = options.ring_entries, .single_issuer = true});
  if (!loop) return base::fail(std::move(loop.error()).wrap("create worker loop"));
  std::unique_ptr<Worker> w(new Worker(options, std::move(*loop)));
  auto buffers = io::BufferRing::create(w->loop_->ring(), 0, options.buffer_count, options.buffer_size);
  if (!buffers) return base::fail(std::move(buffers.error()).wrap("create worker receive buffers"));
  w->buffers_ = std::move(*buffers);
  w->ctx_.reset(new WorkerContext{*w->loop_, *w->buffers_, budget, {}, {}, {}, nullptr, nullptr, false});
  w->ctx_->tunnel_stats = &w->tunnel_stats_;
  w->ctx_->http_stats = &w->http_stats_;
  w->ctx_->requests = options.requests;
  w->clusters_ = std::make_unique<ClusterCache>(base::SystemClock::instance());
  w->ctx_->clusters = w->clusters_.get();
  w->ctx_->http_options = &w->options_.http;
  w->ctx_->index = options.index;
  w->ctx_->local_tunnels = options.local_tunnels;
  w->pool_ = std::make_unique<TunnelPool>(*w->ctx_, w->tunnel_stats_);
  w->ctx_->pool = w->pool_.get();
  return w;
}

Worker::Worker(const WorkerOptions& options, std::unique_ptr<io::Loop> loop) : options_(options), loop_(std::move(loop)) {}

Worker::~Worker() {
  // The loop has stopped for good: free what is left, then the buffers, then the ring.
  listeners_.clear();
  retiring_.clear();
  while (Flow* f = ctx_ ? ctx_->flows.front() : nullptr) f->discard();
  while (TunnelConnection* t = ctx_ ? ctx_->tunnels.front() : nullptr) t->discard();
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

void Worker::adopt_tunnel(uint64_t id, base::Fd accepted) {
  auto carried = std::make_shared<base::Fd>(std::move(accepted));
  loop_->post([this, id, carried] {
    auto it = listeners_.find(id);
    if (it == listeners_.end() || !it->second->adopt_tunnel(*carried)) {
      ctx_->budget.release();  // the listener is gone or stopping here: refuse it
      io::set_reset_on_close(carried->get());
    }
  });
}

void Worker::remove_listener(uint64_t id, bool abort) {
  loop_->post([this, id, abort] {
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return;
    if (abort) {
      const DialProfile* profile = &it->second->profile();
      abort_where([](const Flow& r, const void* p) { return &r.profile() == p; }, profile, CloseReason::Unenrolled);
      for (TunnelConnection* t = ctx_->tunnels.front(); t != nullptr;) {
        TunnelConnection* next = base::IntrusiveList<TunnelConnection>::next(*t);
        if (t->owner() == profile) t->close();
        t = next;
      }
    }
    // The listener lives on until its cancelled accept has completed.
    Listener* raw = it->second.get();
    retiring_[raw] = std::move(it->second);
    listeners_.erase(it);
    raw->stop([this, raw] { retiring_.erase(raw); });
  });
}

void Worker::abort_where(bool (*match)(const Flow&, const void*), const void* arg, CloseReason reason) {
  for (Flow* r = ctx_->flows.front(); r != nullptr;) {
    Flow* next = base::IntrusiveList<Flow>::next(*r);
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
    // GOAWAY on every tunnel: peers open no new streams on them; open streams finish.
    pool_->drain_all();
    for (TunnelConnection* t = ctx_->tunnels.front(); t != nullptr; t = base::IntrusiveList<TunnelConnection>::next(*t)) {
      if (t->role() == TunnelConnection::Role::Server) t->drain();
    }
  });
}

void Worker::abort_connections(CloseReason reason) {
  loop_->post([this, reason] { abort_where(nullptr, nullptr, reason); });
}

void Worker::recheck(std::function<bool(const FlowAttrs&)> allowed) {
  loop_->post([this, allowed = std::move(allowed)] {
    for (Flow* f = ctx_->flows.front(); f != nullptr;) {
      Flow* next = base::IntrusiveList<Flow>::next(*f);
      if (const FlowAttrs* a = f->attrs(); a != nullptr && !allowed(*a)) f->abort(CloseReason::PolicyChanged);
      f = next;
    }
  });
}

void Worker::stop() { loop_->request_stop(); }

}  // namespace mesh::proxy
