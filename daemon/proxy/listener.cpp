#include "daemon/proxy/listener.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include "daemon/base/log.hpp"
#include "daemon/io/socket.hpp"
#include "daemon/proxy/hbone/local_tunnels.hpp"
#include "daemon/proxy/l4/splice.hpp"
#include "daemon/proxy/hbone/tunnel_connection.hpp"

namespace mesh::proxy {

using namespace std::chrono_literals;

Listener::Listener(WorkerContext& ctx, ListenerSpec spec) : ctx_(ctx), spec_(std::move(spec)) {}

void Listener::start() { arm(); }

void Listener::arm() {
  if (armed_ || stopping_ || !spec_.fd) return;
  armed_ = true;
  ctx_.loop.accept_multishot(accept_op_, spec_.fd.get());
}

void Listener::stop(std::function<void()> on_closed) {
  if (stopping_) return;
  stopping_ = true;
  on_closed_ = std::move(on_closed);
  ctx_.loop.cancel(retry_timer_);
  if (armed_) ctx_.loop.cancel_op(accept_op_);  // the final completion closes the socket
  else closed_now();
}

void Listener::closed_now() {
  spec_.fd.reset();
  if (on_closed_) ctx_.loop.defer(std::exchange(on_closed_, nullptr));
}

void Listener::on_timer(io::Timer&) { arm(); }

// A connection to 15008: its TLS session and HTTP/2 server live in a TunnelConnection,
// which holds the budget taken for its socket until it is gone.
void Listener::accept_tunnel(base::Fd conn, const std::optional<TunnelConnection::SocketEnds>& ends) {
  auto tls = spec_.tunnel_server->tls();
  if (!tls) {
    ctx_.budget.release();
    io::set_reset_on_close(conn.get());
    spec_.stats->reject(RejectReason::NoCertificate);
    return;
  }
  // The connection may outlive this listener (unenroll): it keeps what it needs by value.
  WorkerContext* ctx = &ctx_;
  auto on_request = [ctx, server = spec_.tunnel_server, profile = spec_.profile, stats = spec_.stats](
                        TunnelConnection& c, tunnel::http::StreamId stream) {
    const tunnel::hbone::ConnectRequest* req = c.server().request(stream);
    if (req == nullptr) return;
    InboundDecision d = server->decide(*req, c.peer_identity(), c.remote_address(), c.local_address());
    if (d.status != 200) {
      stats->reject(d.reject == RejectReason::kCount ? RejectReason::Denied : d.reject);
      (void)c.server().respond(stream, d.status);
      c.pump();
      return;
    }
    Splice::inbound(*ctx, c, stream, profile, stats, d.upstream, std::move(d.attrs));
  };
  auto* tunnel = TunnelConnection::accept(ctx_, *ctx_.tunnel_stats, std::move(tls), std::move(conn), ends,
                                          std::move(on_request), [ctx](TunnelConnection&) { ctx->budget.release(); });
  if (tunnel == nullptr) ctx_.budget.release();
  else tunnel->set_owner(spec_.profile.get());
}

// A tunnel this daemon dialled to its own node may belong on another worker: the one that
// dialled it, or any but that one (LocalTunnels, by runtime.local_tunnel_worker).
bool Listener::hand_off(base::Fd& conn, std::optional<TunnelConnection::SocketEnds>& ends) {
  LocalTunnels* local = ctx_.local_tunnels;
  if (local == nullptr || local->workers() < 2) return false;
  auto at = io::local_address(conn.get());
  auto from = io::peer_address(conn.get());
  if (!at || !from) return false;
  ends = TunnelConnection::SocketEnds{*at, *from};
  auto to = local->move_to(ctx_.index, local->dialler(*at, *from));
  if (!to) return false;
  ctx_.tunnel_stats->handoffs.inc();
  local->handoff(*to, spec_.id, std::move(conn));
  return true;
}

bool Listener::adopt_tunnel(base::Fd& conn) {
  if (!spec_.tunnel_server || stopping_ || ctx_.draining) return false;
  accept_tunnel(std::move(conn), std::nullopt);
  return true;
}

void Listener::on_accept(int res, uint32_t flags) {
  if (!io::more_completions(flags)) armed_ = false;
  if (res >= 0) {
    base::Fd conn(res);
    RelayStats& stats = *spec_.stats;
    stats.accepted.inc();
    if (ctx_.draining || stopping_) {
      io::set_reset_on_close(conn.get());
      stats.reject(RejectReason::Draining);
    } else if (!ctx_.budget.try_acquire()) {
      io::set_reset_on_close(conn.get());
      stats.reject(RejectReason::ConnectionLimit);
    } else if (spec_.tunnel_server) {
      std::optional<TunnelConnection::SocketEnds> ends;
      if (!hand_off(conn, ends)) accept_tunnel(std::move(conn), ends);
    } else if (FlowTarget dst = spec_.destination(conn.get()); dst.reject != RejectReason::kCount) {
      ctx_.budget.release();
      io::set_reset_on_close(conn.get());
      stats.reject(dst.reject);
    } else if (dst.tunnel) {
      Splice::outbound(ctx_, *ctx_.pool, spec_.profile, spec_.stats, std::move(conn), std::move(dst.tunnel),
                       std::move(dst.http));
    } else {
      Splice::start(ctx_, spec_.profile, spec_.stats, std::move(conn), dst.upstream, std::move(dst.attrs),
                    std::move(dst.http));
    }
  } else if (res != -ECANCELED) {
    // EMFILE/ENFILE/ENOMEM: the multishot request ended. Back off instead of spinning.
    spec_.stats->accept_errors.inc();
    base::log::warn("failed to accept on '{}': {}", spec_.profile->name, std::strerror(-res));
    if (!armed_ && !stopping_) return ctx_.loop.schedule_after(retry_timer_, 100ms);
    // Stopping: fall through, so that the last completion closes the socket (closed()).
  }
  if (stopping_) {
    if (!armed_) closed_now();
  } else if (!armed_) {
    arm();
  }
}

}  // namespace mesh::proxy
