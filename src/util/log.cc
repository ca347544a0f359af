#include "util/log.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ptfs::log {
namespace {
std::atomic<int> g_max_level{static_cast<int>(Level::kInfo)};
std::atomic<Sink> g_sink{Sink::kStderr};
std::atomic<int> g_file{-1};        // the kFile sink's fd
std::atomic<int> g_echo_level{-1};  // EchoToStderr: up to this level; -1 off
constexpr const char* kNames[] = {"error", "warning", "info", "debug"};
constexpr int kSyslogPriority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void WriteAll(int fd, const char* buf, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // nowhere left to say it
    buf += w;
    n -= static_cast<size_t>(w);
  }
}

// "passthroughfs: warning: " for stderr; with `stamp`, the file's prefix
// "2026-12-06T18:30:00.123Z passthroughfs[42]: warning: ".
int Prefix(char* buf, size_t size, int idx, bool stamp) {
  if (!stamp) return snprintf(buf, size, "passthroughfs: %s: ", kNames[idx]);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[32];
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  return snprintf(buf, size, "%s.%03ldZ passthroughfs[%d]: %s: ", when, ts.tv_nsec / 1000000,
                  static_cast<int>(::getpid()), kNames[idx]);
}

// One line: the prefix, the message (cut to fit) and '\n'.
void WriteLine(int fd, int idx, bool stamp, const char* text) {
  char buf[8192 + 128];
  int n = Prefix(buf, sizeof(buf), idx, stamp);
  n += snprintf(buf + n, sizeof(buf) - n - 1, "%s", text);
  if (n > static_cast<int>(sizeof(buf)) - 2) n = sizeof(buf) - 2;
  buf[n++] = '\n';
  WriteAll(fd, buf, static_cast<size_t>(n));
}
}  // namespace

void Configure(Level max_level, Sink sink) {
  g_max_level = static_cast<int>(max_level);
  if (sink == Sink::kSyslog) openlog("passthroughfs", LOG_PID, LOG_DAEMON);
  g_sink = sink;
}

int ConfigureFile(Level max_level, const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) return errno;
  g_max_level = static_cast<int>(max_level);
  const int old = g_file.exchange(fd);
  g_sink = Sink::kFile;
  if (old >= 0) ::close(old);
  return 0;
}

void EchoToStderr(bool on, Level level) { g_echo_level = on ? static_cast<int>(level) : -1; }

bool SyslogAvailable() {
  const int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  struct sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, "/dev/log");
  const bool ok = ::connect(s, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(s);
  return ok;
}

bool Enabled(Level level) {
  const int l = static_cast<int>(level);
  return l <= g_max_level.load(std::memory_order_relaxed) ||
         l <= g_echo_level.load(std::memory_order_relaxed);
}

void Write(Level level, const char* fmt, ...) {
  const int saved_errno = errno;
  char text[8192];  // the stats dump (SIGUSR1) is the longest message
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  const int idx = static_cast<int>(level);
  const Sink sink = g_sink.load();
  if (idx <= g_max_level.load(std::memory_order_relaxed)) {
    if (sink == Sink::kSyslog) {
      syslog(kSyslogPriority[idx], "%s", text);
    } else if (sink == Sink::kFile) {
      WriteLine(g_file.load(), idx, /*stamp=*/true, text);
    } else {
      WriteLine(STDERR_FILENO, idx, /*stamp=*/false, text);
    }
  }
  if (sink != Sink::kStderr && idx <= g_echo_level.load(std::memory_order_relaxed)) {
    WriteLine(STDERR_FILENO, idx, /*stamp=*/false, text);
  }
  errno = saved_errno;
}

}  // namespace ptfs::log
