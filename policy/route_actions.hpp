#pragma once
// The actions of an HTTP route rule, compiled once per snapshot into plain values the data
// path reads per request: timeout and retries, fault injection, path and authority rewrite,
// redirect, request and response header operations (the mirror, which needs a RouteTarget,
// sits next to it in traffic.hpp). Each field means what its Istio VirtualService
// counterpart means as Envoy carries it out; where meshd departs it says so here and in
// docs/config.md. The pure functions below apply an action to strings, so the data path
// never re-derives a semantic from the model. Immutable; any thread.
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/clock.hpp"

namespace mesh::policy {

struct HttpMatcher;

// Retry conditions as bits (Envoy's retry_on names); status_codes lists the retriable codes.
enum RetryOn : uint32_t {
  kRetry5xx = 1u << 0, kRetryGatewayError = 1u << 1, kRetryReset = 1u << 2, kRetryConnectFailure = 1u << 3,
  kRetryRetriable4xx = 1u << 4, kRetryRefusedStream = 1u << 5, kRetryRetriableStatusCodes = 1u << 6,
  kRetryRetriableHeaders = 1u << 7, kRetryEnvoyRateLimited = 1u << 8, kRetryCancelled = 1u << 9,
  kRetryDeadlineExceeded = 1u << 10, kRetryInternal = 1u << 11, kRetryResourceExhausted = 1u << 12,
  kRetryUnavailable = 1u << 13,
};

struct RetryPolicy {
  uint32_t attempts = 0;             // retries after the first try
  base::Duration per_try_timeout{};  // 0: bounded only by the route timeout
  uint32_t on = 0;                   // RetryOn bits
  std::vector<uint16_t> status_codes;
  bool istio_default = false;        // no retries table: Istio's default policy
};

// A share of requests, as Envoy's FractionalPercent with denominator MILLION (Istio turns its
// percentage into that): hit(r) is Envoy's `r % 1000000 < numerator` on a uniform r.
struct Fraction {
  static constexpr uint32_t kMillion = 1'000'000;
  uint32_t per_million = kMillion;
  static Fraction of_percent(double percent);  // rounds to the nearest millionth
  bool hit(uint64_t random) const { return random % kMillion < per_million; }
  bool always() const { return per_million >= kMillion; }
};

// Istio's fault injection. Delay and abort are decided independently (two draws); a delayed
// request that is also aborted is answered after the delay, as Envoy's fault filter does.
struct FaultDelay {
  base::Duration delay{};
  Fraction fraction;
};
struct FaultAbort {
  uint16_t http_status = 0;
  Fraction fraction;
};
struct Fault {
  std::optional<FaultDelay> delay;
  std::optional<FaultAbort> abort;
};

// Istio's rewrite.uri is Envoy's prefix_rewrite: the part of the path the taken match block
// matched is replaced; what that part is depends on the block (rewrite_path below).
// FullPath is Gateway API's ReplaceFullPath: the whole path, the query string kept.
struct PathRewrite {
  enum class Kind : uint8_t { None, Prefix, FullPath };
  Kind kind = Kind::None;
  std::string value;  // the replacement
  bool enabled() const { return kind != Kind::None; }
};

// Istio's HTTPRedirect as Envoy's RedirectAction: every empty field keeps the request's part.
struct Redirect {
  std::string scheme;  // empty: the request's scheme
  std::string host;    // empty: the request's authority (see redirect_location for its port)
  uint16_t port = 0;   // 0: no port redirect
  std::string path;    // replaces the whole path; without '?' the request's query is kept
  uint16_t code = 301;  // Istio's default (MOVED_PERMANENTLY)
};

struct HeaderValue {
  std::string name;  // lowercase, a valid token, never a pseudo-header or host
  std::string value;  // used as written (no Envoy %VARIABLE% substitution)
};

// Header operations in the order they are applied, Envoy's: every remove, then every set
// (replaces all values of the name, or adds it), then every add (appends one more value).
// So a name both removed and set ends up set, and one both set and added has two values.
struct HeaderOps {
  std::vector<std::string> remove;
  std::vector<HeaderValue> set;
  std::vector<HeaderValue> add;
  bool empty() const { return remove.empty() && set.empty() && add.empty(); }
};

// What the data path's header map must offer to have header operations applied to it.
template <class M>
concept MutableHeaders = requires(M& m, std::string_view name, std::string_view value) {
  m.remove(name);      // every value of the name (case-insensitive)
  m.set(name, value);  // replaces every value of the name with one, or adds it
  m.add(name, value);  // one more value, after the existing ones
};

template <MutableHeaders M>
void apply_header_ops(const HeaderOps& ops, M& headers) {
  for (const auto& name : ops.remove) headers.remove(name);
  for (const auto& h : ops.set) headers.set(h.name, h.value);
  for (const auto& h : ops.add) headers.add(h.name, h.value);
}

struct RouteActions {
  base::Duration timeout{};  // the whole request including retries; 0: none (Istio's default)
  RetryPolicy retries;
  std::optional<Fault> fault;
  PathRewrite path_rewrite;
  std::string authority_rewrite;  // empty: unchanged
  std::optional<Redirect> redirect;  // set: answer with it instead of forwarding
  HeaderOps request_headers;
  HeaderOps response_headers;
};

// The actions of the Default outcome (a host without a route): no timeout, Istio's default
// retry policy, nothing else.
const RouteActions& default_route_actions();

// The :path to forward after a prefix rewrite, Envoy's prefix_rewrite semantics. `matched` is
// the match block the request was routed by (null for a rule without match blocks):
//   block's path condition | replaced part of the :path
//   prefix P               | its first |P| characters (the query string stays)
//   exact or regex         | the path without the query string (the query stays)
//   none (or no block)     | the leading "/" (Istio routes such a rule with prefix "/")
// The replacement is taken literally: prefix "/api" with rewrite "/" turns "/api/x" into
// "//x"; write the prefix as "/api/" (and a second rule for "/api") to get "/x". A FullPath
// rewrite replaces the path without the query string whatever the block matched.
std::string rewrite_path(const PathRewrite& rewrite, std::string_view path, const HttpMatcher* matched);

// The :authority of a mirrored request, Envoy's: "-shadow" after the host ("a:80" ->
// "a-shadow:80"), so the mirror's logs tell copies from originals.
std::string mirror_authority(std::string_view authority);

// The Location of a redirect for a request with this scheme, authority and :path (Envoy's
// newUri). The request's port is dropped when the redirect names a host, names a port, or
// changes the scheme away from one whose default port the request used (":80" for http,
// ":443" for https); a redirect path without a query keeps the request's query.
std::string redirect_location(const Redirect& r, std::string_view scheme, std::string_view authority,
                              std::string_view path);

// The retry condition names of a RetryOn bit set, in the bit order ("5xx", "reset", ...).
std::vector<std::string_view> retry_on_names(uint32_t on);
// Whether a header name may be set, added or removed by a route (a lowercase token, not a
// pseudo-header and not host, as Envoy requires).
bool is_modifiable_header(std::string_view name);

}  // namespace mesh::policy
