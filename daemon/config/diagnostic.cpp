#include "daemon/config/diagnostic.hpp"

#include <fmt/format.h>

namespace mesh::config {

std::string Diagnostic::to_string() const {
  if (line == 0) return fmt::format("{}: {}", file, message);
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

}  // namespace mesh::config
