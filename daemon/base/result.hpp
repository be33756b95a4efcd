#pragma once
// Error and Result<T>: the vocabulary for everything that can fail on input (network bytes,
// config, kernel calls). An Error carries a code, the errno it came from (0 if none) and a
// context string that grows as the error travels up: "start datapath: open map: EPERM".
// Plain values, safe to pass between threads.
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace mesh::base {

enum class Errc {
  Invalid,      // malformed input
  NotFound,
  Exists,
  Unsupported,  // the kernel or a peer lacks a feature
  Limit,        // a configured bound was reached
  Timeout,
  Denied,
  Closed,
  System,       // a syscall failed; sys_errno says why
  Internal,
};

std::string_view to_string(Errc code);

class Error {
 public:
  Error(Errc code, std::string context, int sys_errno = 0)
      : code_(code), sys_errno_(sys_errno), context_(std::move(context)) {}

  // An error from a failed syscall: code System, errno preserved.
  static Error from_errno(int err, std::string context) {
    return Error(Errc::System, std::move(context), err);
  }

  Errc code() const { return code_; }
  int sys_errno() const { return sys_errno_; }
  const std::string& context() const { return context_; }

  // Prefixes context: err.wrap("start datapath") -> "start datapath: <previous>".
  Error& wrap(std::string_view outer) &;
  Error&& wrap(std::string_view outer) &&;

  // The full human-readable message, including strerror when there is an errno.
  std::string message() const;

 private:
  Errc code_;
  int sys_errno_;
  std::string context_;
};

// Result<T> is tl::expected<T, Error>, marked [[nodiscard]] so that no failure is dropped.
template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using Base = tl::expected<T, Error>;
  using Base::Base;
  Result(Base b) : Base(std::move(b)) {}  // NOLINT: implicit from and_then/map results
};

inline tl::unexpected<Error> fail(Errc code, std::string context, int sys_errno = 0) {
  return tl::unexpected<Error>(Error(code, std::move(context), sys_errno));
}
inline tl::unexpected<Error> fail(Error err) { return tl::unexpected<Error>(std::move(err)); }
inline tl::unexpected<Error> fail_errno(std::string context, int err) {
  return tl::unexpected<Error>(Error::from_errno(err, std::move(context)));
}

using Status = Result<void>;

}  // namespace mesh::base

// Let tl::expected's and_then/or_else accept callables that return a Result.
namespace tl::detail {
template <class T>
struct is_expected_impl<mesh::base::Result<T>> : std::true_type {};
}  // namespace tl::detail

namespace mesh::base {
inline Status ok() { return {}; }

}  // namespace mesh::base
