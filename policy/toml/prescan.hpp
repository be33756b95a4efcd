#pragma once
// A lexical pre-pass over a TOML document that refuses what toml++ 3.3 cannot parse safely,
// before toml++ sees it:
//  * nesting: toml++ limits nested arrays and inline tables (256) but not dotted keys or
//    table headers; `a.a.a…a = 1` with ~30 000 components overflows the stack while the tree
//    is built or destroyed. The scan counts, for every key, header and value, the depth of
//    the node it creates (header components + dotted key components + enclosing arrays and
//    inline tables).
//  * non-ASCII characters where TOML 1.0 allows none: outside strings and comments, and
//    after a backslash in a multi-line basic string. toml++'s whitespace test reaches
//    __builtin_unreachable() for many such code points (found by fuzzing), which is
//    undefined behaviour; both places are invalid TOML anyway.
// The scan follows TOML's grammar closely enough to know what is inside a string or comment,
// without allocating per character. Pure function; callable from any thread.
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

// Returns the first key or value nested deeper than max_depth, or the first misplaced
// non-ASCII character.
std::optional<ScanError> prescan(std::string_view text, uint32_t max_depth);

}  // namespace mesh::policy::toml_codec
