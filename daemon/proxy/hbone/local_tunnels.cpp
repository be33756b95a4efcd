#include "daemon/proxy/hbone/local_tunnels.hpp"

namespace mesh::proxy {

void LocalTunnels::dialled(const base::SocketAddr& peer, uint16_t port, unsigned worker) {
  std::lock_guard lock(mu_);
  dialled_[{peer, port}] = worker;
}

void LocalTunnels::closed(const base::SocketAddr& peer, uint16_t port) {
  std::lock_guard lock(mu_);
  dialled_.erase({peer, port});
}

std::optional<unsigned> LocalTunnels::dialler(const base::SocketAddr& local, const base::SocketAddr& remote) const {
  std::lock_guard lock(mu_);
  // The key leaves out the dialling address (unknown before connect): a connection from
  // another host that happens to use the same source port is at worst moved needlessly.
  auto it = dialled_.find({local, remote.port()});
  if (it == dialled_.end()) return std::nullopt;
  return it->second;
}

std::optional<unsigned> LocalTunnels::move_to(unsigned accepting, std::optional<unsigned> dialler) const {
  if (workers_ < 2 || !dialler || *dialler >= workers_) return std::nullopt;
  switch (placement_) {
    case Placement::OtherWorker:
      if (*dialler != accepting) return std::nullopt;
      return (accepting + 1) % workers_;
    case Placement::SameWorker:
      if (*dialler == accepting) return std::nullopt;
      return *dialler;
  }
  return std::nullopt;
}

}  // namespace mesh::proxy
