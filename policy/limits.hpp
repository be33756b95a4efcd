#pragma once
// Limits: the bounds on everything a policy author controls (file sizes, nesting, string
// lengths, list lengths, resource and rule counts, regex program size). A set that exceeds
// one is rejected with a `file:line:col: message` naming the limit, and the running policy
// stays in place. The daemon fills this from meshd.toml; the defaults suit a large cluster.
// Plain values, safe to copy between threads.
#include <cstdint>

namespace mesh::policy {

struct Limits {
  uint64_t max_file_bytes = 16ull << 20;   // one policy file
  uint64_t max_total_bytes = 64ull << 20;  // all files of one set
  uint32_t max_files = 4096;
  uint32_t max_depth = 32;                 // nesting of tables, arrays and dotted keys
  uint32_t max_string_bytes = 8192;        // any one string value or key
  uint32_t max_list_items = 10000;         // any one array
  uint32_t max_resources = 100000;         // resources of one kind ([[workload]], ...)
  uint32_t max_rules_per_resource = 1000;  // http/tcp rules of a route, rules of an authorization
  uint32_t max_total_rules = 200000;       // summed over the whole set
  uint32_t max_matches_per_rule = 64;      // match blocks of a route rule, from/to/when entries
  uint32_t max_destinations_per_rule = 64;
  uint32_t max_regex_program_size = 100;   // RE2 program size; Envoy's default error level
  uint32_t max_errors = 200;               // diagnostics kept before "too many errors"
};

}  // namespace mesh::policy
