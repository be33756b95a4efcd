#pragma once
// AdminClient: meshctl's blocking HTTP/1.1 client for the daemon's admin socket. One request
// per connection (Connection: close), bounded by a timeout. Errors say what the user can do
// about them (daemon not running, no permission, wrong socket path).
#include <string>

#include "daemon/base/result.hpp"

namespace mesh::meshctl {

inline constexpr const char* kDefaultAdminSocket = "/run/meshd/admin.sock";

struct AdminResponse {
  int status = 0;
  std::string body;
};

class AdminClient {
 public:
  explicit AdminClient(std::string socket_path, int timeout_ms = 10000)
      : path_(std::move(socket_path)), timeout_ms_(timeout_ms) {}

  base::Result<AdminResponse> request(const std::string& method, const std::string& target,
                                      const std::string& body = "") const;
  base::Result<AdminResponse> get(const std::string& target) const { return request("GET", target); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int timeout_ms_;
};

// The admin socket to use: --socket if given, else $MESHD_ADMIN_SOCKET, else the default.
std::string admin_socket_path(const std::string& flag_value);

}  // namespace mesh::meshctl
