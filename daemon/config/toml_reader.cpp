#include "daemon/config/toml_reader.hpp"

#include <fmt/format.h>

#include "daemon/base/strings.hpp"

namespace mesh::config {

void TomlReader::error_at(const toml::source_region& where, std::string message) {
  out_.push_back(Diagnostic{file_, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column),
                            std::move(message)});
}

void TomlReader::error_at_key(std::string_view key, std::string message) {
  for (auto&& [k, v] : table_) {
    if (k.str() == key) return error_at(k.source(), std::move(message));
  }
  error_at(table_.source(), std::move(message));
}

const toml::node* TomlReader::find(std::string_view key) {
  known_.emplace_back(key);
  return table_.get(key);
}

void TomlReader::string(std::string_view key, std::string& value) {
  const toml::node* n = find(key);
  if (n == nullptr) return;
  if (auto s = n->value<std::string>()) {
    value = *s;
  } else {
    error_at(n->source(), fmt::format("'{}' must be a string", key));
  }
}

void TomlReader::boolean(std::string_view key, bool& value) {
  const toml::node* n = find(key);
  if (n == nullptr) return;
  if (n->is_boolean()) value = n->as_boolean()->get();
  else error_at(n->source(), fmt::format("'{}' must be true or false", key));
}

bool TomlReader::integer_impl(std::string_view key, int64_t& value, int64_t min, int64_t max) {
  const toml::node* n = find(key);
  if (n == nullptr) return false;
  if (!n->is_integer()) {
    error_at(n->source(), fmt::format("'{}' must be an integer", key));
    return false;
  }
  int64_t v = n->as_integer()->get();
  if (v < min || v > max) {
    error_at(n->source(), fmt::format("'{}' must be between {} and {} (got {})", key, min, max, v));
    return false;
  }
  value = v;
  return true;
}

void TomlReader::duration(std::string_view key, base::Duration& value) {
  const toml::node* n = find(key);
  if (n == nullptr) return;
  auto s = n->value<std::string>();
  if (!s) return error_at(n->source(), fmt::format("'{}' must be a duration string such as \"250ms\" or \"5s\"", key));
  auto d = base::parse_duration(*s);
  if (!d) return error_at(n->source(), fmt::format("'{}': {}", key, d.error().message()));
  value = *d;
}

void TomlReader::size(std::string_view key, uint32_t& value, uint64_t min, uint64_t max) {
  const toml::node* n = find(key);
  if (n == nullptr) return;
  uint64_t bytes = 0;
  if (n->is_integer() && n->as_integer()->get() >= 0) {
    bytes = static_cast<uint64_t>(n->as_integer()->get());
  } else if (auto s = n->value<std::string>()) {
    auto parsed = base::parse_size(*s);
    if (!parsed) return error_at(n->source(), fmt::format("'{}': {}", key, parsed.error().message()));
    bytes = *parsed;
  } else {
    return error_at(n->source(), fmt::format("'{}' must be a size such as 65536 or \"64KiB\"", key));
  }
  if (bytes < min || bytes > max) {
    return error_at(n->source(), fmt::format("'{}' must be between {} and {} bytes (got {})", key, min, max, bytes));
  }
  value = static_cast<uint32_t>(bytes);
}

void TomlReader::socket_addr(std::string_view key, base::SocketAddr& value) {
  const toml::node* n = find(key);
  if (n == nullptr) return;
  auto s = n->value<std::string>();
  if (!s) return error_at(n->source(), fmt::format("'{}' must be an address string such as \"127.0.0.1:8080\"", key));
  auto a = base::SocketAddr::parse(*s);
  if (!a) return error_at(n->source(), fmt::format("'{}': {}", key, a.error().message()));
  value = *a;
}

void TomlReader::optional_socket_addr(std::string_view key, std::optional<base::SocketAddr>& value) {
  const toml::node* n = table_.get(key);
  if (n != nullptr) {
    if (auto s = n->value<std::string>(); s && (s->empty() || *s == "off")) {
      known_.emplace_back(key);
      value.reset();
      return;
    }
  }
  base::SocketAddr addr = value.value_or(base::SocketAddr());
  size_t errors = out_.size();
  socket_addr(key, addr);
  if (n != nullptr && out_.size() == errors) value = addr;
}

void TomlReader::port_list(std::string_view key, std::vector<uint16_t>& value) {
  const toml::node* n = find(key);
  if (n == nullptr) return;
  const toml::array* arr = n->as_array();
  if (arr == nullptr) return error_at(n->source(), fmt::format("'{}' must be an array of ports", key));
  std::vector<uint16_t> out;
  for (const auto& elem : *arr) {
    if (!elem.is_integer() || elem.as_integer()->get() < 1 || elem.as_integer()->get() > 65535) {
      return error_at(elem.source(), fmt::format("'{}': ports are integers from 1 to 65535", key));
    }
    out.push_back(static_cast<uint16_t>(elem.as_integer()->get()));
  }
  value = std::move(out);
}

void TomlReader::string_list(std::string_view key, std::vector<std::string>& value) {
  const toml::node* n = find(key);
  if (n == nullptr) return;
  const toml::array* arr = n->as_array();
  if (arr == nullptr) return error_at(n->source(), fmt::format("'{}' must be an array of strings", key));
  std::vector<std::string> out;
  for (const auto& elem : *arr) {
    auto text = elem.value<std::string>();
    if (!text) return error_at(elem.source(), fmt::format("'{}': every element must be a string", key));
    out.push_back(*text);
  }
  value = std::move(out);
}

void TomlReader::cidr_list(std::string_view key, std::vector<base::Cidr>& value) {
  const toml::node* n = find(key);
  if (n == nullptr) return;
  const toml::array* arr = n->as_array();
  if (arr == nullptr) return error_at(n->source(), fmt::format("'{}' must be an array of CIDRs", key));
  std::vector<base::Cidr> out;
  for (const auto& elem : *arr) {
    auto text = elem.value<std::string>();
    if (!text) return error_at(elem.source(), fmt::format("'{}': CIDRs are strings such as \"10.0.0.0/8\"", key));
    auto cidr = base::Cidr::parse(*text);
    if (!cidr) return error_at(elem.source(), fmt::format("'{}': {}", key, cidr.error().message()));
    out.push_back(*cidr);
  }
  value = std::move(out);
}

const toml::table* TomlReader::table(std::string_view key) {
  const toml::node* n = find(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) {
    error_at(n->source(), fmt::format("'{}' must be a table ([{}])", key, key));
    return nullptr;
  }
  return n->as_table();
}

std::vector<const toml::table*> TomlReader::array_of_tables(std::string_view key) {
  std::vector<const toml::table*> out;
  const toml::node* n = find(key);
  if (n == nullptr) return out;
  const toml::array* arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    error_at(n->source(), fmt::format("'{}' must be an array of tables ([[{}]])", key, key));
    return out;
  }
  for (const auto& elem : *arr) out.push_back(elem.as_table());
  return out;
}

void TomlReader::finish() {
  std::vector<std::string_view> candidates(known_.begin(), known_.end());
  for (auto&& [k, v] : table_) {
    bool read = false;
    for (const auto& known : known_) read = read || known == k.str();
    if (read) continue;
    std::string msg = fmt::format("unknown key '{}'", k.str());
    if (auto guess = base::closest_match(k.str(), candidates)) msg += fmt::format(" (did you mean '{}'?)", *guess);
    error_at(k.source(), std::move(msg));
  }
}

}  // namespace mesh::config
