#pragma once
// VerifiedChainCache: remembers peer certificate chains that verified against one trust
// bundle, so a peer that connects again (pooled HBONE connections do, all day) costs one
// ECDSA verification per handshake (its CertificateVerify, which BoringSSL always checks)
// instead of two. The key is a SHA-256 over the chain's DER bytes, so a hit means "these
// exact certificates"; an entry is used only while the calendar time is inside the
// verified chain's common validity window, and only successes are stored. Owned by a
// TlsContext (one trust bundle, one role); a new context starts empty. Thread-safe: a
// context is shared by workers, and the lookup is a short mutex-protected map access.
#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "daemon/base/clock.hpp"
#include "tunnel/tls/spiffe_id.hpp"

namespace mesh::tunnel {

class VerifiedChainCache {
 public:
  using Digest = std::array<uint8_t, 32>;
  struct Entry {
    SpiffeId identity;
    base::WallTime not_before;  // the latest notBefore in the verified chain
    base::WallTime not_after;   // the earliest notAfter in the verified chain
  };

  explicit VerifiedChainCache(size_t capacity = 4096) : capacity_(capacity) {}

  std::optional<Entry> find(const Digest& key, base::WallTime now) const;
  void insert(const Digest& key, Entry entry);
  size_t size() const;

 private:
  struct DigestHash {
    size_t operator()(const Digest& d) const {
      size_t h;
      static_assert(sizeof h <= sizeof(Digest));
      __builtin_memcpy(&h, d.data(), sizeof h);  // already uniformly distributed
      return h;
    }
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<Digest, Entry, DigestHash> map_;
  std::deque<Digest> order_;  // insertion order, for eviction
};

}  // namespace mesh::tunnel
