#pragma once
// HTTP/1 request-target and Host -> RequestHead's scheme, authority and path (RFC 9112 §3.2).
// origin-form ("/p?q"): scheme "", authority = Host, path = target. absolute-form
// ("http://a/p", as a proxy receives): scheme lower case (http/https only), authority from
// the target, path "/" when empty; a Host must agree. authority-form (CONNECT only):
// authority = target ("host:port"), scheme and path "". asterisk-form: OPTIONS only, path "*".
// HTTP/1.1 needs exactly one Host unless the target carries the authority; HTTP/1.0 may omit
// it. A target with a fragment ('#') is refused. Host leaves the header map (the authority
// carries it). Pure functions.
#include <string_view>

#include "tunnel/http/h1_codec.hpp"
#include "tunnel/http/message.hpp"

namespace mesh::tunnel::http {

// reg-name / IPv4 / [IP-literal] with an optional :port; no userinfo, no whitespace.
bool valid_authority(std::string_view authority);

// Fills head.scheme, head.authority and head.path from the target and head.headers' Host
// (removed from the map). Returns H1Error::None or why the request must be rejected.
H1Error apply_request_target(std::string_view target, RequestHead& head);

}  // namespace mesh::tunnel::http
