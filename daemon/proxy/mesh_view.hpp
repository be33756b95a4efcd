#pragma once
// MeshView: what a worker consults to decide about one connection, as one immutable
// snapshot: the compiled mesh policy, the TLS contexts of this node's identities, and which
// addresses belong to meshed workloads (and their identities). The control thread builds a new view whenever any of it
// changes and posts it to every worker, which keeps it in a thread_local: readers never
// lock and never see half of an update (RCU style); a connection keeps using what it read.
#include <map>
#include <memory>
#include <string>

#include "daemon/base/socket_addr.hpp"
#include "tunnel/tls/tls_context.hpp"
#include "policy/compiled.hpp"

namespace mesh::proxy {

struct MeshPeer {
  tunnel::SpiffeId identity;
  bool hbone = true;  // reachable through HBONE on <ip>:15008
};

struct MeshView {
  std::string trust_domain;
  policy::PolicySnapshot policy;                           // null until the first load
  std::map<tunnel::SpiffeId, tunnel::TlsContexts> tls;  // this node's identities
  std::map<base::IpAddr, MeshPeer> peers;                  // meshed workloads by address

  const tunnel::TlsContexts* contexts(const tunnel::SpiffeId& id) const {
    auto it = tls.find(id);
    return it == tls.end() ? nullptr : &it->second;
  }
  const MeshPeer* peer(const base::IpAddr& ip) const {
    auto it = peers.find(ip);
    return it == peers.end() ? nullptr : &it->second;
  }
};

// The calling thread's current view (an empty one until the first publish reaches it).
const MeshView& current_view();
// Installs `view` on the calling thread.
void install_view(std::shared_ptr<const MeshView> view);

}  // namespace mesh::proxy
