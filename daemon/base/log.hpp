#pragma once
// Logging over fmt. One line per event, written with a single write(2) so lines from
// different threads never interleave. Under systemd (JOURNAL_STREAM set) lines carry the
// sd-daemon "<N>" priority prefix and no timestamp, so journald records the level; elsewhere
// they start with an RFC 3339 UTC timestamp and the level name. Callable from any thread.
// Log once, where the decision is made: "failed to <verb> <object> '<name>': <reason>".
#include <atomic>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace mesh::base::log {

enum class Level : int { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

std::optional<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);

void set_level(Level level);
Level level();
// Directs output to `fd` (default 2). Tests use a pipe or a file.
void set_output_fd(int fd);
// Forces or disables the journald format regardless of JOURNAL_STREAM.
void set_journal_format(bool on);

void write(Level level, std::string_view message);

inline bool enabled(Level l) { return static_cast<int>(l) >= static_cast<int>(level()); }

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::Error)) write(Level::Error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace mesh::base::log
