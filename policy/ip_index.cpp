#include "policy/ip_index.hpp"

namespace mesh::policy {

bool IpIndex::insert(const base::IpAddr& ip, uint32_t value) {
  if (value == kEmpty || find(ip)) return false;
  if (ip.is_v4()) {
    if ((v4_size_ + 1) * 2 > v4_.size()) grow_v4();
    const uint32_t key = v4_key(ip);
    const size_t mask = v4_.size() - 1;
    size_t i = v4_hash(key, v4_shift_);
    while (v4_[i].value != kEmpty) i = (i + 1) & mask;
    v4_[i].key = key;
    v4_[i].value = value;
    ++v4_size_;
    return true;
  }
  if ((v6_size_ + 1) * 2 > v6_.size()) grow_v6();
  V6Slot k = v6_key(ip);
  k.value = value;
  k.used = 1;
  const size_t mask = v6_.size() - 1;
  size_t i = v6_hash(k) & mask;
  while (v6_[i].used) i = (i + 1) & mask;
  v6_[i] = k;
  ++v6_size_;
  return true;
}

void IpIndex::grow_v4() {
  std::vector<V4Slot> old = std::move(v4_);
  v4_.assign(old.empty() ? 16 : old.size() * 2, V4Slot{});
  v4_shift_ = 64;
  for (size_t n = v4_.size(); n > 1; n >>= 1) --v4_shift_;
  const size_t mask = v4_.size() - 1;
  for (const V4Slot& s : old) {
    if (s.value == kEmpty) continue;
    size_t i = v4_hash(s.key, v4_shift_);
    while (v4_[i].value != kEmpty) i = (i + 1) & mask;
    v4_[i] = s;
  }
}

void IpIndex::grow_v6() {
  std::vector<V6Slot> old = std::move(v6_);
  v6_.assign(old.empty() ? 16 : old.size() * 2, V6Slot{});
  const size_t mask = v6_.size() - 1;
  for (const V6Slot& s : old) {
    if (!s.used) continue;
    size_t i = v6_hash(s) & mask;
    while (v6_[i].used) i = (i + 1) & mask;
    v6_[i] = s;
  }
}

}  // namespace mesh::policy
