#pragma once
// A lexical pre-pass over a TOML document that bounds how deeply it nests before toml++
// builds the tree. toml++ limits nested arrays and inline tables (256) but not dotted keys or
// table headers: `a.a.a…a = 1` with ~30 000 components overflows the stack while the tree
// is built or destroyed. The scan follows TOML's grammar closely enough to count, for every
// key, header and value, the depth of the node it creates (header components + dotted key
// components + enclosing arrays and inline tables) without allocating per character.
// Pure function; callable from any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mesh::policy::toml_codec {

struct ScanError {
  uint32_t line = 1;
  uint32_t column = 1;
  std::string message;
};

// Returns the position of the first key or value nested deeper than max_depth.
std::optional<ScanError> check_depth(std::string_view text, uint32_t max_depth);

}  // namespace mesh::policy::toml_codec
