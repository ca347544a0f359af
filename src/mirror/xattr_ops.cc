// MirrorFs: extended attributes (SETXATTR, GETXATTR, LISTXATTR,
// REMOVEXATTR).
#include <cstring>
#include <vector>

#include "mirror/caller.h"
#include "mirror/mirror_fs.h"
#include "mirror/wire_to_host.h"
#include "mirror/xattr_presence.h"
#include "sys/syscalls.h"

namespace ptfs::mirror {

// Extended attributes go through the inode's /proc/self/fd magic link: the
// f*xattr calls refuse O_PATH fds, and the magic link resolves to the inode
// itself (a symlink's own xattrs included), never to a path in SOURCE.
Errno MirrorFs::SetXattr(const Context& ctx, NodeId node, std::string_view name,
                              std::span<const char> value, uint32_t flags) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  CName cname(name);
  const sys::ProcFd proc(fd->get());
  auto set = [&] {
    return sys::SetXattr(proc, cname.c_str(), value.data(), value.size(), static_cast<int>(flags));
  };
  // An access ACL keeps S_ISGID only for a member of the file's group.
  Errno result =
      name == "system.posix_acl_access" ? AsCallerWithAllGroups(ctx, set) : AsCaller(ctx, set);
  ForgetXattrPresence(*inode);  // after the change: see GetXattr
  return result;
}

Result<size_t> MirrorFs::GetXattr(const Context& ctx, NodeId node, std::string_view name,
                                       std::span<char> out) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  CName cname(name);
  const sys::ProcFd proc(fd->get());
  auto get = [&]() -> Result<size_t> {
    return sys::GetXattr(proc, cname.c_str(), out.empty() ? nullptr : out.data(), out.size());
  };
  // Most files have no extended attributes, yet the kernel asks for some on
  // every one: `ls -l` for security.selinux on each listing (FUSE caches no
  // xattrs) and for its ACL, and a first write for security.capability. The
  // first GETXATTR of an inode therefore lists its names instead, and if
  // there are none, later ones are answered ENODATA without a host call
  // until something may have added one: a SETXATTR through the mount, or an
  // outside change the source watch reports (FAN_ATTRIB), so an outside
  // setxattr shows within the watch's few milliseconds, like an outside
  // chmod. Only where the kernel checks permissions itself (else user.*
  // would need the caller's read permission checked here) and the watch
  // covers the inode's filesystem (which also limits this to local
  // filesystems, whose listxattr names every attribute getxattr finds).
  if (xattr_presence_usable_ && watcher_->Covers(inode->key().dev)) {
    uint32_t seen = inode->xattr_presence.load(std::memory_order_acquire);
    switch (seen & kXattrPresenceBits) {
      case kNoXattrs:
        xattr_absence_known_.fetch_add(1, std::memory_order_relaxed);
        return Errno(ENODATA);
      case kXattrsUnknown: {
        auto names = sys::ListXattr(proc, nullptr, 0);
        if (!names.ok()) break;
        LearnXattrPresence(*inode, seen, *names == 0 ? kNoXattrs : kSomeXattrs);
        if (*names == 0) return Errno(ENODATA);
        break;
      }
      default:
        break;
    }
    return get();
  }
  // user.* needs read permission; the kernel checked it with default_permissions.
  return options_.default_permissions ? get() : AsCaller(ctx, get);
}

Result<size_t> MirrorFs::ListXattr(const Context& ctx, NodeId node, std::span<char> out) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  const sys::ProcFd proc(fd->get());
  // SOURCE lists trusted.* names only to CAP_SYS_ADMIN, which the daemon
  // keeps whatever its fsuid: filter them for callers other than root (the
  // request does not carry the caller's capabilities; uid 0 stands for them).
  const bool hide_trusted = ctx.uid != 0;
  if (!hide_trusted) return sys::ListXattr(proc, out.empty() ? nullptr : out.data(), out.size());
  std::vector<char> all;
  Result<size_t> n(size_t{0});
  do {
    n = sys::ListXattr(proc, nullptr, 0);
    if (!n.ok()) return n.error();
    all.resize(*n);
    if (*n != 0) n = sys::ListXattr(proc, all.data(), all.size());
  } while (!n.ok() && n.error().value() == ERANGE);  // grew between the two calls
  if (!n.ok()) return n.error();
  size_t used = 0;
  for (size_t pos = 0; pos < *n;) {
    const std::string_view entry(all.data() + pos);
    if (!entry.starts_with("trusted.")) {
      std::memmove(all.data() + used, entry.data(), entry.size() + 1);
      used += entry.size() + 1;
    }
    pos += entry.size() + 1;
  }
  if (out.empty()) return used;
  if (used > out.size()) return Errno(ERANGE);
  if (used > 0) std::memcpy(out.data(), all.data(), used);
  return used;
}

Errno MirrorFs::RemoveXattr(const Context& ctx, NodeId node, std::string_view name) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  CName cname(name);
  const sys::ProcFd proc(fd->get());
  Errno result = AsCaller(ctx, [&] { return sys::RemoveXattr(proc, cname.c_str()); });
  ForgetXattrPresence(*inode);  // it may have none left: learn again
  return result;
}

}  // namespace ptfs::mirror
