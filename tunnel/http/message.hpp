#pragma once
// The one HTTP message vocabulary both versions produce and consume: a header field, an
// ordered header map, and the request and response heads. HTTP/1 and HTTP/2 codecs fill
// these; routing, authorization and filters read them without knowing the version.
// Pseudo-headers (:method, :scheme, :authority, :path, :status) are fields of the heads,
// never entries of a HeaderMap. Names are stored in lower case (as HTTP/2 requires and as
// HTTP/1 compares them); lookups are case-insensitive. Plain values.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::tunnel::http {

struct Header {
  std::string name;  // lower case
  std::string value;
  bool operator==(const Header&) const = default;
};

// Header fields in the order they arrived or were added; a name may repeat.
class HeaderMap {
 public:
  HeaderMap() = default;
  HeaderMap(std::initializer_list<Header> headers);

  // The first value of `name`, or nullptr.
  const std::string* get(std::string_view name) const;
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool has(std::string_view name) const { return get(name) != nullptr; }
  // Replaces every field of that name with one (in the place of the first, else at the end).
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);
  void add(Header header);
  // Removes every field of that name; returns how many there were.
  size_t remove(std::string_view name);
  void clear() { headers_.clear(); }

  size_t size() const { return headers_.size(); }
  bool empty() const { return headers_.empty(); }
  // RFC 9113 §6.5.2's measure: name and value lengths plus 32 per field.
  size_t total_size() const;
  std::vector<Header>::const_iterator begin() const { return headers_.begin(); }
  std::vector<Header>::const_iterator end() const { return headers_.end(); }
  const Header& operator[](size_t i) const { return headers_[i]; }
  const std::vector<Header>& entries() const { return headers_; }
  bool operator==(const HeaderMap&) const = default;

 private:
  std::vector<Header> headers_;
};

using Trailers = HeaderMap;

enum class Version : uint8_t { Http10, Http11, Http2 };

struct RequestHead {
  std::string method;
  std::string scheme;     // "" for CONNECT and for HTTP/1 origin-form requests
  std::string authority;  // :authority, or Host for HTTP/1
  std::string path;       // "" for CONNECT
  Version version = Version::Http2;
  HeaderMap headers;
};

struct ResponseHead {
  int status = 0;
  Version version = Version::Http2;
  HeaderMap headers;
};

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
std::string_view to_string(Version v);

}  // namespace mesh::tunnel::http
