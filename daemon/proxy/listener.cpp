#include "daemon/proxy/listener.hpp"

#include <cerrno>
#include <cstring>

#include "daemon/base/log.hpp"
#include "daemon/io/socket.hpp"

namespace mesh::proxy {

using namespace std::chrono_literals;

Listener::Listener(WorkerContext& ctx, ListenerSpec spec) : ctx_(ctx), spec_(std::move(spec)) {}

void Listener::start() { arm(); }

void Listener::arm() {
  if (armed_ || stopping_ || !spec_.fd) return;
  armed_ = true;
  ctx_.loop.accept_multishot(accept_op_, spec_.fd.get());
}

void Listener::stop() {
  if (stopping_) return;
  stopping_ = true;
  ctx_.loop.cancel(retry_timer_);
  if (armed_) ctx_.loop.cancel_op(accept_op_);  // the final completion closes the socket
  else spec_.fd.reset();
}

void Listener::on_timer(io::Timer&) { arm(); }

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
    } else if (Destination dst = spec_.destination(conn.get()); dst.reject != RejectReason::kCount) {
      ctx_.budget.release();
      io::set_reset_on_close(conn.get());
      stats.reject(dst.reject);
    } else {
      Relay::start(ctx_, spec_.policy, spec_.stats, std::move(conn), dst.upstream);
    }
  } else if (res != -ECANCELED) {
    // EMFILE/ENFILE/ENOMEM: the multishot request ended. Back off instead of spinning.
    spec_.stats->accept_errors.inc();
    base::log::warn("failed to accept on '{}': {}", spec_.policy->name, std::strerror(-res));
    if (!armed_ && !stopping_) return ctx_.loop.schedule_after(retry_timer_, 100ms);
    // Stopping: fall through, so that the last completion closes the socket (closed()).
  }
  if (stopping_) {
    if (!armed_) spec_.fd.reset();
  } else if (!armed_) {
    arm();
  }
}

}  // namespace mesh::proxy
