#pragma once
// Worker: the proxy side of one worker thread: its io_uring loop, receive buffers, relay
// listeners and live connections. run() is called on the worker's own thread and returns
// after stop(). The other public methods are thread-safe requests that run on the worker's
// loop; the stats accessors may be read from any thread.
#include <memory>
#include <vector>

#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"
#include "daemon/io/buffer_ring.hpp"
#include "daemon/io/loop.hpp"
#include "daemon/proxy/relay.hpp"
#include "daemon/proxy/relay_listener.hpp"
#include "daemon/proxy/relay_stats.hpp"
#include "daemon/proxy/worker_context.hpp"

namespace mesh::proxy {

struct WorkerOptions {
  unsigned index = 0;
  unsigned ring_entries = 1024;
  uint32_t buffer_size = 64 * 1024;
  uint32_t buffer_count = 256;
};

class Worker {
 public:
  static base::Result<std::unique_ptr<Worker>> create(const WorkerOptions& options, ConnectionBudget& budget);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  // Before run(): adds a relay listener on this worker. Listener i's stats are relay_stats(i).
  void add_relay(std::shared_ptr<const RelayTarget> target, base::Fd listen_fd);

  base::Status run();
  // Thread-safe requests.
  void stop_accepting();               // drain: close listeners, refuse new connections
  void abort_connections(CloseReason reason);
  void stop();

  unsigned index() const { return options_.index; }
  size_t relay_count() const { return stats_.size(); }
  const RelayStats& relay_stats(size_t i) const { return *stats_[i]; }
  const io::LoopStats& loop_stats() const { return loop_->stats(); }
  const WorkerStats& worker_stats() const { return ctx_->stats; }
  // Refreshed by the worker on every iteration batch; read from any thread.
  base::MonoTime last_heartbeat() const;

 private:
  Worker(const WorkerOptions& options, std::unique_ptr<io::Loop> loop);

  WorkerOptions options_;
  std::unique_ptr<io::Loop> loop_;
  std::unique_ptr<io::BufferRing> buffers_;
  std::unique_ptr<WorkerContext> ctx_;
  std::vector<std::unique_ptr<RelayStats>> stats_;
  std::vector<std::unique_ptr<RelayListener>> listeners_;
  std::atomic<int64_t> heartbeat_ns_{0};
};

}  // namespace mesh::proxy
