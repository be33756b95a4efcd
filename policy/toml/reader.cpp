#include "policy/toml/reader.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "daemon/base/strings.hpp"
#include "policy/names.hpp"

namespace mesh::policy::toml_codec {
namespace {

bool label_char(char c, bool key) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || (key && c == '/');
}

// Kubernetes label syntax, loosely: keys up to 253 bytes, values up to 63, [A-Za-z0-9._-].
std::optional<std::string> label_problem(std::string_view k, std::string_view v) {
  if (k.empty() || k.size() > 253) return fmt::format("label key '{}' must be 1 to 253 characters", k);
  if (!std::all_of(k.begin(), k.end(), [](char c) { return label_char(c, true); }))
    return fmt::format("label key '{}' may contain only letters, digits, '-', '_', '.' and '/'", k);
  if (v.size() > 63) return fmt::format("label value of '{}' is longer than 63 characters", k);
  if (!std::all_of(v.begin(), v.end(), [](char c) { return label_char(c, false); }))
    return fmt::format("label value '{}' may contain only letters, digits, '-', '_' and '.'", v);
  return std::nullopt;
}

}  // namespace

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

TableReader::TableReader(DecodeContext& ctx, const toml::table& table, std::string path)
    : ctx_(ctx), table_(table), path_(std::move(path)) {}

const toml::node* TableReader::take(std::string_view key) {
  known_.push_back(key);
  return table_.get(key);
}

bool TableReader::require(std::string_view key) {
  known_.push_back(key);
  if (table_.get(key)) return true;
  ctx_.diags.error(loc(), fmt::format("{}: missing required key '{}'", path_.empty() ? "document" : path_, key));
  return false;
}

void TableReader::error_at(const toml::node& n, std::string_view key, std::string_view message) {
  ctx_.error(n, fmt::format("{}: {}", sub(key), message));
}

bool TableReader::string_value(const toml::node& n, std::string_view key, std::string& out) {
  const auto* s = n.as_string();
  if (!s) {
    error_at(n, key, fmt::format("expected a string, found {}", type_name(n)));
    return false;
  }
  const std::string& v = s->get();
  if (v.size() > ctx_.limits.max_string_bytes) {
    error_at(n, key, fmt::format("string of {} bytes exceeds the limit max_string_bytes = {}", v.size(),
                                 ctx_.limits.max_string_bytes));
    return false;
  }
  out = v;
  return true;
}

bool TableReader::get(std::string_view key, std::string& out) {
  const toml::node* n = take(key);
  return n && string_value(*n, key, out);
}

bool TableReader::get(std::string_view key, bool& out) {
  const toml::node* n = take(key);
  if (!n) return false;
  if (const auto* b = n->as_boolean()) {
    out = b->get();
    return true;
  }
  error_at(*n, key, fmt::format("expected true or false, found {}", type_name(*n)));
  return false;
}

bool TableReader::get(std::string_view key, double& out, double min, double max) {
  const toml::node* n = take(key);
  if (!n) return false;
  double v;
  if (const auto* f = n->as_floating_point()) v = f->get();
  else if (const auto* i = n->as_integer()) v = static_cast<double>(i->get());
  else {
    error_at(*n, key, fmt::format("expected a number, found {}", type_name(*n)));
    return false;
  }
  if (!(v >= min && v <= max)) {  // also rejects NaN
    error_at(*n, key, fmt::format("{} is out of range [{}, {}]", v, min, max));
    return false;
  }
  out = v;
  return true;
}

