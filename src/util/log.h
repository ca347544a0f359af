// Minimal leveled logging to stderr or syslog. Thread-safe: each message is
// formatted into one buffer and written with one write(2).
#pragma once

#include <cstdarg>

namespace ptfs::log {

enum class Level { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };
enum class Sink { kStderr, kSyslog };

void Configure(Level max_level, Sink sink);
bool Enabled(Level level);
void Write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ptfs::log

#define PTFS_LOG(level, ...)                                                \
  do {                                                                      \
    if (::ptfs::log::Enabled(::ptfs::log::Level::level)) {                  \
      ::ptfs::log::Write(::ptfs::log::Level::level, __VA_ARGS__);           \
    }                                                                       \
  } while (0)
#define LOG_ERROR(...) PTFS_LOG(kError, __VA_ARGS__)
#define LOG_WARN(...) PTFS_LOG(kWarning, __VA_ARGS__)
#define LOG_INFO(...) PTFS_LOG(kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) PTFS_LOG(kDebug, __VA_ARGS__)
