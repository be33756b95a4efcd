#pragma once
// RelayListener: one worker's accept loop for one relay listen address (a SO_REUSEPORT
// socket of its own). Multishot accept; each connection is checked against the drain flag
// and the daemon-wide budget, then handed to a new Relay. Rejections are reset (RST) so the
// client fails fast, and counted. Runs on its worker's thread.
#include <memory>

#include "daemon/base/fd.hpp"
#include "daemon/io/op.hpp"
#include "daemon/io/timer_queue.hpp"
#include "daemon/proxy/relay.hpp"
#include "daemon/proxy/relay_stats.hpp"
#include "daemon/proxy/worker_context.hpp"

namespace mesh::proxy {

class RelayListener final : private io::Timer::Handler {
 public:
  RelayListener(WorkerContext& ctx, std::shared_ptr<const RelayTarget> target, RelayStats& stats, base::Fd listen_fd);
  RelayListener(const RelayListener&) = delete;
  RelayListener& operator=(const RelayListener&) = delete;

  void start();
  // Stops accepting and closes the listen socket once the kernel has let go of it.
  void stop();
  bool closed() const { return !fd_.valid(); }
  const RelayTarget& target() const { return *target_; }

 private:
  void on_accept(int res, uint32_t flags);
  void on_timer(io::Timer&) override;
  void arm();

  WorkerContext& ctx_;
  std::shared_ptr<const RelayTarget> target_;
  RelayStats& stats_;
  base::Fd fd_;
  io::MemberOp<RelayListener, &RelayListener::on_accept> accept_op_{this};
  io::Timer retry_timer_{this};
  bool armed_ = false;
  bool stopping_ = false;
};

}  // namespace mesh::proxy
