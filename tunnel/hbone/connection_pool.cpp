#include "tunnel/hbone/connection_pool.hpp"

#include <algorithm>

#include "daemon/base/check.hpp"

namespace mesh::tunnel::hbone {

ConnectionPool::ConnectionPool(const base::Clock& clock, PoolOptions options) : clock_(clock), options_(options) {}

PoolDecision ConnectionPool::acquire(const PoolKey& key) {
  bool dialling = false;
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    for (ConnId id : it->second) {  // the oldest connection with room first
      Conn& c = conns_.at(id);
      if (c.state == State::Handshaking) dialling = true;
      if (c.state == State::Ready && c.streams < c.limit) {
        c.streams++;
        return {PoolDecision::Kind::Use, id};
      }
    }
  }
  if (dialling) return {PoolDecision::Kind::Wait, 0, PoolDecision::WaitReason::KeyDialing};
  if (handshaking_ >= options_.max_handshakes) {
    return {PoolDecision::Kind::Wait, 0, PoolDecision::WaitReason::HandshakeLimit};
  }
  ConnId id = next_id_++;
  conns_.emplace(id, Conn{key, State::Handshaking, 1, options_.max_streams_per_connection, clock_.now()});
  by_key_[key].push_back(id);
  handshaking_++;
  return {PoolDecision::Kind::Connect, id};
}

void ConnectionPool::connected(ConnId conn, size_t peer_stream_limit) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || it->second.state != State::Handshaking) return;
  handshaking_--;
  it->second.state = State::Ready;
  it->second.limit = std::max<size_t>(1, std::min(options_.max_streams_per_connection, peer_stream_limit));
}

void ConnectionPool::release_stream(ConnId conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || it->second.streams == 0) return;
  Conn& c = it->second;
  if (--c.streams > 0) return;
  if (c.state == State::Draining) {
    forget(conn);
  } else {
    c.idle_since = clock_.now();
  }
}

void ConnectionPool::failed(ConnId conn) { forget(conn); }

void ConnectionPool::draining(ConnId conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (it->second.state == State::Handshaking) handshaking_--;
  it->second.state = State::Draining;
  if (it->second.streams == 0) forget(conn);
}

void ConnectionPool::forget(ConnId conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (it->second.state == State::Handshaking) handshaking_--;
  auto& ids = by_key_[it->second.key];
  ids.erase(std::remove(ids.begin(), ids.end(), conn), ids.end());
  if (ids.empty()) by_key_.erase(it->second.key);
  conns_.erase(it);
}

std::vector<ConnId> ConnectionPool::expire_idle() {
  std::vector<ConnId> out;
  base::MonoTime now = clock_.now();
  for (const auto& [id, c] : conns_) {
    if (c.state == State::Ready && c.streams == 0 && now - c.idle_since >= options_.idle_timeout) out.push_back(id);
  }
  for (ConnId id : out) forget(id);
  return out;
}

base::MonoTime ConnectionPool::next_expiry() const {
  base::MonoTime next = base::MonoTime::max();
  for (const auto& [id, c] : conns_) {
    if (c.state == State::Ready && c.streams == 0) next = std::min(next, c.idle_since + options_.idle_timeout);
  }
  return next;
}

const PoolKey* ConnectionPool::key_of(ConnId conn) const {
  auto it = conns_.find(conn);
  return it == conns_.end() ? nullptr : &it->second.key;
}

size_t ConnectionPool::streams(ConnId conn) const {
  auto it = conns_.find(conn);
  return it == conns_.end() ? 0 : it->second.streams;
}

}  // namespace mesh::tunnel::hbone
