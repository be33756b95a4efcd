#include "daemon/meshctl/admin_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "daemon/base/fd.hpp"
#include "tunnel/http/h1_message_parser.hpp"

namespace mesh::meshctl {
namespace {

base::Error connect_error(const std::string& path, int err) {
  switch (err) {
    case ENOENT:
      return base::Error(base::Errc::NotFound,
                         fmt::format("meshd is not running: no admin socket at {} (start meshd, or point --socket "
                                     "or MESHD_ADMIN_SOCKET at its admin.socket)", path));
    case EACCES:
    case EPERM:
      return base::Error(base::Errc::Denied,
                         fmt::format("permission denied on {}: run meshctl as root or as a member of the "
                                     "socket's group", path));
    case ECONNREFUSED:
      return base::Error(base::Errc::Closed,
                         fmt::format("meshd is not running: nothing is listening on {} (stale socket)", path));
    default:
      return base::Error::from_errno(err, fmt::format("cannot connect to meshd at {}", path));
  }
}

}  // namespace

std::string admin_socket_path(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("MESHD_ADMIN_SOCKET"); env != nullptr && *env != '\0') return env;
  return kDefaultAdminSocket;
}

base::Result<AdminResponse> AdminClient::request(const std::string& method, const std::string& target,
                                                 const std::string& body) const {
  sockaddr_un sun{};
  if (path_.size() >= sizeof sun.sun_path) return base::fail(base::Errc::Invalid, fmt::format("socket path '{}' is too long", path_));
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path_.data(), path_.size());
  base::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return base::fail_errno("create socket", errno);
  timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) return base::fail(connect_error(path_, errno));

  std::string wire = tunnel::http::format_request(
      method, target, {{"Host", "meshd"}, {"Connection", "close"}, {"User-Agent", "meshctl"}}, body);
  for (size_t off = 0; off < wire.size();) {
    ssize_t n = ::send(fd.get(), wire.data() + off, wire.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return base::fail_errno(fmt::format("send request to meshd at {}", path_), errno);
    off += static_cast<size_t>(n);
  }
  tunnel::http::MessageParser parser(tunnel::http::MessageParser::Kind::Response,
                                      tunnel::http::Limits{.max_header_bytes = 64 * 1024, .max_headers = 100,
                                                            .max_body_bytes = 64 << 20});
  char buf[16384];
  while (parser.state() == tunnel::http::MessageParser::State::NeedMore) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return base::fail_errno(fmt::format("read response from meshd at {}", path_), errno == EAGAIN ? ETIMEDOUT : errno);
    }
    if (n == 0) {
      parser.finish();
      break;
    }
    parser.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
  if (parser.state() != tunnel::http::MessageParser::State::Complete) {
    return base::fail(base::Errc::Invalid, fmt::format("malformed response from meshd at {}: {}", path_, parser.error_reason()));
  }
  return AdminResponse{parser.message().status, parser.message().body};
}

}  // namespace mesh::meshctl