bool TableReader::get_u32(std::string_view key, uint32_t& out, uint64_t min, uint64_t max) {
  const toml::node* n = take(key);
  if (!n) return false;
  const auto* i = n->as_integer();
  if (!i) {
    error_at(*n, key, fmt::format("expected an integer, found {}", type_name(*n)));
    return false;
  }
  int64_t v = i->get();
  if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max) {
    error_at(*n, key, fmt::format("{} is out of range [{}, {}]", v, min, max));
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

bool TableReader::get_port(std::string_view key, uint16_t& out) {
  uint32_t v = 0;
  if (!get_u32(key, v, 1, 65535)) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

bool TableReader::get_duration(std::string_view key, base::Duration& out) {
  const toml::node* n = take(key);
  if (!n) return false;
  std::string text;
  if (!n->is_string()) {
    error_at(*n, key, fmt::format("expected a duration string such as \"2s\" or \"250ms\", found {}",
                                  type_name(*n)));
    return false;
  }
  if (!string_value(*n, key, text)) return false;
  auto d = base::parse_duration(text);
  if (!d) {
    error_at(*n, key, d.error().context());
    return false;
  }
  if (d->count() < 0) {
    error_at(*n, key, "a duration cannot be negative");
    return false;
  }
  out = *d;
  return true;
}

bool TableReader::get_duration(std::string_view key, std::optional<base::Duration>& out) {
  base::Duration d{};
  if (!get_duration(key, d)) return false;
  out = d;
  return true;
}

bool TableReader::array_of(std::string_view key, const toml::array*& out) {
  const toml::node* n = take(key);
  if (!n) return false;
  const auto* a = n->as_array();
  if (!a) {
    error_at(*n, key, fmt::format("expected an array, found {}", type_name(*n)));
    return false;
  }
  if (a->size() > ctx_.limits.max_list_items) {
    error_at(*n, key, fmt::format("{} items exceed the limit max_list_items = {}", a->size(),
                                  ctx_.limits.max_list_items));
    return false;
  }
  out = a;
  return true;
}

bool TableReader::get_strings(std::string_view key, std::vector<std::string>& out) {
  std::vector<model::Located<std::string>> located;
  if (!get_located_strings(key, located)) return false;
  out.clear();
  for (auto& s : located) out.push_back(std::move(s.value));
  return true;
}

bool TableReader::get_located_strings(std::string_view key, std::vector<model::Located<std::string>>& out) {
  const toml::array* a = nullptr;
  if (!array_of(key, a)) return false;
  std::vector<model::Located<std::string>> values;
  bool ok = true;
  for (const toml::node& item : *a) {
    model::Located<std::string> v{{}, ctx_.loc(item)};
    if (string_value(item, key, v.value)) values.push_back(std::move(v));
    else ok = false;
  }
  if (ok) out = std::move(values);
  return ok;
}

bool TableReader::get_labels(std::string_view key, model::Labels& out) {
  const toml::table* t = table(key);
  if (!t) return false;
  model::Labels labels;
  bool ok = true;
  for (auto&& [k, v] : *t) {
    std::string value;
    if (!string_value(v, fmt::format("{}.{}", key, k.str()), value)) {
      ok = false;
      continue;
    }
    if (auto problem = label_problem(k.str(), value)) {
      error_at(v, key, *problem);
      ok = false;
      continue;
    }
    labels.emplace(std::string(k.str()), std::move(value));
  }
  if (ok) out = std::move(labels);
  return ok;
}

std::optional<size_t> TableReader::enum_index(const toml::node& n, std::string_view key, size_t count,
                                              const std::function<std::string_view(size_t)>& name_of) {
  std::string text;
  if (!string_value(n, key, text)) return std::nullopt;
  // Values are case-insensitive, so Istio's spelling (ALLOW, STRICT, LEAST_CONN) works too.
  std::vector<std::string_view> names;
  for (size_t k = 0; k < count; ++k) {
    if (iequals(name_of(k), text)) return k;
    names.push_back(name_of(k));
  }
  std::string message = fmt::format("unknown value '{}'", text);
  if (auto near = base::closest_match(text, names)) message += fmt::format("; did you mean '{}'?", *near);
  else message += fmt::format("; expected one of: {}", fmt::join(names, ", "));
  error_at(n, key, message);
  return std::nullopt;
}

const toml::table* TableReader::table(std::string_view key) {
  const toml::node* n = take(key);
  if (!n) return nullptr;
  if (const auto* t = n->as_table()) return t;
  error_at(*n, key, fmt::format("expected a table, found {}", type_name(*n)));
  return nullptr;
}

const toml::array* TableReader::table_array(std::string_view key, uint32_t max_items,
                                            std::string_view limit_name) {
  if (const toml::node* n = table_.get(key); n && n->is_table()) {
    take(key);
    error_at(*n, key, fmt::format("expected an array of tables: write [[{0}]] (or {1} = [{{...}}]), not [{0}]",
                                  sub(key), key));
    return nullptr;
  }
  // Counted against max_items (for [[workload]] and friends, max_resources) rather than
  // max_list_items.
  const toml::node* n = take(key);
  if (!n) return nullptr;
  const toml::array* a = n->as_array();
  if (!a) {
    error_at(*n, key, fmt::format("expected an array of tables, found {}", type_name(*n)));
    return nullptr;
  }
  if (a->size() > max_items) {
    error_at(*a, key, fmt::format("{} entries exceed the limit {} = {}", a->size(), limit_name, max_items));
    return nullptr;
  }
  for (const toml::node& item : *a) {
    if (!item.is_table()) {
      error_at(item, key, fmt::format("expected a table, found {}", type_name(item)));
      return nullptr;
    }
  }
  return a;
}

void TableReader::finish() {
  for (auto&& [k, v] : table_) {
    if (std::find(known_.begin(), known_.end(), k.str()) != known_.end()) continue;
    std::string message = path_.empty() ? fmt::format("unknown table '{}'", k.str())
                                        : fmt::format("{}: unknown key '{}'", path_, k.str());
    if (auto near = base::closest_match(k.str(), known_)) message += fmt::format("; did you mean '{}'?", *near);
    ctx_.diags.error(ctx_.loc(k.source()), std::move(message));
  }
}

}  // namespace mesh::policy::toml_codec
