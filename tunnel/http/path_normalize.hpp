#pragma once
// Request-path normalization before authorization and routing, as Istio's default (Envoy's
// normalize_path, "BASE"): percent-encoded unreserved characters (ALPHA, DIGIT, '-', '.',
// '_', '~') are decoded, hex digits of the other escapes are upper-cased, and dot segments
// are removed (RFC 3986 §5.2.4), so "/public/../admin" and "/%61dmin" are judged — and sent
// on — as "/admin". Escaped slashes and backslashes ("%2F", "%5C") stay escaped. The query
// string is left as it came. Pure functions.
#include <optional>
#include <string>
#include <string_view>

namespace mesh::tunnel::http {

// The normalized origin-form path (query included), or nullopt when the path does not start
// with '/' or holds a malformed escape ('%' not followed by two hex digits): a 400.
std::optional<std::string> normalize_path(std::string_view path);

// The path without its query string ("/a?b" -> "/a").
std::string_view path_without_query(std::string_view path);

}  // namespace mesh::tunnel::http
