#pragma once
// Worker: the proxy side of one worker thread: its io_uring loop, receive buffers, listeners
// and live connections. run() is called on the worker's own thread and returns after stop().
// The other public methods are thread-safe requests that run on the worker's loop; the
// stats accessors may be read from any thread.
#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include "daemon/base/result.hpp"
#include "daemon/io/buffer_ring.hpp"
#include "daemon/io/loop.hpp"
#include "daemon/proxy/listener.hpp"
#include "daemon/proxy/hbone/local_tunnels.hpp"
#include "daemon/proxy/channel/dial_profile.hpp"
#include "daemon/proxy/hbone/tunnel_pool.hpp"
#include "daemon/proxy/http/cluster_cache.hpp"
#include "daemon/proxy/http/http_options.hpp"
#include "daemon/proxy/http/http_stats.hpp"
#include "daemon/proxy/worker_context.hpp"

namespace mesh::proxy {

struct WorkerOptions {
  unsigned index = 0;
  unsigned ring_entries = 1024;
  uint32_t buffer_size = 32 * 1024;
  uint32_t buffer_count = 32;
  LocalTunnels* local_tunnels = nullptr;  // shared by the daemon's workers; may be null
  telemetry::RequestRecorder* requests = nullptr;  // where this worker records requests; may be null
  HttpOptions http;
};

class Worker {
 public:
  static base::Result<std::unique_ptr<Worker>> create(const WorkerOptions& options, ConnectionBudget& budget);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  base::Status run();

  // Thread-safe requests, carried out on the worker's loop.
  void add_listener(ListenerSpec spec);
  // Stops accepting on listener `id`; with `abort`, also resets its open connections.
  void remove_listener(uint64_t id, bool abort);
  // A socket another worker accepted on listener `id` (a node-local tunnel it dialled
  // itself: see LocalTunnels), served here. Its connection budget is already taken.
  void adopt_tunnel(uint64_t id, base::Fd accepted);
  void stop_accepting();  // drain: close every listener, refuse new connections
  void abort_connections(CloseReason reason);
  // Resets every inbound connection `allowed` now refuses (a new policy); runs on the worker
  // after whatever was posted before it (e.g. installing the new snapshot).
  void recheck(std::function<bool(const FlowAttrs&)> allowed);
  void stop();
  // Runs `fn` on this worker's thread (e.g. to install a new configuration snapshot).
  void post(std::function<void()> fn) { loop_->post(std::move(fn)); }

  unsigned index() const { return options_.index; }
  const io::LoopStats& loop_stats() const { return loop_->stats(); }
  const WorkerStats& worker_stats() const { return ctx_->stats; }
  const TunnelStats& tunnel_stats() const { return tunnel_stats_; }
  const HttpStats& http_stats() const { return http_stats_; }
  // Refreshed by the worker every 500 ms; read from any thread (watchdog).
  base::MonoTime last_heartbeat() const;

 private:
  Worker(const WorkerOptions& options, std::unique_ptr<io::Loop> loop);
  void abort_where(bool (*match)(const Flow&, const void*), const void* arg, CloseReason reason);

  WorkerOptions options_;
  std::unique_ptr<io::Loop> loop_;
  std::unique_ptr<io::BufferRing> buffers_;
  std::unique_ptr<WorkerContext> ctx_;
  TunnelStats tunnel_stats_;
  HttpStats http_stats_;
  std::unique_ptr<ClusterCache> clusters_;
  std::unique_ptr<TunnelPool> pool_;
  std::map<uint64_t, std::unique_ptr<Listener>> listeners_;
  std::map<Listener*, std::unique_ptr<Listener>> retiring_;  // stopped, accept not yet completed
  std::atomic<int64_t> heartbeat_ns_{0};
};

}  // namespace mesh::proxy
