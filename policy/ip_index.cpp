#include "policy/ip_index.hpp"

#include <cstring>

namespace mesh::policy {

IpIndex::Slot IpIndex::key_of(const base::IpAddr& ip) {
  Slot k;
  if (ip.is_v4()) {
    k.family = 1;
    k.lo = ip.v4_host_order();
  } else {
    k.family = 2;
    std::memcpy(&k.hi, ip.bytes().data(), 8);
    std::memcpy(&k.lo, ip.bytes().data() + 8, 8);
  }
  return k;
}

uint64_t IpIndex::hash(const Slot& k) {
  // A multiply-xorshift mix (from SplitMix64) of both halves and the family.
  uint64_t z = k.lo ^ (k.hi * 0x9e3779b97f4a7c15ull) ^ (uint64_t{k.family} << 61);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

const uint32_t* IpIndex::find(const base::IpAddr& ip) const {
  if (slots_.empty()) return nullptr;
  const Slot k = key_of(ip);
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash(k) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.family == 0) return nullptr;
    if (s.family == k.family && s.lo == k.lo && s.hi == k.hi) return &s.value;
  }
}

bool IpIndex::insert(const base::IpAddr& ip, uint32_t value) {
  if (find(ip)) return false;
  if ((size_ + 1) * 2 > slots_.size()) grow();
  Slot k = key_of(ip);
  k.value = value;
  const size_t mask = slots_.size() - 1;
  size_t i = hash(k) & mask;
  while (slots_[i].family != 0) i = (i + 1) & mask;
  slots_[i] = k;
  ++size_;
  return true;
}

void IpIndex::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.family == 0) continue;
    size_t i = hash(s) & mask;
    while (slots_[i].family != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

}  // namespace mesh::policy
