#include "mirror/caller.h"

#include <sys/stat.h>

#include <algorithm>

#include "sys/syscalls.h"

namespace ptfs::mirror {

std::optional<std::vector<uint32_t>> MoreGroups(const Context& ctx) {
  if (!sys::FsCredentials::Supported() || ctx.uid == 0) return std::nullopt;
  auto all = sys::ThreadGroups(ctx.pid, ctx.uid, ctx.gid);
  if (!all.ok()) return std::nullopt;
  for (uint32_t g : *all) {
    if (g != ctx.gid && std::find(ctx.groups.begin(), ctx.groups.end(), g) == ctx.groups.end()) {
      return std::move(*all);
    }
  }
  return std::nullopt;
}

bool InGroup(const Context& ctx, uint32_t gid) {
  if (gid == ctx.gid || std::find(ctx.groups.begin(), ctx.groups.end(), gid) != ctx.groups.end()) {
    return true;
  }
  auto more = MoreGroups(ctx);
  return more && std::find(more->begin(), more->end(), gid) != more->end();
}

bool RunsAsDaemon(const Context& ctx) {
  return !sys::FsCredentials::WouldSwitch(ctx.uid, ctx.gid, ctx.groups);
}

bool SgidDependsOnGroups(const Context& ctx, uint32_t mode, uint32_t gid) {
  return (mode & S_ISGID) != 0 && !S_ISDIR(mode) && gid != ctx.gid &&
         std::find(ctx.groups.begin(), ctx.groups.end(), gid) == ctx.groups.end();
}

bool SgidDependsOnGroups(const Context& ctx, int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && SgidDependsOnGroups(ctx, st.st_mode, st.st_gid);
}

Errno KillSuidGid(const Context& ctx, int fd) {
  struct stat st;
  if (::fstat(fd, &st) < 0) return Errno::Last();
  const mode_t mode = st.st_mode & 07777;
  if (!S_ISREG(st.st_mode) || (mode & (S_ISUID | S_ISGID)) == 0) return Errno::Ok();
  mode_t killed = mode & ~S_ISUID;
  // in_group_or_capable(): a caller with CAP_FSETID keeps S_ISGID without
  // group execute. The kernel asks for this kill only from callers without
  // it, except at chown, where FUSE sends FATTR_KILL_SUIDGID for everyone
  // (root's chown keeps 2644's S_ISGID natively; fstests generic/193). The
  // request carries no capabilities: uid 0 stands for them.
  const bool capable = ctx.uid == 0;
  if ((mode & S_ISGID) != 0 &&
      ((mode & S_IXGRP) != 0 || (!capable && !InGroup(ctx, st.st_gid)))) {
    killed &= ~S_ISGID;
  }
  if (killed == mode) return Errno::Ok();
  const sys::ProcFd proc(fd);
  return CheckSys(::fchmodat(proc.dir(), proc.name(), killed, 0));
}

Errno ApplyUmask(bool dont_mask, uint32_t umask) {
  return sys::SetThreadUmask(dont_mask ? static_cast<mode_t>(umask & 07777) : 0);
}

}  // namespace ptfs::mirror
