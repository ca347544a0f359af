#include "util/log.h"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace ptfs::log {
namespace {
std::atomic<int> g_max_level{static_cast<int>(Level::kInfo)};
std::atomic<Sink> g_sink{Sink::kStderr};
constexpr const char* kNames[] = {"error", "warning", "info", "debug"};
constexpr int kSyslogPriority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
}  // namespace

void Configure(Level max_level, Sink sink) {
  g_max_level = static_cast<int>(max_level);
  g_sink = sink;
  if (sink == Sink::kSyslog) openlog("passthroughfs", LOG_PID, LOG_DAEMON);
}

bool Enabled(Level level) { return static_cast<int>(level) <= g_max_level.load(std::memory_order_relaxed); }

void Write(Level level, const char* fmt, ...) {
  const int saved_errno = errno;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  const int idx = static_cast<int>(level);
  if (g_sink == Sink::kSyslog) {
    vsnprintf(buf, sizeof(buf), fmt, ap);
    syslog(kSyslogPriority[idx], "%s", buf);
  } else {
    int n = snprintf(buf, sizeof(buf), "passthroughfs: %s: ", kNames[idx]);
    n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
    if (n > static_cast<int>(sizeof(buf)) - 2) n = sizeof(buf) - 2;
    buf[n++] = '\n';
    ssize_t unused = ::write(STDERR_FILENO, buf, n);
    (void)unused;
  }
  va_end(ap);
  errno = saved_errno;
}

}  // namespace ptfs::log
