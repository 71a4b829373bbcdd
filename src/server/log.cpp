// stderr logging with timestamps; a single fprintf per line keeps lines whole.
#include "server/log.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace syncmgr::server {
namespace {
LogLevel g_level = LogLevel::info;
const char* const kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

void set_log_level(LogLevel level) {
  g_level = level;
}
bool log_enabled(LogLevel level) {
  return level <= g_level;
}

bool parse_log_level(const char* text, LogLevel& out) {
  for (int i = 0; i < 4; ++i) {
    if (std::strcmp(text, kNames[i]) == 0) {
      out = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

void log(LogLevel level, const char* fmt, ...) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "%s.%03ldZ syncmgrd %s: %s\n", stamp, ts.tv_nsec / 1000000,
               kNames[static_cast<int>(level)], msg);
}

bool LogLimiter::allow() {
  auto now = std::chrono::steady_clock::now();
  if (now - window_ > std::chrono::minutes(1)) {
    if (suppressed_ > 0)
      SYNCMGR_LOG(warn, "(%llu similar lines suppressed in the last minute)",
                  static_cast<unsigned long long>(suppressed_));
    window_ = now;
    logged_ = 0;
    suppressed_ = 0;
  }
  if (logged_ < per_minute_) {
    ++logged_;
    return true;
  }
  ++suppressed_;
  return false;
}

}  // namespace syncmgr::server
