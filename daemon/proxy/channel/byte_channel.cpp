#include "daemon/proxy/channel/byte_channel.hpp"

namespace mesh::proxy {

std::string_view to_string(ChannelEvent e) {
  switch (e) {
    case ChannelEvent::Connected: return "connected";
    case ChannelEvent::Data: return "data";
    case ChannelEvent::PeerEnd: return "peer_end";
    case ChannelEvent::Writable: return "writable";
    case ChannelEvent::Closed: return "closed";
    case ChannelEvent::Quiet: return "quiet";
  }
  return "unknown";
}

}  // namespace mesh::proxy
