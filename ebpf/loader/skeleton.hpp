#pragma once
// Skeleton<T> owns one bpftool-generated skeleton object (open, loaded or not) and destroys
// it on destruction, which closes its programs and maps and destroys any link it still holds
// (pinned links survive: see CapturePrograms). Move-only; owned by one thread at a time.
// The generated functions are passed as a traits type so the wrapper stays generic:
//   struct Ops { static T* open(const bpf_object_open_opts*); static int load(T*);
//                static void destroy(T*); };
#include <bpf/libbpf.h>

#include <cerrno>
#include <memory>
#include <string>

#include "daemon/base/result.hpp"

namespace mesh::ebpf {

template <class T, class Ops>
class Skeleton {
 public:
  static base::Result<Skeleton> open(const bpf_object_open_opts* opts) {
    T* raw = Ops::open(opts);
    if (raw == nullptr) return base::fail_errno("open BPF skeleton", errno);
    return Skeleton(raw);
  }

  base::Status load() {
    int err = Ops::load(obj_.get());
    if (err != 0) return base::fail_errno("load BPF skeleton (verifier or map reuse)", -err);
    return base::ok();
  }

  T* operator->() const { return obj_.get(); }
  T* get() const { return obj_.get(); }

 private:
  struct Deleter {
    void operator()(T* p) const { Ops::destroy(p); }
  };
  explicit Skeleton(T* raw) : obj_(raw) {}
  std::unique_ptr<T, Deleter> obj_;
};

}  // namespace mesh::ebpf
