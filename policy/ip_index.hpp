#pragma once
// IpIndex: an open-addressing hash map from IP address to a 32-bit index, for the lookups
// the daemon makes on every connection (workload by address, service by VIP). One probe is
// usually one cache line; std::unordered_map would chase a node per lookup. Grows while it
// is built (load factor at most 1/2); read-only afterwards, so any thread may read it.
#include <cstdint>
#include <vector>

#include "daemon/base/socket_addr.hpp"

namespace mesh::policy {

class IpIndex {
 public:
  // Inserts unless present; returns false (and changes nothing) when ip is already there.
  bool insert(const base::IpAddr& ip, uint32_t value);
  // The value for ip, or null.
  const uint32_t* find(const base::IpAddr& ip) const;
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hi = 0, lo = 0;  // the address's 16 bytes (an IPv4 address in `lo`)
    uint32_t family = 0;      // 0 = empty, 1 = IPv4, 2 = IPv6
    uint32_t value = 0;
  };
  static Slot key_of(const base::IpAddr& ip);
  static uint64_t hash(const Slot& k);
  void grow();

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace mesh::policy
