#include "tunnel/http/message.hpp"

#include <algorithm>

namespace mesh::tunnel::http {

namespace {
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string_view to_string(Version v) {
  switch (v) {
    case Version::Http10: return "HTTP/1.0";
    case Version::Http11: return "HTTP/1.1";
    case Version::Http2: return "HTTP/2";
  }
  return "unknown";
}

HeaderMap::HeaderMap(std::initializer_list<Header> headers) {
  headers_.reserve(headers.size());
  for (const Header& h : headers) add(h);
}

const std::string* HeaderMap::get(std::string_view name) const {
  for (const Header& h : headers_) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::vector<std::string_view> HeaderMap::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const Header& h : headers_) {
    if (iequals(h.name, name)) out.push_back(h.value);
  }
  return out;
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  auto first = std::find_if(headers_.begin(), headers_.end(), [&](const Header& h) { return iequals(h.name, name); });
  if (first == headers_.end()) return add(name, value);
  first->value = value;
  auto rest = std::remove_if(first + 1, headers_.end(), [&](const Header& h) { return iequals(h.name, name); });
  headers_.erase(rest, headers_.end());
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  headers_.push_back({to_lower(name), std::string(value)});
}

void HeaderMap::add(Header header) {
  for (char& c : header.name) c = lower(c);
  headers_.push_back(std::move(header));
}

size_t HeaderMap::remove(std::string_view name) {
  auto rest = std::remove_if(headers_.begin(), headers_.end(), [&](const Header& h) { return iequals(h.name, name); });
  size_t n = static_cast<size_t>(headers_.end() - rest);
  headers_.erase(rest, headers_.end());
  return n;
}

size_t HeaderMap::total_size() const {
  size_t n = 0;
  for (const Header& h : headers_) n += h.name.size() + h.value.size() + 32;
  return n;
}

}  // namespace mesh::tunnel::http
