#pragma once
// Test support for the policy tests: compile TOML text held in the test, and print the
// errors one per line so a test can compare them exactly.
#include <span>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "policy/toml/codec.hpp"

namespace mesh::policy::test {

inline CompileResult compile_toml(std::string_view text, const CompileOptions& options = {}) {
  SourceFile file{"test.toml", std::string(text)};
  return load_policy_sources(std::span<const SourceFile>(&file, 1), options);
}

inline std::string errors(const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) out += d.to_string() + "\n";
  return out;
}

inline std::string errors(const CompileResult& r) { return errors(r.errors); }

// Compiles and fails the test (printing the errors) unless the text is valid.
inline PolicySnapshot must_compile(std::string_view text, const CompileOptions& options = {}) {
  CompileResult r = compile_toml(text, options);
  INFO(errors(r));
  REQUIRE(r.ok());
  return r.policy;
}

// The errors of text that must not compile.
inline std::string compile_errors(std::string_view text, const CompileOptions& options = {}) {
  CompileResult r = compile_toml(text, options);
  CHECK_FALSE(r.ok());
  return errors(r);
}

// Decodes only (no cross-resource checks).
inline DecodeResult decode(std::string_view text, const Limits& limits = {}) {
  SourceFile file{"test.toml", std::string(text)};
  return decode_toml(std::span<const SourceFile>(&file, 1), limits);
}

inline std::string decode_errors(std::string_view text, const Limits& limits = {}) {
  DecodeResult r = decode(text, limits);
  CHECK_FALSE(r.ok());
  return errors(r.errors);
}

}  // namespace mesh::policy::test
