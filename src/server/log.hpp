// Daemon logging: one line per event on stderr, with a UTC timestamp and a level.
#pragma once

#include <chrono>
#include <cstdarg>
#include <cstdint>

namespace syncmgr::server {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
/// Parses "error", "warn", "info" or "debug"; returns false for anything else.
bool parse_log_level(const char* text, LogLevel& out);

void log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define SYNCMGR_LOG(level, ...)                                                \
  do {                                                                         \
    if (::syncmgr::server::log_enabled(::syncmgr::server::LogLevel::level))    \
      ::syncmgr::server::log(::syncmgr::server::LogLevel::level, __VA_ARGS__); \
  } while (0)

/// Lets through a few lines a minute of one kind of event, so a flood of bad peers cannot flood
/// the log; says how many it held back when the next minute starts. One thread per instance.
class LogLimiter {
 public:
  explicit LogLimiter(int per_minute = 3) : per_minute_(per_minute) {}
  /// True if a line may be logged now.
  bool allow();

 private:
  int per_minute_;
  std::chrono::steady_clock::time_point window_{};
  int logged_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace syncmgr::server
