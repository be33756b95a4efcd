#pragma once
// TypedMap<K, V>: typed access to one BPF map through its file descriptor, which it borrows
// (the map belongs to the loaded object, or to bpffs through its pin). Every call is one
// bpf(2) syscall; the kernel makes each atomic, so any thread may call them concurrently.
// Keys and values are the ABI structs of ebpf/include/mesh_abi.h.
#include <bpf/bpf.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "daemon/base/result.hpp"

namespace mesh::ebpf {

template <class K, class V>
class TypedMap {
 public:
  TypedMap() = default;
  TypedMap(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

  base::Result<std::optional<V>> lookup(const K& key) const {
    V value{};
    if (bpf_map_lookup_elem(fd_, &key, &value) == 0) return std::optional<V>(value);
    if (errno == ENOENT) return std::optional<V>();
    return base::fail_errno("look up in map '" + name_ + "'", errno);
  }

  // flags: BPF_ANY, BPF_NOEXIST or BPF_EXIST.
  base::Status update(const K& key, const V& value, uint64_t flags = BPF_ANY) const {
    if (bpf_map_update_elem(fd_, &key, &value, flags) == 0) return base::ok();
    return base::fail_errno("update map '" + name_ + "'", errno);
  }

  // Deleting a missing key is not an error; returns whether an entry was removed.
  base::Result<bool> erase(const K& key) const {
    if (bpf_map_delete_elem(fd_, &key) == 0) return true;
    if (errno == ENOENT) return false;
    return base::fail_errno("delete from map '" + name_ + "'", errno);
  }

  // All keys, bounded by `limit` (the map's max_entries).
  base::Result<std::vector<K>> keys(size_t limit) const {
    std::vector<K> out;
    K cur{};
    K next{};
    const K* prev = nullptr;
    while (out.size() < limit) {
      if (bpf_map_get_next_key(fd_, prev, &next) != 0) {
        if (errno == ENOENT) break;
        return base::fail_errno("iterate map '" + name_ + "'", errno);
      }
      out.push_back(next);
      cur = next;
      prev = &cur;
    }
    return out;
  }

 private:
  int fd_ = -1;
  std::string name_;
};

}  // namespace mesh::ebpf
