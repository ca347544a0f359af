#include "sys/credentials.h"

#include <grp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "util/log.h"

namespace ptfs::sys {
namespace {

// The daemon's own supplementary groups, restored after each switch.
const std::vector<gid_t>& OwnGroups() {
  static const std::vector<gid_t> groups = [] {
    std::vector<gid_t> g(static_cast<size_t>(std::max(0, ::getgroups(0, nullptr))));
    if (!g.empty() && ::getgroups(static_cast<int>(g.size()), g.data()) < 0) g.clear();
    return g;
  }();
  return groups;
}

long CurrentFsuid() { return ::syscall(SYS_setfsuid, -1); }  // -1: query only
long CurrentFsgid() { return ::syscall(SYS_setfsgid, -1); }

}  // namespace

bool FsCredentials::Supported() {
  static const bool root = ::geteuid() == 0;
  return root;
}

Result<FsCredentials> FsCredentials::Assume(uint32_t uid, uint32_t gid,
                                            std::span<const uint32_t> groups) {
  if (!Supported() || (uid == 0 && gid == 0 && groups.empty())) return FsCredentials(false);
  (void)OwnGroups();  // captured before the first switch
  std::vector<gid_t> list(groups.begin(), groups.end());
  if (::syscall(SYS_setgroups, list.size(), list.data()) < 0) return Errno::Last();
  ::syscall(SYS_setfsgid, gid);
  ::syscall(SYS_setfsuid, uid);
  if (CurrentFsuid() != static_cast<long>(uid) || CurrentFsgid() != static_cast<long>(gid)) {
    FsCredentials undo(true);  // restores whatever did change
    return Errno(EPERM);
  }
  return FsCredentials(true);
}

FsCredentials::~FsCredentials() {
  if (!active_) return;
  // fsuid first: with it back at 0 the filesystem capabilities return.
  ::syscall(SYS_setfsuid, 0);
  ::syscall(SYS_setfsgid, 0);
  const auto& own = OwnGroups();
  if (::syscall(SYS_setgroups, own.size(), own.data()) < 0 || CurrentFsuid() != 0) {
    // A worker that cannot get its own identity back must not serve again.
    LOG_ERROR("cannot restore the daemon's credentials; aborting");
    std::abort();
  }
}

}  // namespace ptfs::sys
