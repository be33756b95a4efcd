#pragma once
// Netns: an open network namespace (a file such as /run/netns/NAME or /proc/PID/ns/net),
// checked to really be a network namespace, with its inode (stable identity while it lives)
// and its cookie (what the BPF programs see). NetnsScope moves the *calling thread* into a
// netns and back on destruction (setns is per thread); nothing else may run on that thread
// meanwhile. Both are move-only owners of their descriptors.
#include <cstdint>
#include <string>

#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"

namespace mesh::datapath {

class Netns {
 public:
  // NotFound if the path is missing, Invalid if it is not a network namespace.
  static base::Result<Netns> open(const std::string& path);
  // The calling thread's current network namespace.
  static base::Result<Netns> current();

  int fd() const { return fd_.get(); }
  uint64_t inode() const { return inode_; }
  const std::string& path() const { return path_; }
  // SO_NETNS_COOKIE of a socket made inside (kernel 5.14+). Enters the netns briefly.
  base::Result<uint64_t> cookie() const;

 private:
  Netns(base::Fd fd, uint64_t inode, std::string path)
      : fd_(std::move(fd)), inode_(inode), path_(std::move(path)) {}
  base::Fd fd_;
  uint64_t inode_ = 0;
  std::string path_;
};

// The inode `path` refers to now, if it is still a network namespace (0 otherwise): how a
// vanished netns is noticed.
uint64_t netns_inode_at(const std::string& path);

class NetnsScope {
 public:
  static base::Result<NetnsScope> enter(const Netns& target);
  NetnsScope(NetnsScope&& other) noexcept;
  NetnsScope& operator=(NetnsScope&&) = delete;
  NetnsScope(const NetnsScope&) = delete;
  ~NetnsScope();  // returns to the original netns; aborts if it cannot (broken invariant)

 private:
  explicit NetnsScope(base::Fd original) : original_(std::move(original)) {}
  base::Fd original_;
};

}  // namespace mesh::datapath
