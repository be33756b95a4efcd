#include "tunnel/http/path_normalize.hpp"

namespace mesh::tunnel::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// RFC 3986 §5.2.4 over an absolute path: the output is built segment by segment.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  while (!in.empty()) {
    if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      auto slash = out.rfind('/');
      out.resize(slash == std::string::npos ? 0 : slash);
    } else {
      // Move the first segment ("/" and everything up to the next "/") to the output.
      size_t next = in.find('/', 1);
      if (next == std::string_view::npos) next = in.size();
      out.append(in.substr(0, next));
      in.remove_prefix(next);
    }
  }
  return out.empty() ? std::string("/") : out;
}

}  // namespace

std::string_view path_without_query(std::string_view path) {
  return path.substr(0, path.find('?'));
}

std::optional<std::string> normalize_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  size_t q = path.find('?');
  std::string_view p = path.substr(0, q);
  std::string decoded;
  decoded.reserve(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') {
      decoded.push_back(p[i]);
      continue;
    }
    int hi = i + 1 < p.size() ? hex_value(p[i + 1]) : -1;
    int lo = i + 2 < p.size() ? hex_value(p[i + 2]) : -1;
    if (hi < 0 || lo < 0) return std::nullopt;
    auto c = static_cast<unsigned char>(hi * 16 + lo);
    if (unreserved(c)) {
      decoded.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      decoded.push_back('%');
      decoded.push_back(kHex[hi]);
      decoded.push_back(kHex[lo]);
    }
    i += 2;
  }
  std::string out = remove_dot_segments(decoded);
  if (q != std::string_view::npos) out.append(path.substr(q));
  return out;
}

}  // namespace mesh::tunnel::http
