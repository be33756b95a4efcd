#pragma once
// TableReader: typed, bounded access to one TOML table for the decoders. Every key a decoder
// asks for is remembered, so finish() can report the keys nobody asked for as errors with a
// "did you mean" suggestion. Type, range and syntax errors are recorded in the Diagnostics
// at the value's line and column, prefixed with the table's path ("route.http.timeout: ...");
// a getter that fails leaves its output untouched and returns false. Used by one thread
// during one decode.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "daemon/base/clock.hpp"
#include "policy/diagnostic.hpp"
#include "policy/limits.hpp"
#include "policy/model_common.hpp"

namespace mesh::policy::toml_codec {

struct DecodeContext {
  Diagnostics& diags;
  const Limits& limits;
  uint32_t file = 0;
  uint64_t rules = 0;  // rules decoded so far in this file, checked against max_total_rules

  SourceLoc loc(const toml::source_region& r) const {
    return SourceLoc{file, r.begin.line, r.begin.column};
  }
  SourceLoc loc(const toml::node& n) const { return loc(n.source()); }
  void error(const toml::node& n, std::string message) { diags.error(loc(n), std::move(message)); }
};

// A name and its enum value, for string-valued enumerations ("allow", "deny", ...).
template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

class TableReader {
 public:
  TableReader(DecodeContext& ctx, const toml::table& table, std::string path);

  const std::string& path() const { return path_; }
  SourceLoc loc() const { return ctx_.loc(table_); }
  DecodeContext& ctx() { return ctx_; }

  // Marks `key` as known and returns its node, or null when absent.
  const toml::node* take(std::string_view key);
  bool contains(std::string_view key) const { return table_.contains(key); }
  // Records a "missing required key" error unless `key` is present.
  bool require(std::string_view key);

  bool get(std::string_view key, std::string& out);
  bool get(std::string_view key, bool& out);
  bool get(std::string_view key, double& out, double min, double max);
  bool get_u32(std::string_view key, uint32_t& out, uint64_t min = 0, uint64_t max = UINT32_MAX);
  bool get_port(std::string_view key, uint16_t& out);
  bool get_duration(std::string_view key, base::Duration& out);
  bool get_duration(std::string_view key, std::optional<base::Duration>& out);
  bool get_strings(std::string_view key, std::vector<std::string>& out);
  bool get_located_strings(std::string_view key, std::vector<model::Located<std::string>>& out);
  bool get_labels(std::string_view key, model::Labels& out);

  template <class E>
  bool get_enum(std::string_view key, E& out, std::span<const EnumName<E>> names) {
    const toml::node* n = take(key);
    if (!n) return false;
    std::optional<size_t> i = enum_index(*n, key, names.size(), [&](size_t k) { return names[k].name; });
    if (!i) return false;
    out = names[*i].value;
    return true;
  }

  // A sub-table; reports a type error if the key holds something else.
  const toml::table* table(std::string_view key);
  // An array of tables ([[key]] or key = [{...}, ...]); null when absent or mistyped.
  // `limit_name` names the Limits field that bounds the count, for the message.
  const toml::array* table_array(std::string_view key, uint32_t max_items, std::string_view limit_name);
  // Calls read_one(TableReader&) for each table of the array of tables at `key` (as
  // table_array), each reader's path being this one's plus `key`. False when absent or mistyped.
  template <class Fn>
  bool each_table(std::string_view key, uint32_t max_items, std::string_view limit_name, Fn&& read_one) {
    const toml::array* a = table_array(key, max_items, limit_name);
    if (!a) return false;
    for (const toml::node& n : *a) {
      TableReader r(ctx_, *n.as_table(), sub(key));
      read_one(r);
    }
    return true;
  }

  // Reports every key of the table that no getter asked for.
  void finish();

  // Shared helpers for decoders.
  std::string sub(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  void error_at(const toml::node& n, std::string_view key, std::string_view message);
  bool string_value(const toml::node& n, std::string_view key, std::string& out);

 private:
  std::optional<size_t> enum_index(const toml::node& n, std::string_view key, size_t count,
                                   const std::function<std::string_view(size_t)>& name_of);
  bool array_of(std::string_view key, const toml::array*& out);

  DecodeContext& ctx_;
  const toml::table& table_;
  std::string path_;
  std::vector<std::string_view> known_;
};

// The TOML type name of a node, for messages: "string", "integer", "table", ...
std::string_view type_name(const toml::node& n);

}  // namespace mesh::policy::toml_codec
