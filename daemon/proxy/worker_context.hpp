#pragma once
// WorkerContext: what every connection on one worker thread shares: its loop, its receive
// buffer ring, the daemon-wide connection budget, and the list of live connections (so a
// drain can find them). Owned by the worker; used only on its thread, except the budget.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "daemon/base/counter.hpp"
#include "daemon/base/intrusive_list.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/io/buffer_ring.hpp"
#include "daemon/io/loop.hpp"
#include "tunnel/http/sniff.hpp"

namespace mesh::telemetry {
class RequestRecorder;
}

namespace mesh::proxy {

struct DialProfile;
class TunnelConnection;
class TunnelPool;
class LocalTunnels;
struct TunnelStats;
struct HttpStats;
struct HttpOptions;
class ClusterCache;
enum class CloseReason : uint8_t;

// What authorization looked at when an inbound connection was allowed, kept so that the
// connection can be checked again when the policy changes (Istio closes connections that a
// new policy denies).
struct FlowAttrs {
  std::string source_identity;  // SPIFFE ID from mTLS; empty for plaintext
  base::SocketAddr source;
  base::SocketAddr destination;
  // The connection is inspected for HTTP (see http/http_connection.hpp) and authorized
  // request by request, so connection-time checks use Istio's HTTP semantics (rules that need
  // request attributes are left to each request). Cleared once detection finds opaque bytes:
  // from then on it is checked as TCP.
  bool per_request = false;
  tunnel::http::DeclaredProtocol declared = tunnel::http::DeclaredProtocol::Undeclared;  // by the port's service
};

// Flow: anything a worker may have to abort (drain deadline, unenroll, policy change): an
// L4 splice, later an HTTP connection (see channel/channel_flow.hpp). Linked into its worker's list for as long as it lives.
class Flow : public base::IntrusiveListNode<Flow> {
 public:
  // Inbound flows carry the attributes they were authorized with; others return null.
  const FlowAttrs* attrs() const { return attrs_ ? &*attrs_ : nullptr; }

  virtual void abort(CloseReason reason) = 0;
  // The listener's dial profile: how a removed listener finds its flows.
  virtual const DialProfile& profile() const = 0;
  // The loop has stopped for good (daemon exit): free everything now. No completion will
  // arrive any more, so in-flight counts no longer matter.
  virtual void discard() = 0;

 protected:
  ~Flow() = default;
  std::optional<FlowAttrs> attrs_;
};

// The daemon-wide bound on relayed connections, shared by all workers.
class ConnectionBudget {
 public:
  explicit ConnectionBudget(uint64_t limit) : limit_(limit) {}
  bool try_acquire() {
    uint64_t now = active_.fetch_add(1, std::memory_order_relaxed);
    if (now < limit_.load(std::memory_order_relaxed)) return true;
    active_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void release() { active_.fetch_sub(1, std::memory_order_relaxed); }
  uint64_t active() const { return active_.load(std::memory_order_relaxed); }
  void set_limit(uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }
  uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> active_{0};
  std::atomic<uint64_t> limit_;
};

struct WorkerStats {
  base::Counter buffer_waits;  // a receive found the buffer ring empty
  base::Counter stalled_sends; // the destination could not take a whole buffer at once
  base::Gauge buffers_in_use;
};

struct WorkerContext {
  io::Loop& loop;
  io::BufferRing& buffers;
  ConnectionBudget& budget;
  WorkerStats stats;
  base::IntrusiveList<Flow> flows;
  base::IntrusiveList<TunnelConnection> tunnels;
  TunnelPool* pool = nullptr;           // this worker's HBONE client connections
  TunnelStats* tunnel_stats = nullptr;
  bool draining = false;
  // Decrypted bytes on their way from a TLS session into HTTP/2: one buffer per worker,
  // reused by every tunnel connection (the HTTP/2 layer copies what it keeps).
  static constexpr size_t kScratchSize = 64 * 1024;
  std::unique_ptr<uint8_t[]> scratch{new uint8_t[kScratchSize]};
  unsigned index = 0;                    // of this worker
  LocalTunnels* local_tunnels = nullptr;  // shared by all workers; may be null
  HttpStats* http_stats = nullptr;        // this worker's HTTP counters (never null in a Worker)
  telemetry::RequestRecorder* requests = nullptr;  // this worker's request metrics; may be null
  ClusterCache* clusters = nullptr;       // this worker's load-balancing state (never null in a Worker)
  const HttpOptions* http_options = nullptr;  // [http] settings (never null in a Worker)
};

}  // namespace mesh::proxy
