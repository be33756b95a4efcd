#pragma once
// IpIndex: an open-addressing hash map from IP address to a 32-bit index, for the lookups
// the daemon makes on every connection (workload by address, service by VIP). IPv4 keys live
// in their own table of 8-byte slots with a one-multiply (Fibonacci) hash, so a lookup is
// usually one short probe in one cache line; IPv6 keys in a table of 24-byte slots. Grows
// while it is built (load factor at most 1/2); read-only afterwards, so any thread may read
// it.
#include <cstdint>
#include <cstring>
#include <vector>

#include "daemon/base/socket_addr.hpp"

namespace mesh::policy {

class IpIndex {
 public:
  // Inserts unless present; returns false (and changes nothing) when ip is already there.
  bool insert(const base::IpAddr& ip, uint32_t value);

  // The value for ip, or null.
  const uint32_t* find(const base::IpAddr& ip) const {
    if (ip.is_v4()) {
      if (v4_.empty()) return nullptr;
      const uint32_t key = v4_key(ip);
      const size_t mask = v4_.size() - 1;
      for (size_t i = v4_hash(key, v4_shift_);; i = (i + 1) & mask) {
        const V4Slot& s = v4_[i];
        if (s.value == kEmpty) return nullptr;
        if (s.key == key) return &s.value;
      }
    }
    if (v6_.empty()) return nullptr;
    const V6Slot k = v6_key(ip);
    const size_t mask = v6_.size() - 1;
    for (size_t i = v6_hash(k) & mask;; i = (i + 1) & mask) {
      const V6Slot& s = v6_[i];
      if (!s.used) return nullptr;
      if (s.hi == k.hi && s.lo == k.lo) return &s.value;
    }
  }

  size_t size() const { return v4_size_ + v6_size_; }

 private:
  // An IPv4 slot: the address in network byte order and its value; kEmpty marks a free
  // slot (0.0.0.0 is a valid key). Values are indices and never reach kEmpty.
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct V4Slot {
    uint32_t key = 0;
    uint32_t value = kEmpty;
  };
  struct V6Slot {
    uint64_t hi = 0, lo = 0;
    uint32_t value = 0;
    uint32_t used = 0;
  };

  static uint32_t v4_key(const base::IpAddr& ip) {
    uint32_t k;
    std::memcpy(&k, ip.bytes().data(), 4);
    return k;
  }
  static size_t v4_hash(uint32_t key, unsigned shift) {
    return static_cast<size_t>((uint64_t{key} * 0x9e3779b97f4a7c15ull) >> shift);
  }
  static V6Slot v6_key(const base::IpAddr& ip) {
    V6Slot k;
    std::memcpy(&k.hi, ip.bytes().data(), 8);
    std::memcpy(&k.lo, ip.bytes().data() + 8, 8);
    return k;
  }
  static uint64_t v6_hash(const V6Slot& k) {
    // A multiply-xorshift mix (from SplitMix64) of both halves.
    uint64_t z = k.lo ^ (k.hi * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  void grow_v4();
  void grow_v6();

  std::vector<V4Slot> v4_;
  unsigned v4_shift_ = 64;  // 64 - log2(v4_.size())
  size_t v4_size_ = 0;
  std::vector<V6Slot> v6_;
  size_t v6_size_ = 0;
};

}  // namespace mesh::policy
