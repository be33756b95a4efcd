#include "tunnel/tls/verified_chain_cache.hpp"

namespace mesh::tunnel {

std::optional<VerifiedChainCache::Entry> VerifiedChainCache::find(const Digest& key, base::WallTime now) const {
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end() || now < it->second.not_before || now > it->second.not_after) return std::nullopt;
  return it->second;
}

void VerifiedChainCache::insert(const Digest& key, Entry entry) {
  std::lock_guard lock(mu_);
  if (capacity_ == 0) return;
  auto [it, inserted] = map_.insert_or_assign(key, std::move(entry));
  if (!inserted) return;
  order_.push_back(key);
  while (map_.size() > capacity_) {
    map_.erase(order_.front());
    order_.pop_front();
  }
}

size_t VerifiedChainCache::size() const {
  std::lock_guard lock(mu_);
  return map_.size();
}

}  // namespace mesh::tunnel
