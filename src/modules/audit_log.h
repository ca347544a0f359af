// The audit file: lines appended whole, never interleaved, none lost.
//
// Each line goes out in one write(2) on an O_APPEND descriptor, under a
// lock, so lines from concurrent operations never mix and other appenders
// (a second daemon, logger) cannot split one either. A line that cannot be
// written (disk full, quota, I/O error) is kept in memory, with whatever
// part of it did reach the file, and written first by the next append or
// check: the file never holds half a line followed by another.
//
// What happens to changes meanwhile is the admin's choice (OnFailure):
//  - kRefuse (the default of --audit-full): every change is refused with the
//    audit file's errno (ENOSPC, EDQUOT, EIO) until the lines kept are
//    written; at most the changes already under way when the file failed
//    wait in memory, so nothing is lost and nothing goes unaudited.
//  - kContinue: changes go ahead; lines wait in memory up to kMaxPending
//    bytes, then further lines are dropped and counted. Both are reported.
// Reopen (SIGHUP, after logrotate moved the file) starts a new file at the
// same path; lines already written stay in the old one.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "ptfs/result.h"

namespace ptfs::modules {

class AuditLog {
 public:
  enum class OnFailure { kRefuse, kContinue };
  // Tells the admin (the daemon's log): failures, recovery, drops.
  using Report = std::function<void(const std::string& message)>;
  static constexpr size_t kMaxPending = 4 << 20;

  AuditLog(std::string path, OnFailure on_failure, Report report);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Opens (creating, mode 0600) the file for appending.
  Errno Open();
  // Starts a new file at the path; keeps the old one if that fails.
  Errno Reopen();
  // Appends a complete line (ending in '\n').
  void Append(std::string line);
  // Whether a change may go ahead now: always with kContinue; with kRefuse
  // once no line waits (trying to write them first), else the file's errno.
  Errno ReadyForChange();

  struct Counters {
    uint64_t lines_written = 0;
    uint64_t lines_waiting = 0;
    uint64_t lines_dropped = 0;
    uint64_t write_failures = 0;
  };
  Counters counters() const;
  const std::string& path() const { return path_; }
  OnFailure on_failure() const { return on_failure_; }

 private:
  // Writes the waiting lines in order; false (with failing_ set) if one
  // could not be written completely.
  bool FlushLocked();

  const std::string path_;
  const OnFailure on_failure_;
  const Report report_;
  mutable std::mutex mu_;
  int fd_ = -1;
  std::deque<std::string> waiting_;  // front: possibly the rest of a line
  size_t waiting_bytes_ = 0;
  Errno failing_;                    // the file's error while lines wait
  uint64_t dropped_in_episode_ = 0;
  Counters counters_;
};

}  // namespace ptfs::modules
