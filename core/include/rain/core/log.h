// Minimal leveled logging to stderr: one line per event, "2026-11-22T07:40:01.123Z W codes: msg".
// The level comes from RAIN_LOG (debug|info|warn|error, default info) or SetLogLevel. Thread-safe
// (one write(2) per line). Protocol cores do not log; their drivers do.
#pragma once

#include <string_view>

namespace rain {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void LogLine(LogLevel level, std::string_view component, std::string_view message);

}  // namespace rain

#define RAIN_LOG(level, component, ...)                                     \
  do {                                                                      \
    if (::rain::LogLevel::level >= ::rain::GetLogLevel())                   \
      ::rain::LogLine(::rain::LogLevel::level, (component), (__VA_ARGS__)); \
  } while (0)
