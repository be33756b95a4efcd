#include "daemon/proxy/channel/dial_profile.hpp"

#include <cerrno>

#include "daemon/io/socket.hpp"

namespace mesh::proxy {

base::Result<base::Fd> upstream_socket(const DialProfile& profile, const base::SocketAddr& upstream) {
  io::DialOptions dial;
  dial.netns_fd = profile.netns ? profile.netns->get() : -1;
  dial.mark = profile.mark;
  const auto& source = upstream.ip().is_v4() ? profile.source_v4 : profile.source_v6;
  if (source) dial.bind_source = &*source;
  return io::tcp_socket(upstream, dial);
}

RejectReason reject_for_connect_error(int err) {
  switch (err) {
    case ECONNREFUSED: return RejectReason::UpstreamRefused;
    case ENETUNREACH: case EHOSTUNREACH: case EADDRNOTAVAIL: return RejectReason::UpstreamUnreachable;
    case ECANCELED: case ETIMEDOUT: return RejectReason::UpstreamTimeout;
    default: return RejectReason::UpstreamError;
  }
}

}  // namespace mesh::proxy
