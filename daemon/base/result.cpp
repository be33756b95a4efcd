#include "daemon/base/result.hpp"

#include <cstring>

namespace mesh::base {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::Invalid: return "invalid";
    case Errc::NotFound: return "not found";
    case Errc::Exists: return "exists";
    case Errc::Unsupported: return "unsupported";
    case Errc::Limit: return "limit reached";
    case Errc::Timeout: return "timed out";
    case Errc::Denied: return "denied";
    case Errc::Closed: return "closed";
    case Errc::System: return "system error";
    case Errc::Internal: return "internal error";
  }
  return "unknown";
}

Error& Error::wrap(std::string_view outer) & {
  std::string joined(outer);
  if (!context_.empty()) {
    joined += ": ";
    joined += context_;
  }
  context_ = std::move(joined);
  return *this;
}

Error&& Error::wrap(std::string_view outer) && {
  wrap(outer);
  return std::move(*this);
}

std::string Error::message() const {
  std::string out = context_.empty() ? std::string(to_string(code_)) : context_;
  if (sys_errno_ != 0) {
    out += ": ";
    out += std::strerror(sys_errno_);
  }
  return out;
}

}  // namespace mesh::base
