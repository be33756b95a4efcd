#pragma once
// ChannelFlow: the lifecycle every proxied flow shares, written once. A flow owns itself from
// its start until its channels are quiet; it holds one slot of the connection budget (taken
// by whoever accepted it), counts itself active in its listener's stats, is linked into the
// worker's flow list (so drain, unenroll and policy changes can abort it) and has one timer:
// the dial deadline, then the idle timeout (re-armed lazily from the last activity), then,
// while closing, the linger deadline after which channels still letting bytes out are reset.
//
//   reject(reason)        the flow never got going: counted as rejected, channels reset
//                         unless the subclass says otherwise
//   finish(reason, reset) the flow ends: counted as closed with `reason`
//
// Once closing, channel events other than Quiet are ignored; the flow is freed (deferred to
// the loop, never inside a completion) when every channel is quiet. Subclasses implement
// on_event() for the channels they added and on_dial_timeout(). Single-threaded.
#include <array>
#include <memory>
#include <vector>

#include "daemon/io/timer_queue.hpp"
#include "daemon/proxy/channel/byte_channel.hpp"
#include "daemon/proxy/channel/dial_profile.hpp"
#include "daemon/proxy/relay_stats.hpp"
#include "daemon/proxy/worker_context.hpp"

namespace mesh::proxy {

class ChannelFlow : public Flow, protected ChannelHandler, private io::Timer::Handler {
 public:
  // The close reason for a channel that failed (its side and fault).
  static CloseReason reason_for(const ByteChannel& channel);

  void abort(CloseReason reason) override;
  const DialProfile& profile() const override { return *profile_; }
  void discard() override;

 protected:
  // The caller has taken a budget slot for this flow; it is released when the flow ends.
  ChannelFlow(WorkerContext& ctx, std::shared_ptr<const DialProfile> profile, std::shared_ptr<RelayStats> stats);
  virtual ~ChannelFlow();

  void add_channel(ByteChannel& channel);
  // A channel that is quiet leaves the flow (an HTTP connection's retired upstream).
  void remove_channel(ByteChannel& channel);
  void reject(RejectReason reason, bool reset);
  void finish(CloseReason reason, bool reset);
  bool closing() const { return closing_; }

  void arm_dial_deadline();
  void start_idle_timer();  // the flow is open: from now on, the idle timeout applies
  void touch() { last_activity_ = ctx_.loop.now(); }

  virtual void on_event(ByteChannel& channel, ChannelEvent event) = 0;
  virtual void on_dial_timeout() = 0;
  // The flow has begun to close (no more events but Quiet): stop whatever else runs.
  virtual void on_closing() {}

  WorkerContext& ctx_;
  std::shared_ptr<const DialProfile> profile_;
  std::shared_ptr<RelayStats> stats_;

 private:
  enum class Timing : uint8_t { None, Dial, Idle, Linger };
  void on_channel(ByteChannel& channel, ChannelEvent event) final;
  void on_timer(io::Timer& timer) override;
  void begin_close(bool reset);
  void maybe_free();
  void release();

  template <class Fn>
  void each_channel(Fn&& fn);

  std::array<ByteChannel*, 2> channels_{};
  std::vector<ByteChannel*> more_channels_;  // beyond two: an HTTP connection's upstreams
  io::Timer timer_{this};
  base::MonoTime last_activity_{};
  Timing timing_ = Timing::None;
  bool closing_ = false;
  bool freed_ = false;
  bool rejected_ = false;
  RejectReason reject_reason_ = RejectReason::kCount;
  CloseReason close_reason_ = CloseReason::Normal;
};

}  // namespace mesh::proxy
