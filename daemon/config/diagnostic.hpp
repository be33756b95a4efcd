#pragma once
// Diagnostic: one configuration error, reported as "file:line:col: message".
#include <string>
#include <vector>

namespace mesh::config {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is about the file as a whole
  int column = 0;
  std::string message;

  std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace mesh::config
