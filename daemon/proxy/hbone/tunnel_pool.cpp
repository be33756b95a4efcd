#include "daemon/proxy/hbone/tunnel_pool.hpp"

#include "daemon/base/log.hpp"
#include "daemon/proxy/channel/dial_profile.hpp"

namespace mesh::proxy {

using namespace std::chrono_literals;
namespace hbone = tunnel::hbone;

TunnelPool::TunnelPool(WorkerContext& ctx, TunnelStats& stats)
    : ctx_(ctx), stats_(stats), pool_(base::SystemClock::instance()) {}

TunnelPool::~TunnelPool() = default;

void TunnelPool::acquire(std::shared_ptr<const OutboundTunnel> target, std::shared_ptr<const DialProfile> profile,
                         Waiter& waiter) {
  attempt(Pending{std::move(target), std::move(profile), &waiter});
  if (!idle_timer_.armed()) ctx_.loop.schedule_after(idle_timer_, 30s);
}

void TunnelPool::attempt(Pending pending) {
  // A connection the pool still counts as ready may have received GOAWAY meanwhile: mark it
  // draining and ask again (bounded: each round removes one connection from rotation).
  for (int round = 0; round < 64; ++round) {
    hbone::PoolDecision d = pool_.acquire(pending.target->key);
    switch (d.kind) {
      case hbone::PoolDecision::Kind::Use: {
        TunnelConnection* conn = conns_.at(d.conn);
        if (!conn->usable()) {
          pool_.release_stream(d.conn);
          pool_.draining(d.conn);
          continue;
        }
        pending.waiter->on_tunnel(conn);
        return;
      }
      case hbone::PoolDecision::Kind::Connect:
        return dial(d.conn, std::move(pending));
      case hbone::PoolDecision::Kind::Wait:
        waiting_.push_back(std::move(pending));
        return;
    }
  }
  pending.waiter->on_tunnel(nullptr);
}

void TunnelPool::dial(hbone::ConnId id, Pending pending) {
  const DialProfile& p = *pending.profile;
  TunnelConnection::DialSpec spec;
  spec.peer = pending.target->key.node;
  spec.netns = p.netns;
  spec.dial.netns_fd = p.netns ? p.netns->get() : -1;
  spec.dial.mark = p.mark;
  spec.timeout = p.connect_timeout;
  dialers_[id] = pending.waiter;
  auto ready = [this, id](TunnelConnection& conn, bool ok) {
    Waiter* waiter = nullptr;
    if (auto it = dialers_.find(id); it != dialers_.end()) {
      waiter = it->second;  // null if that flow gave up meanwhile
      dialers_.erase(it);
    }
    if (ok) {
      pool_.connected(id, conn.client().available_streams());
      // The dialling flow holds the first stream; if it is gone, the stream is free again.
      if (waiter != nullptr) waiter->on_tunnel(&conn);
      else pool_.release_stream(id);
    } else {
      pool_.failed(id);
      if (waiter != nullptr) waiter->on_tunnel(nullptr);
    }
    retry_waiting();
  };
  auto gone = [this, id](TunnelConnection& conn) {
    dialers_.erase(id);
    if (pool_.key_of(id) != nullptr) pool_.failed(id);
    conns_.erase(id);
    ids_.erase(&conn);
    retry_waiting();
  };
  TunnelConnection* conn = TunnelConnection::dial(ctx_, stats_, pending.target->tls, pending.target->key.destinations,
                                                  spec, std::move(ready), std::move(gone));
  conns_[id] = conn;
  ids_[conn] = id;
}

void TunnelPool::retry_waiting() {
  if (waiting_.empty()) return;
  std::list<Pending> again;
  again.swap(waiting_);
  for (auto& p : again) attempt(std::move(p));
}

void TunnelPool::cancel(Waiter& waiter) {
  waiting_.remove_if([&](const Pending& p) { return p.waiter == &waiter; });
  for (auto& [id, w] : dialers_) {
    if (w == &waiter) w = nullptr;
  }
}

void TunnelPool::release_stream(TunnelConnection& conn) {
  auto it = ids_.find(&conn);
  if (it != ids_.end()) pool_.release_stream(it->second);
}

void TunnelPool::drain_all() {
  for (auto& [id, conn] : conns_) {
    pool_.draining(id);
    conn->drain();
  }
}

void TunnelPool::on_timer(io::Timer&) {
  for (hbone::ConnId id : pool_.expire_idle()) {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second->drain();
  }
  if (!conns_.empty()) ctx_.loop.schedule_after(idle_timer_, 30s);
}

}  // namespace mesh::proxy
