#pragma once
// Listener: one worker's accept loop on one listening socket (a static relay, or a
// workload's outbound or inbound capture port). Multishot accept; each connection is checked
// against the drain flag and the daemon-wide budget, its upstream is decided by the
// listener's DestinationFn (a fixed address, or the original destination that capture
// recorded), and it is handed to a new Relay. Rejections are reset (RST) so the client fails
// fast, and counted. Runs on its worker's thread.
#include <functional>
#include <memory>

#include "daemon/base/fd.hpp"
#include "daemon/io/op.hpp"
#include "daemon/io/timer_queue.hpp"
#include "daemon/proxy/relay.hpp"
#include "daemon/proxy/relay_stats.hpp"
#include "daemon/proxy/worker_context.hpp"

namespace mesh::proxy {

// Where an accepted connection goes, or why it goes nowhere.
struct Destination {
  base::SocketAddr upstream;
  RejectReason reject = RejectReason::kCount;  // kCount: not rejected

  static Destination to(const base::SocketAddr& addr) { return {addr, RejectReason::kCount}; }
  static Destination refuse(RejectReason reason) { return {{}, reason}; }
};

// Called on the worker thread right after accept with the accepted socket.
using DestinationFn = std::function<Destination(int accepted_fd)>;

struct ListenerSpec {
  uint64_t id = 0;                              // chosen by the caller; unique per worker
  base::Fd fd;                                  // the listening socket (this worker's own)
  std::shared_ptr<const UpstreamPolicy> policy;
  std::shared_ptr<RelayStats> stats;            // this worker's stats for this listener
  DestinationFn destination;
};

class Listener final : private io::Timer::Handler {
 public:
  Listener(WorkerContext& ctx, ListenerSpec spec);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  // Stops accepting and closes the listen socket once the kernel has let go of it.
  void stop();
  // True once the socket is closed: after stop(), when the accept op's last completion has
  // come (or at once if none was in flight). Only then may the listener be freed.
  bool closed() const { return !spec_.fd.valid(); }
  uint64_t id() const { return spec_.id; }
  const RelayStats& stats() const { return *spec_.stats; }
  const UpstreamPolicy& policy() const { return *spec_.policy; }

 private:
  void on_accept(int res, uint32_t flags);
  void on_timer(io::Timer&) override;
  void arm();

  WorkerContext& ctx_;
  ListenerSpec spec_;
  io::MemberOp<Listener, &Listener::on_accept> accept_op_{this};
  io::Timer retry_timer_{this};
  bool armed_ = false;
  bool stopping_ = false;
};

}  // namespace mesh::proxy
