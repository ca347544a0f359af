#include "modules/audit_log.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <utility>

namespace ptfs::modules {
namespace {

int OpenForAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

}  // namespace

AuditLog::AuditLog(std::string path, OnFailure on_failure, Report report)
    : path_(std::move(path)), on_failure_(on_failure), report_(std::move(report)) {}

AuditLog::~AuditLog() {
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked();
  if (!waiting_.empty()) {
    report_("audit file " + path_ + ": " + std::to_string(waiting_.size()) +
            " line(s) could not be written before exit: " + strerror(failing_.value()));
  }
  if (fd_ >= 0) ::close(fd_);
}

Errno AuditLog::Open() {
  std::lock_guard<std::mutex> lock(mu_);
  fd_ = OpenForAppend(path_);
  return fd_ < 0 ? Errno::Last() : Errno::Ok();
}

Errno AuditLog::Reopen() {
  const int fd = OpenForAppend(path_);
  if (fd < 0) {
    const Errno e = Errno::Last();
    report_("audit file " + path_ + ": cannot reopen (" + strerror(e.value()) +
            "); still writing to the file opened before");
    return e;
  }
  std::lock_guard<std::mutex> lock(mu_);
  // What waits goes to the old file while it can (the rest of a line begun
  // there belongs there); the new file gets the rest.
  FlushLocked();
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  FlushLocked();
  return Errno::Ok();
}

bool AuditLog::FlushLocked() {
  while (!waiting_.empty()) {
    std::string& line = waiting_.front();
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n < 0) {
      const Errno e = Errno::Last();
      if (e.value() == EINTR) continue;
      ++counters_.write_failures;
      if (failing_.ok()) {
        report_("audit file " + path_ + ": cannot write (" + strerror(e.value()) + "); " +
                (on_failure_ == OnFailure::kRefuse
                     ? "changes are refused with that error until it can"
                     : "changes go on, their lines wait in memory"));
      }
      failing_ = e;
      return false;
    }
    waiting_bytes_ -= static_cast<size_t>(n);
    if (static_cast<size_t>(n) < line.size()) {
      line.erase(0, static_cast<size_t>(n));  // the rest, first next time
      continue;
    }
    waiting_.pop_front();
    ++counters_.lines_written;
  }
  if (!failing_.ok()) {
    report_("audit file " + path_ + ": writable again; every waiting line is written" +
            (dropped_in_episode_ > 0
                 ? ", " + std::to_string(dropped_in_episode_) + " line(s) were dropped meanwhile"
                 : std::string()));
    failing_ = Errno::Ok();
    dropped_in_episode_ = 0;
  }
  return true;
}

void AuditLog::Append(std::string line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (on_failure_ == OnFailure::kContinue && waiting_bytes_ + line.size() > kMaxPending) {
    // Space for waiting lines is used up: try once more before dropping.
    if (!FlushLocked() && waiting_bytes_ + line.size() > kMaxPending) {
      if (dropped_in_episode_++ == 0) {
        report_("audit file " + path_ + ": " + std::to_string(kMaxPending >> 20) +
                " MiB of lines wait to be written; further lines are dropped (and counted) "
                "until it can be written");
      }
      ++counters_.lines_dropped;
      return;
    }
  }
  waiting_bytes_ += line.size();
  waiting_.push_back(std::move(line));
  FlushLocked();
}

Errno AuditLog::ReadyForChange() {
  if (on_failure_ == OnFailure::kContinue) return Errno::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  if (waiting_.empty()) return Errno::Ok();
  return FlushLocked() ? Errno::Ok() : failing_;
}

AuditLog::Counters AuditLog::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  Counters c = counters_;
  c.lines_waiting = waiting_.size();
  return c;
}

}  // namespace ptfs::modules
