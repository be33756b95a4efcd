#include "daemon/proxy/channel/channel_flow.hpp"

#include "daemon/base/check.hpp"

namespace mesh::proxy {

namespace {
// How long a closing flow lets a channel get its last bytes (or a refusal) out.
constexpr base::Duration kLinger = std::chrono::seconds(5);
}  // namespace

ChannelFlow::ChannelFlow(WorkerContext& ctx, std::shared_ptr<const DialProfile> profile,
                         std::shared_ptr<RelayStats> stats)
    : ctx_(ctx), profile_(std::move(profile)), stats_(std::move(stats)) {
  ctx_.flows.push_back(*this);
  stats_->active.add(1);
}

ChannelFlow::~ChannelFlow() { ctx_.flows.remove(*this); }

void ChannelFlow::add_channel(ByteChannel& channel) {
  channel.set_handler(this);
  for (auto*& slot : channels_) {
    if (slot == nullptr) {
      slot = &channel;
      return;
    }
  }
  more_channels_.push_back(&channel);
}

void ChannelFlow::remove_channel(ByteChannel& channel) {
  MESH_CHECK(channel.quiet());
  channel.set_handler(nullptr);
  for (auto*& slot : channels_) {
    if (slot == &channel) slot = nullptr;
  }
  std::erase(more_channels_, &channel);
}

template <class Fn>
void ChannelFlow::each_channel(Fn&& fn) {
  for (auto* ch : channels_) {
    if (ch != nullptr) fn(*ch);
  }
  for (auto* ch : more_channels_) fn(*ch);
}

CloseReason ChannelFlow::reason_for(const ByteChannel& channel) {
  switch (channel.fault()) {
    case ChannelFault::Reset:
      return channel.side() == Side::Downstream ? CloseReason::DownstreamReset : CloseReason::UpstreamReset;
    case ChannelFault::TunnelLost: return CloseReason::TunnelLost;
    case ChannelFault::Error:
    case ChannelFault::None: return CloseReason::Error;
  }
  return CloseReason::Error;
}

void ChannelFlow::arm_dial_deadline() {
  timing_ = Timing::Dial;
  ctx_.loop.schedule_after(timer_, profile_->connect_timeout);
}

void ChannelFlow::start_idle_timer() {
  stats_->opened.inc();
  touch();
  timing_ = Timing::Idle;
  ctx_.loop.schedule_after(timer_, profile_->idle_timeout);
}

void ChannelFlow::on_timer(io::Timer&) {
  switch (timing_) {
    case Timing::Dial:
      timing_ = Timing::None;
      return on_dial_timeout();
    case Timing::Idle: {
      auto idle_until = last_activity_ + profile_->idle_timeout;
      if (ctx_.loop.now() >= idle_until) return finish(CloseReason::IdleTimeout, false);
      return ctx_.loop.schedule(timer_, idle_until);  // activity since arming: the remainder
    }
    case Timing::Linger:
      // A channel could not get its last bytes out in time (the tunnel is stuck): reset it.
      timing_ = Timing::None;
      each_channel([](ByteChannel& ch) { ch.close(true); });
      return maybe_free();
    case Timing::None:
      return;
  }
}

void ChannelFlow::on_channel(ByteChannel& channel, ChannelEvent event) {
  if (closing_) {
    if (event == ChannelEvent::Quiet) maybe_free();
    return;
  }
  if (event == ChannelEvent::Data || event == ChannelEvent::Writable) touch();
  on_event(channel, event);
}

void ChannelFlow::reject(RejectReason reason, bool reset) {
  if (closing_) return;
  rejected_ = true;
  reject_reason_ = reason;
  begin_close(reset);
}

void ChannelFlow::finish(CloseReason reason, bool reset) {
  if (closing_) return;
  close_reason_ = reason;
  begin_close(reset);
}

void ChannelFlow::abort(CloseReason reason) {
  if (closing_) {
    // Drain deadline or unenroll while a channel lingers: stop waiting for it.
    each_channel([](ByteChannel& ch) { ch.close(true); });
    return maybe_free();
  }
  finish(reason, true);
}

void ChannelFlow::begin_close(bool reset) {
  closing_ = true;
  on_closing();
  ctx_.loop.cancel(timer_);
  each_channel([reset](ByteChannel& ch) { ch.close(reset); });
  timing_ = Timing::Linger;
  ctx_.loop.schedule_after(timer_, kLinger);
  maybe_free();
}

void ChannelFlow::maybe_free() {
  if (freed_) return;
  bool quiet = true;
  each_channel([&quiet](ByteChannel& ch) { quiet = quiet && ch.quiet(); });
  if (!quiet) return;
  freed_ = true;
  ctx_.loop.cancel(timer_);
  if (rejected_) stats_->reject(reject_reason_);
  else stats_->close(close_reason_);
  release();
  ctx_.loop.defer([this] { delete this; });
}

void ChannelFlow::release() {
  ctx_.budget.release();
  stats_->active.add(-1);
}

void ChannelFlow::discard() {
  ctx_.loop.cancel(timer_);
  each_channel([](ByteChannel& ch) { ch.abandon(); });
  if (!freed_) release();
  delete this;
}

}  // namespace mesh::proxy
