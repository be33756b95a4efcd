#include "policy/toml/prescan.hpp"

#include <vector>

#include <fmt/format.h>

namespace mesh::policy::toml_codec {
namespace {

// One open array or inline table.
struct Frame {
  bool is_array = false;
  uint32_t depth = 0;        // depth of the container node itself
  bool key_position = true;  // inline tables: before '=' of the current key/value pair
  uint32_t key_dots = 0;
  uint32_t value_depth = 0;  // depth of the value being written
};

class Scanner {
 public:
  Scanner(std::string_view text, uint32_t max_depth) : s_(text), max_(max_depth) {}

  std::optional<ScanError> run() {
    while (i_ < s_.size() && !error_) step();
    return std::move(error_);
  }

 private:
  char peek(size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }

  void advance() {
    if (s_[i_] == '\n') {
      ++line_;
      line_start_ = i_ + 1;
    }
    ++i_;
  }

  void fail(uint32_t depth) {
    fail_at(fmt::format("nesting depth {} exceeds the limit max_depth = {} (dotted keys, table headers, arrays "
                        "and inline tables all nest)", depth, max_));
  }

  void fail_at(std::string message) {
    error_ = ScanError{line_, static_cast<uint32_t>(i_ - line_start_ + 1), std::move(message)};
  }

  static bool non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }

  // In a multi-line basic string, after a backslash: a line-ending backslash skips whitespace
  // and newlines; toml++ must not meet a non-ASCII character while it does.
  bool escape_ok() {
    size_t k = i_ + 1;
    while (k < s_.size() && (s_[k] == ' ' || s_[k] == '\t' || s_[k] == '\r' || s_[k] == '\n')) ++k;
    if (k >= s_.size() || !non_ascii(s_[k])) return true;
    fail_at("a backslash in a string must start an escape sequence, and a non-ASCII character cannot follow it");
    return false;
  }

  bool check(uint32_t depth) {
    if (depth > max_) fail(depth);
    return !error_;
  }

  // Skips a string starting at i_ (a quote). Handles ''' and """ multi-line forms, escapes in
  // basic strings, and up to two extra closing quotes that belong to the content.
  void skip_string() {
    const char q = s_[i_];
    const bool multi = peek(1) == q && peek(2) == q;
    advance();
    if (multi) {
      advance();
      advance();
    }
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\\' && q == '"') {
        if (multi && !escape_ok()) return;
        advance();
        if (i_ < s_.size()) advance();
        continue;
      }
      if (c == '\n' && !multi) return;  // unterminated: toml++ reports it
      if (c == q) {
        if (!multi) {
          advance();
          return;
        }
        if (peek(1) == q && peek(2) == q) {
          for (int k = 0; k < 3; ++k) advance();
          for (int k = 0; k < 2 && peek() == q; ++k) advance();
          return;
        }
      }
      advance();
    }
  }

  void skip_comment() {
    while (i_ < s_.size() && s_[i_] != '\n') advance();
  }

  bool at_line_start() const {
    for (size_t k = line_start_; k < i_; ++k)
      if (s_[k] != ' ' && s_[k] != '\t') return false;
    return true;
  }

  // `[a.b]` or `[[a.b]]` at the start of a line: sets the depth keys below it start from.
  void header() {
    const bool array = peek(1) == '[';
    advance();
    if (array) advance();
    uint32_t dots = 0;
    while (i_ < s_.size() && s_[i_] != ']' && s_[i_] != '\n') {
      if (s_[i_] == '"' || s_[i_] == '\'') {
        skip_string();
        continue;
      }
      if (s_[i_] == '.' && !check(++dots + 1 + (array ? 1 : 0))) return;
      if (non_ascii(s_[i_])) return fail_at("non-ASCII character outside a string or comment");
      advance();
    }
    header_depth_ = dots + 1 + (array ? 1 : 0);
  }

  uint32_t value_depth() const {
    return stack_.empty() ? top_value_depth_ : stack_.back().value_depth;
  }

  bool in_key_position() const {
    return stack_.empty() ? top_key_ : (!stack_.back().is_array && stack_.back().key_position);
  }

  void key_char(char c) {
    uint32_t base = stack_.empty() ? header_depth_ : stack_.back().depth;
    uint32_t& dots = stack_.empty() ? top_key_dots_ : stack_.back().key_dots;
    if (c == '.') {
      check(base + ++dots + 1);
    } else if (c == '=') {
      uint32_t d = base + dots + 1;
      dots = 0;
      if (!check(d)) return;
      if (stack_.empty()) {
        top_key_ = false;
        top_value_depth_ = d;
      } else {
        stack_.back().key_position = false;
        stack_.back().value_depth = d;
      }
    } else if (c == '[' && stack_.empty() && at_line_start()) {
      header();
      return;
    } else if (c == '}' && !stack_.empty()) {
      stack_.pop_back();  // `{}`: an empty inline table
    }
    advance();
  }

  // A bare value (number, boolean, date): toml++ reads it up to a value terminator and
  // tests every character it passes, quotes included, so none may be non-ASCII.
  void bare_value() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ']' || c == '}' || c == ',' || c == '#') return;
      if (non_ascii(c)) return fail_at("non-ASCII character outside a string or comment");
      advance();
    }
  }

  void value_char(char c) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '[' && c != '{' && c != ']' && c != '}' &&
        c != ',') {
      return bare_value();
    }
    if (c == '[' || c == '{') {
      uint32_t d = value_depth();
      if (!check(d)) return;
      Frame f;
      f.is_array = c == '[';
      f.depth = d;
      f.value_depth = d + 1;
      stack_.push_back(f);
    } else if ((c == ']' || c == '}') && !stack_.empty()) {
      stack_.pop_back();
    } else if (c == ',' && !stack_.empty() && !stack_.back().is_array) {
      stack_.back().key_position = true;
      stack_.back().key_dots = 0;
    }
    advance();
  }

  void step() {
    char c = s_[i_];
    if (c == '"' || c == '\'') return skip_string();
    if (c == '#') return skip_comment();
    if (non_ascii(c)) return fail_at("non-ASCII character outside a string or comment");
    if (c == '\n' && stack_.empty()) {
      top_key_ = true;
      top_key_dots_ = 0;
      advance();
      return;
    }
    if (in_key_position()) return key_char(c);
    value_char(c);
  }

  std::string_view s_;
  uint32_t max_;
  size_t i_ = 0;
  size_t line_start_ = 0;
  uint32_t line_ = 1;
  uint32_t header_depth_ = 0;
  bool top_key_ = true;
  uint32_t top_key_dots_ = 0;
  uint32_t top_value_depth_ = 0;
  std::vector<Frame> stack_;
  std::optional<ScanError> error_;
};

}  // namespace

std::optional<ScanError> prescan(std::string_view text, uint32_t max_depth) {
  return Scanner(text, max_depth).run();
}

}  // namespace mesh::policy::toml_codec
