#pragma once
// Small helpers shared by the L4 benchmark tool's modes (serve, load, hold): monotonic time,
// options of the form --name value, address parsing, sockets, the open-file limit and the
// process's own CPU time. Everything here is blocking-free except where a name says so.
#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/fd.hpp"
#include "daemon/base/socket_addr.hpp"

namespace mesh::bench {

// CLOCK_MONOTONIC in nanoseconds.
uint64_t now_ns();

// The calling process's user + system CPU time, nanoseconds.
uint64_t cpu_ns();

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit.
uint64_t raise_nofile();

// "--name value" pairs after the mode word; check_known() rejects names a mode does not take.
class Options {
 public:
  // Returns false and prints a message for a malformed command line.
  bool parse(int argc, char** argv, int first);
  bool check_known(std::initializer_list<std::string_view> names) const;
  std::string str(std::string_view name, std::string_view fallback) const;
  double num(std::string_view name, double fallback) const;
  bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }

 private:
  std::map<std::string, std::string> values_;
};

// The bytes of one request: the contents of --request-file when given (e.g. a whole HTTP/1.1
// request, so the L7 benchmark drives HTTP with the same client), else --size bytes of `fill`.
// Empty on an unreadable or empty file (a message is printed).
std::vector<uint8_t> request_bytes(const Options& opts, char fill);

// Parses "host:port" (IPv6 in brackets) or exits with a message.
base::SocketAddr parse_addr_or_exit(const std::string& text);

// A non-blocking TCP socket listening on `addr` (port 0: any); the bound address in `bound`.
base::Fd listen_tcp(const base::SocketAddr& addr, base::SocketAddr& bound);

// A non-blocking TCP socket with a connect to `addr` under way (EINPROGRESS), or an invalid
// Fd on an immediate failure (errno set).
base::Fd start_connect(const base::SocketAddr& addr);

void set_nodelay(int fd);
void set_nonblocking(int fd);

// Writes the whole buffer to a blocking-or-not fd, retrying on EINTR/EAGAIN with poll, for at
// most `timeout_ms`. Returns false on error or timeout.
bool write_all(int fd, const void* data, size_t len, int timeout_ms);
// Reads exactly `len` bytes, same rules.
bool read_exact(int fd, void* data, size_t len, int timeout_ms);

}  // namespace mesh::bench
