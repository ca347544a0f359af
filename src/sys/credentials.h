// FsCredentials: makes the calling thread's filesystem accesses run as
// another user (fsuid, fsgid, supplementary groups) until it is destroyed.
//
// Only the calling thread changes: the raw setfsuid/setfsgid/setgroups
// syscalls act per thread (glibc's wrappers would broadcast setgroups to every
// thread). While fsuid is not 0 the kernel drops the filesystem capabilities
// (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_MKNOD, ...), so the
// host checks permissions exactly as for that user; they come back with fsuid
// 0 on restore. Note what that implies for callers: reopening file handles
// and /proc/self/fd magic links need the daemon's own identity, so get fds
// first, switch around the one syscall that acts for the user.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ptfs/result.h"

namespace ptfs::sys {

class FsCredentials {
 public:
  // Whether switching is possible at all (the daemon runs as root).
  static bool Supported();
  // Whether Assume(uid, gid, groups) would change anything: false for the
  // daemon's own identity (root with no supplementary groups) and for an
  // unprivileged daemon, whose operations then run exactly as its own.
  static bool WouldSwitch(uint32_t uid, uint32_t gid, std::span<const uint32_t> groups) {
    return Supported() && !(uid == 0 && gid == 0 && groups.empty());
  }
  // Switches to uid/gid/groups. Without support (not root) it does nothing:
  // an unprivileged daemon can only act as itself.
  static Result<FsCredentials> Assume(uint32_t uid, uint32_t gid,
                                      std::span<const uint32_t> groups);
  FsCredentials(FsCredentials&& other) noexcept : active_(other.active_) { other.active_ = false; }
  FsCredentials& operator=(FsCredentials&&) = delete;
  FsCredentials(const FsCredentials&) = delete;
  ~FsCredentials();

 private:
  explicit FsCredentials(bool active) : active_(active) {}
  bool active_;
};

// The supplementary groups of thread `tid` (a FUSE request's pid is the
// calling thread's id in the daemon's pid namespace), read from
// /proc/TID/status. The kernel sends only the one supplementary group that
// owns the parent of a creating request (FUSE_CREATE_SUPP_GROUP); this is the
// fallback for everything else, used only when a permission decision needs it
// (docs/decisions.md, "Every operation runs as the caller"). Fails with ESRCH
// when the thread is gone or no longer runs with fsuid `uid` and fsgid `gid`
// (the ids the request carried), so a reused pid can never lend its groups.
Result<std::vector<uint32_t>> ThreadGroups(uint32_t tid, uint32_t uid, uint32_t gid);

// Parses the text of /proc/PID/status as ThreadGroups does (for tests).
Result<std::vector<uint32_t>> ParseStatusGroups(std::string_view status, uint32_t uid,
                                                uint32_t gid);

}  // namespace ptfs::sys
