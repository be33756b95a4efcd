// Applying compiled route actions to strings: Envoy's prefix_rewrite and redirect (newUri)
// semantics, written once here so that the data path and `meshctl policy explain` agree.
#include "policy/route_actions.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "policy/traffic.hpp"

namespace mesh::policy {
namespace {

constexpr std::array<std::pair<uint32_t, std::string_view>, 14> kRetryNames{{
    {kRetry5xx, "5xx"}, {kRetryGatewayError, "gateway-error"}, {kRetryReset, "reset"},
    {kRetryConnectFailure, "connect-failure"}, {kRetryRetriable4xx, "retriable-4xx"},
    {kRetryRefusedStream, "refused-stream"}, {kRetryRetriableStatusCodes, "retriable-status-codes"},
    {kRetryRetriableHeaders, "retriable-headers"}, {kRetryEnvoyRateLimited, "envoy-ratelimited"},
    {kRetryCancelled, "cancelled"}, {kRetryDeadlineExceeded, "deadline-exceeded"}, {kRetryInternal, "internal"},
    {kRetryResourceExhausted, "resource-exhausted"}, {kRetryUnavailable, "unavailable"}}};

// RFC 9110 token characters.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Where the port of an authority starts (its ':'), or npos. "[v6]:port" keeps the brackets.
size_t port_start(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.rfind("]:");
    return close == std::string_view::npos ? close : close + 1;
  }
  return authority.rfind(':');
}

}  // namespace

Fraction Fraction::of_percent(double percent) {
  long long v = std::llround(percent * 10000.0);  // percent is 0-100 (the decoder checks)
  return Fraction{static_cast<uint32_t>(std::clamp<long long>(v, 0, kMillion))};
}

const RouteActions& default_route_actions() {
  static const RouteActions kActions = [] {
    RouteActions a;
    a.retries = RetryPolicy{2, {}, kRetryConnectFailure | kRetryRefusedStream | kRetryUnavailable |
                                       kRetryCancelled | kRetryRetriableStatusCodes, {503}, true};
    return a;
  }();
  return kActions;
}

std::string rewrite_path(const PathRewrite& rewrite, std::string_view path, const HttpMatcher* matched) {
  if (!rewrite.enabled()) return std::string(path);
  size_t replaced = 1;  // no path condition: Istio's prefix "/"
  const StringMatcher* m = matched && matched->path ? &*matched->path : nullptr;
  if (rewrite.kind == PathRewrite::Kind::FullPath) {
    replaced = std::min(path.find('?'), path.size());
  } else if (m && m->kind() == StringMatcher::Kind::Prefix) {
    replaced = m->value().size();
  } else if (m && m->kind() != StringMatcher::Kind::Present) {
    replaced = std::min(path.find('?'), path.size());  // exact and regex matched the path sans query
  } else if (!path.starts_with('/')) {
    replaced = 0;  // "*" or an absolute form: nothing matched "/" (not reached through a route)
  }
  replaced = std::min(replaced, path.size());
  std::string out = rewrite.value;
  out.append(path.substr(replaced));
  return out;
}

std::string mirror_authority(std::string_view authority) {
  size_t colon = port_start(authority);
  std::string out(authority.substr(0, colon));
  out += "-shadow";
  if (colon != std::string_view::npos) out.append(authority.substr(colon));
  return out;
}

std::string redirect_location(const Redirect& r, std::string_view scheme, std::string_view authority,
                              std::string_view path) {
  const std::string_view new_scheme = r.scheme.empty() ? scheme : std::string_view(r.scheme);
  std::string out(new_scheme);
  out += "://";
  if (!r.host.empty()) {
    out += r.host;
  } else {
    // Envoy's processRequestHost: keep the request's port unless a port redirect replaces it
    // or the scheme changes away from the default port the request used.
    size_t colon = port_start(authority);
    std::string_view host = authority;
    if (colon != std::string_view::npos) {
      std::string_view port = authority.substr(colon);
      bool drop = r.port != 0;
      if (new_scheme != scheme) drop = drop || (scheme == "https" && port == ":443") || (scheme == "http" && port == ":80");
      if (drop) host = authority.substr(0, colon);
    }
    out += host;
  }
  if (r.port) out += ":" + std::to_string(r.port);
  std::string new_path;
  if (r.path.empty()) {
    new_path = path;
  } else {
    new_path = r.path;
    size_t q = path.find('?');
    if (r.path.find('?') == std::string::npos && q != std::string_view::npos) new_path.append(path.substr(q));
  }
  if (!new_path.starts_with('/')) out += '/';
  out += new_path;
  return out;
}

std::vector<std::string_view> retry_on_names(uint32_t on) {
  std::vector<std::string_view> out;
  for (const auto& entry : kRetryNames)
    if (on & entry.first) out.push_back(entry.second);
  return out;
}

bool is_modifiable_header(std::string_view name) {
  if (name.empty() || name == "host") return false;
  for (char c : name)
    if (!is_token_char(c) || (c >= 'A' && c <= 'Z')) return false;
  return true;  // ':' is not a token character, so pseudo-headers are refused above
}

}  // namespace mesh::policy
