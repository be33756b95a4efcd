#pragma once
// SourceLoc and Diagnostics: where a piece of configuration was written, and the list of
// errors found in a policy set. Every error reads `file:line:col: message` (1-based line and
// column), so editors and CI can jump to it. A SourceLoc names its file by an index into the
// set's file table, which keeps model structs small; Diagnostics resolves the name when an
// error is recorded. Diagnostics stops recording after Limits::max_errors and then adds one
// final "too many errors" line. Not thread-safe: one per load.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::policy {

struct SourceLoc {
  uint32_t file = 0;    // index into the set's file table
  uint32_t line = 0;    // 1-based; 0 = unknown (reported as 1)
  uint32_t column = 0;  // 1-based; 0 = unknown (reported as 1)
};

struct Diagnostic {
  std::string file;
  uint32_t line = 1;
  uint32_t column = 1;
  std::string message;

  std::string to_string() const;  // "file:line:col: message"
};

class Diagnostics {
 public:
  Diagnostics(const std::vector<std::string>& files, uint32_t max_errors)
      : files_(&files), max_errors_(max_errors) {}

  void error(SourceLoc loc, std::string message);
  void error_in_file(std::string_view file, uint32_t line, uint32_t column, std::string message);

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  bool full() const { return items_.size() > max_errors_; }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::vector<Diagnostic> take() { return std::move(items_); }

 private:
  const std::vector<std::string>* files_;
  uint32_t max_errors_;
  std::vector<Diagnostic> items_;
};

}  // namespace mesh::policy
