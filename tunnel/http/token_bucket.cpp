#include "tunnel/http/token_bucket.hpp"

#include <algorithm>

namespace mesh::tunnel::http {

bool TokenBucket::take(base::MonoTime now) {
  if (now > last_) {
    double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(limit_.burst, tokens_ + seconds * limit_.per_second);
    last_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace mesh::tunnel::http
