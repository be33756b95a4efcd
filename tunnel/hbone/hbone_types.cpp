#include "tunnel/hbone/hbone_types.hpp"

namespace mesh::tunnel::hbone {

std::string_view to_string(StreamReject r) {
  switch (r) {
    case StreamReject::NotConnect: return "not_connect";
    case StreamReject::BadAuthority: return "bad_authority";
    case StreamReject::HeaderListTooLarge:
    case StreamReject::Malformed:
    case StreamReject::Refused:
      return http::to_string(static_cast<http::StreamReject>(r));
  }
  return "unknown";
}

}  // namespace mesh::tunnel::hbone
