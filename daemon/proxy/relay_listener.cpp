#include "daemon/proxy/relay_listener.hpp"


#include <cerrno>
#include <cstring>

#include "daemon/base/log.hpp"
#include "daemon/io/socket.hpp"

namespace mesh::proxy {

using namespace std::chrono_literals;

RelayListener::RelayListener(WorkerContext& ctx, std::shared_ptr<const RelayTarget> target, RelayStats& stats,
                             base::Fd listen_fd)
    : ctx_(ctx), target_(std::move(target)), stats_(stats), fd_(std::move(listen_fd)) {}

void RelayListener::start() { arm(); }

void RelayListener::arm() {
  if (armed_ || stopping_ || !fd_) return;
  armed_ = true;
  ctx_.loop.accept_multishot(accept_op_, fd_.get());
}

void RelayListener::stop() {
  if (stopping_) return;
  stopping_ = true;
  ctx_.loop.cancel(retry_timer_);
  if (armed_) ctx_.loop.cancel_op(accept_op_);  // the final completion closes the socket
  else fd_.reset();
}

void RelayListener::on_timer(io::Timer&) { arm(); }

void RelayListener::on_accept(int res, uint32_t flags) {
  if (!io::more_completions(flags)) armed_ = false;
  if (res >= 0) {
    base::Fd conn(res);
    stats_.accepted.inc();
    if (ctx_.draining || stopping_) {
      io::set_reset_on_close(conn.get());
      stats_.reject(RejectReason::Draining);
    } else if (!ctx_.budget.try_acquire()) {
      io::set_reset_on_close(conn.get());
      stats_.reject(RejectReason::ConnectionLimit);
    } else {
      Relay::start(ctx_, target_, stats_, std::move(conn));
    }
  } else if (res != -ECANCELED) {
    // EMFILE/ENFILE/ENOMEM: the multishot request ended. Back off instead of spinning.
    stats_.accept_errors.inc();
    base::log::warn("failed to accept on relay '{}': {}", target_->name, std::strerror(-res));
    if (!armed_ && !stopping_) ctx_.loop.schedule_after(retry_timer_, 100ms);
    return;
  }
  if (stopping_) {
    if (!armed_) fd_.reset();
  } else if (!armed_) {
    arm();
  }
}

}  // namespace mesh::proxy
