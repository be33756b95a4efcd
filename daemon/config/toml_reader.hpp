#pragma once
// TomlReader: typed, position-aware access to one toml++ table. Every getter records a
// Diagnostic at the value's line and column instead of failing fast, so one pass reports
// every error in a file; finish() reports keys nobody asked for, with a "did you mean".
// Single-threaded, used only while a file is being read.
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "daemon/base/clock.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/config/diagnostic.hpp"

namespace mesh::config {

class TomlReader {
 public:
  TomlReader(const toml::table& table, std::string file, Diagnostics& out)
      : table_(table), file_(std::move(file)), out_(out) {}

  // Each getter leaves `value` untouched when the key is absent or invalid.
  void string(std::string_view key, std::string& value);
  void boolean(std::string_view key, bool& value);
  template <class Int>
  void integer(std::string_view key, Int& value, int64_t min, int64_t max) {
    int64_t v = 0;
    if (integer_impl(key, v, min, max)) value = static_cast<Int>(v);
  }
  void duration(std::string_view key, base::Duration& value);
  void size(std::string_view key, uint32_t& value, uint64_t min, uint64_t max);
  void socket_addr(std::string_view key, base::SocketAddr& value);
  // An address, or "" / "off" to disable.
  void optional_socket_addr(std::string_view key, std::optional<base::SocketAddr>& value);

  void port_list(std::string_view key, std::vector<uint16_t>& value);
  void string_list(std::string_view key, std::vector<std::string>& value);
  void cidr_list(std::string_view key, std::vector<base::Cidr>& value);

  // Sub-tables and arrays of tables; nullptr / empty when absent (a type error is recorded).
  const toml::table* table(std::string_view key);
  std::vector<const toml::table*> array_of_tables(std::string_view key);

  // Reports every key that was not read, suggesting the closest known one.
  void finish();

  void error_at(const toml::source_region& where, std::string message);
  void error_at_key(std::string_view key, std::string message);

 private:
  const toml::node* find(std::string_view key);
  bool integer_impl(std::string_view key, int64_t& value, int64_t min, int64_t max);

  const toml::table& table_;
  std::string file_;
  Diagnostics& out_;
  std::vector<std::string> known_;
};

}  // namespace mesh::config
