#include "daemon/base/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace mesh::base::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<int> g_fd{2};
std::atomic<int> g_journal{-1};  // -1: decide from JOURNAL_STREAM on first use

bool journal_format() {
  int j = g_journal.load(std::memory_order_relaxed);
  if (j < 0) {
    j = std::getenv("JOURNAL_STREAM") != nullptr ? 1 : 0;
    g_journal.store(j, std::memory_order_relaxed);
  }
  return j == 1;
}

// sd-daemon priorities (syslog levels).
int syslog_priority(Level l) {
  switch (l) {
    case Level::Debug: return 7;
    case Level::Info: return 6;
    case Level::Warn: return 4;
    default: return 3;
  }
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn" || name == "warning") return Level::Warn;
  if (name == "error") return Level::Error;
  if (name == "off") return Level::Off;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
    case Level::Off: return "off";
  }
  return "?";
}

void set_level(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }
void set_output_fd(int fd) { g_fd.store(fd, std::memory_order_relaxed); }
void set_journal_format(bool on) { g_journal.store(on ? 1 : 0, std::memory_order_relaxed); }

void write(Level level, std::string_view message) {
  std::string line;
  line.reserve(message.size() + 40);
  if (journal_format()) {
    line = fmt::format("<{}>", syslog_priority(level));
  } else {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
    std::time_t t = std::chrono::system_clock::to_time_t(secs);
    std::tm tm;
    gmtime_r(&t, &tm);
    line = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {:<5} ", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis,
                       level_name(level));
  }
  line.append(message);
  line.push_back('\n');
  int fd = g_fd.load(std::memory_order_relaxed);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) break;  // nowhere to report a failure to log
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace mesh::base::log
