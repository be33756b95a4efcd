#pragma once
// ConnectionPool: the decisions behind HBONE connection reuse, with no sockets and no
// HboneClient objects (the daemon owns those, under the ConnId this pool hands out).
// Following ztunnel (reference/ztunnel.md §1.8):
//   - connections are pooled per key (source identity, acceptable destination identities,
//     destination node address);
//   - a connection carries up to max_streams_per_connection streams (100), fewer if the
//     server's SETTINGS_MAX_CONCURRENT_STREAMS says so; a full key opens another connection;
//   - connection storms are serialised per key: while one connection of a key is being dialled
//     the other flows wait for it instead of dialling their own;
//   - at most max_handshakes connections are handshaking at once, node-wide;
//   - a connection that received GOAWAY or failed takes no new streams; one without streams
//     for idle_timeout (5 min) is handed back for closing.
// acquire() answers one new flow: Use (open a stream on `conn`), Connect (dial `conn`, then
// report connected() or failed()) or Wait (retry acquire() when a connection of this key
// becomes ready or fails, or any handshake ends if the reason is the handshake limit).
// Single-threaded: one pool per worker.
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/socket_addr.hpp"
#include "tunnel/tls/spiffe_id.hpp"

namespace mesh::tunnel::hbone {

struct PoolKey {
  SpiffeId source;
  std::vector<SpiffeId> destinations;  // identities the destination may present (sorted)
  base::SocketAddr node;               // where the connection goes (pod-ip:15008)
  auto operator<=>(const PoolKey&) const = default;
};

struct PoolOptions {
  size_t max_streams_per_connection = 100;
  base::Duration idle_timeout = std::chrono::minutes(5);
  size_t max_handshakes = 64;
};

using ConnId = uint64_t;

struct PoolDecision {
  enum class Kind : uint8_t { Use, Connect, Wait };
  enum class WaitReason : uint8_t { None, KeyDialing, HandshakeLimit };
  Kind kind;
  ConnId conn = 0;  // Use, Connect
  WaitReason wait = WaitReason::None;
};

class ConnectionPool {
 public:
  ConnectionPool(const base::Clock& clock, PoolOptions options = {});

  PoolDecision acquire(const PoolKey& key);
  // A stream acquired with Use or (after connected()) on a Connect connection has ended.
  void release_stream(ConnId conn);
  // The handshake of `conn` completed; `peer_stream_limit` is the server's
  // SETTINGS_MAX_CONCURRENT_STREAMS. The flow that asked for Connect holds the first stream.
  void connected(ConnId conn, size_t peer_stream_limit);
  // Dial or handshake failed, or the connection broke: forget it.
  void failed(ConnId conn);
  // GOAWAY received: no new streams; forgotten once its last stream is released.
  void draining(ConnId conn);
  // Idle connections past the timeout, removed from the pool: close them.
  std::vector<ConnId> expire_idle();
  base::MonoTime next_expiry() const;

  const PoolKey* key_of(ConnId conn) const;
  size_t streams(ConnId conn) const;
  size_t handshakes_in_flight() const { return handshaking_; }
  size_t connections() const { return conns_.size(); }

 private:
  enum class State : uint8_t { Handshaking, Ready, Draining };
  struct Conn {
    PoolKey key;
    State state = State::Handshaking;
    size_t streams = 0;
    size_t limit = 0;
    base::MonoTime idle_since;
  };
  void forget(ConnId conn);

  const base::Clock& clock_;
  PoolOptions options_;
  ConnId next_id_ = 1;
  size_t handshaking_ = 0;
  std::unordered_map<ConnId, Conn> conns_;
  std::map<PoolKey, std::vector<ConnId>> by_key_;  // in creation order
};

}  // namespace mesh::tunnel::hbone
