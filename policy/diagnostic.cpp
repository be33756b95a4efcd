#include "policy/diagnostic.hpp"

#include <fmt/format.h>

namespace mesh::policy {

std::string Diagnostic::to_string() const {
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

void Diagnostics::error(SourceLoc loc, std::string message) {
  std::string_view file = loc.file < files_->size() ? std::string_view((*files_)[loc.file]) : "<policy>";
  error_in_file(file, loc.line, loc.column, std::move(message));
}

void Diagnostics::error_in_file(std::string_view file, uint32_t line, uint32_t column,
                                std::string message) {
  if (items_.size() > max_errors_) return;
  Diagnostic d{std::string(file), line ? line : 1, column ? column : 1, std::move(message)};
  if (items_.size() == max_errors_) {
    d.message = fmt::format("too many errors (limit max_errors = {}); stopping", max_errors_);
  }
  items_.push_back(std::move(d));
}

}  // namespace mesh::policy
