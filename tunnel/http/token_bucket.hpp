#pragma once
// TokenBucket: a rate limit over the injected monotonic clock. take() spends one token and
// says whether one was there; tokens refill at `per_second` up to `burst`. Used by
// H2Connection to spot frame floods. Plain value, one per connection and frame kind.
#include "daemon/base/clock.hpp"
#include "tunnel/http/h2_options.hpp"

namespace mesh::tunnel::http {

class TokenBucket {
 public:
  TokenBucket(TokenBucketLimit limit, base::MonoTime now)
      : limit_(limit), tokens_(limit.burst), last_(now) {}

  bool take(base::MonoTime now);
  double tokens() const { return tokens_; }

 private:
  TokenBucketLimit limit_;
  double tokens_;
  base::MonoTime last_;
};

}  // namespace mesh::tunnel::http
