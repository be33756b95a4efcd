#include "tunnel/http/h1_request_target.hpp"

namespace mesh::tunnel::http {

namespace {

bool authority_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '%': case '!': case '$': case '&': case '\'':
    case '(': case ')': case '*': case '+': case ',': case ';': case '=': case ':':
      return true;
    default:
      return false;
  }
}

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Splits "scheme://authority/path?query"; false when it is not an http(s) absolute-form.
bool split_absolute(std::string_view target, RequestHead& head) {
  size_t colon = target.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string scheme = to_lower(target.substr(0, colon));
  if (scheme != "http" && scheme != "https") return false;
  std::string_view rest = target.substr(colon + 3);
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (!valid_authority(authority)) return false;
  std::string_view path = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  head.scheme = std::move(scheme);
  head.authority = std::string(authority);
  head.path = path.empty() || path.front() == '?' ? "/" + std::string(path) : std::string(path);
  return true;
}

}  // namespace

bool valid_authority(std::string_view a) {
  if (a.empty()) return false;
  std::string_view host = a;
  std::string_view port;
  if (a.front() == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : a.substr(1, close - 1)) {
      if (!authority_char(c)) return false;
    }
    std::string_view after = a.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    port = after.empty() ? after : after.substr(1);
    return all_digits(port) && port.size() <= 5;
  }
  size_t colon = a.rfind(':');
  if (colon != std::string_view::npos) {
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
    if (!all_digits(port) || port.size() > 5) return false;
  }
  if (host.empty()) return false;
  for (char c : host) {
    if (!authority_char(c) || c == ':') return false;
  }
  return true;
}

H1Error apply_request_target(std::string_view target, RequestHead& head) {
  std::vector<std::string_view> hosts = head.headers.get_all("host");
  if (hosts.size() > 1) return H1Error::MultipleHost;
  std::string host = hosts.empty() ? std::string{} : std::string(hosts.front());
  bool has_host = !hosts.empty();
  if (has_host && !valid_authority(host)) return H1Error::InvalidHost;
  head.headers.remove("host");

  // A fragment is never sent (RFC 9110 §4.2.5); routing on a path that carries one invites
  // confusion between proxies, so it is refused as Envoy does by default.
  if (target.find('#') != std::string_view::npos) return H1Error::InvalidTarget;
  bool target_has_authority = true;
  if (head.method == "CONNECT") {
    if (!valid_authority(target) || target.find(':') == std::string_view::npos) return H1Error::InvalidTarget;
    head.scheme.clear();
    head.path.clear();
    head.authority = std::string(target);
  } else if (!target.empty() && target.front() == '/') {
    target_has_authority = false;
    head.scheme.clear();
    head.path = std::string(target);
    head.authority = host;
  } else if (target == "*") {
    if (head.method != "OPTIONS") return H1Error::InvalidTarget;
    target_has_authority = false;
    head.scheme.clear();
    head.path = "*";
    head.authority = host;
  } else if (!split_absolute(target, head)) {
    return H1Error::InvalidTarget;
  }

  if (target_has_authority) {
    if (has_host && !iequals(host, head.authority)) return H1Error::HostMismatch;
  } else if (!has_host && head.version == Version::Http11) {
    return H1Error::MissingHost;
  }
  return H1Error::None;
}

}  // namespace mesh::tunnel::http
