// Minimal leveled logging to stderr, syslog or a file. Thread-safe: each
// message is formatted into one buffer and written with one write(2) (or
// one syslog(3) call).
#pragma once

#include <cstdarg>
#include <string>

namespace ptfs::log {

enum class Level { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };
enum class Sink { kStderr, kSyslog, kFile };

// Logs messages up to `max_level` to stderr or syslog ("passthroughfs",
// LOG_DAEMON, with the pid).
void Configure(Level max_level, Sink sink);
// Logs to the file at `path` (created 0640 if missing, appended to: safe
// for logrotate's copytruncate), each line with its UTC time and the pid.
// Returns 0 or the errno of the open; the sink is unchanged on failure.
int ConfigureFile(Level max_level, const std::string& path);
// While set, messages up to `level` also go to stderr when the sink is
// not stderr: the daemon's start-up errors and warnings are seen by the
// user before it daemonizes, whatever its log. Off by default.
void EchoToStderr(bool on, Level level = Level::kWarning);
// Whether a syslog daemon listens on /dev/log (else syslog(3) drops every
// message without a word).
bool SyslogAvailable();
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
