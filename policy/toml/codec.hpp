#pragma once
// The TOML codec: policy files in, a PolicySet (or a CompiledPolicy) out, with every error
// as `file:line:col: message`. This is the daemon's entry point for loading
// /etc/meshd/policy.d: load_policy({dir}, options) reads the directory's *.toml files (sorted,
// dotfiles skipped, symlinks followed), decodes and compiles them, and returns either a
// snapshot or all the errors; it never throws and never returns a partial policy. Bounded by
// options.limits (file and total sizes, nesting depth, string and list lengths, counts).
// Callable from any thread; each call is independent.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/compile.hpp"
#include "policy/diagnostic.hpp"
#include "policy/limits.hpp"
#include "policy/model.hpp"

namespace mesh::policy {

struct SourceFile {
  std::string name;  // as it should appear in errors
  std::string text;
};

struct DecodeResult {
  model::PolicySet set;
  std::vector<Diagnostic> errors;
  bool ok() const { return errors.empty(); }
};

struct ReadResult {
  std::vector<SourceFile> files;
  std::vector<Diagnostic> errors;
};

// Decodes documents already in memory (tests, fuzzing, admin API uploads).
DecodeResult decode_toml(std::span<const SourceFile> files, const Limits& limits);

// Reads policy files: each path is a file, or a directory whose *.toml files are read.
ReadResult read_policy_files(std::span<const std::string> paths, const Limits& limits);

// read + decode + compile.
CompileResult load_policy(std::span<const std::string> paths, const CompileOptions& options);
// decode + compile of in-memory documents.
CompileResult load_policy_sources(std::span<const SourceFile> files, const CompileOptions& options);

}  // namespace mesh::policy
