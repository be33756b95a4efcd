// Fuzz target: path normalization of untrusted request paths. For any input that it accepts,
// the result starts with '/', has no dot segment left in its path part, no escaped unreserved
// character, is a fixed point (normalizing it again changes nothing) and keeps the query
// string byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tunnel/http/path_normalize.hpp"

using namespace mesh::tunnel::http;

namespace {

bool has_dot_segment(std::string_view p) {
  size_t start = 0;
  while (start < p.size()) {
    size_t end = p.find('/', start + 1);
    std::string_view seg = p.substr(start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1);
    if (seg == "." || seg == "..") return true;
    if (end == std::string_view::npos) break;
    start = end;
  }
  return false;
}

bool unreserved_escape(std::string_view p) {
  for (size_t i = 0; i + 2 < p.size(); ++i) {
    if (p[i] != '%') continue;
    auto hex = [](char c) { return (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1; };
    int hi = hex(p[i + 1]);
    int lo = hex(p[i + 2]);
    if (hi < 0 || lo < 0) return true;  // escapes come out upper case
    char c = static_cast<char>(hi * 16 + lo);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto out = normalize_path(input);
  if (!out) return 0;
  if (out->empty() || out->front() != '/') std::abort();
  std::string_view path = path_without_query(*out);
  if (has_dot_segment(path) || unreserved_escape(path)) std::abort();
  auto again = normalize_path(*out);
  if (!again || *again != *out) std::abort();
  size_t q = input.find('?');
  std::string_view query_in = q == std::string_view::npos ? std::string_view() : input.substr(q);
  size_t q2 = out->find('?');
  std::string_view query_out = q2 == std::string_view::npos ? std::string_view() : std::string_view(*out).substr(q2);
  if (query_in != query_out) std::abort();
  return 0;
}
