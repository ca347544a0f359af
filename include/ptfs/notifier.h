// KernelNotifier: lets a filesystem tell the kernel that something it caches
// has changed behind its back (FUSE_NOTIFY_INVAL_*). The session implements it
// over the device; a filesystem that learns of outside changes (MirrorFs
// watching SOURCE) uses it to keep long cache timeouts coherent.
#pragma once

#include <cerrno>
#include <cstdint>
#include <span>
#include <string_view>

#include "ptfs/result.h"
#include "ptfs/types.h"

namespace ptfs {

class KernelNotifier {
 public:
  virtual ~KernelNotifier() = default;
  // Drops the kernel's cached attributes of `node`, and with `offset` >= 0
  // its cached data from `offset` on (`length` bytes, 0 = to the end).
  // ENOENT: the kernel does not have the inode (nothing to drop).
  virtual Errno InvalidateInode(NodeId node, int64_t offset, int64_t length) = 0;
  // Drops the kernel's dentry `name` in `parent` (positive or negative).
  // ENOENT: the kernel has no such dentry.
  virtual Errno InvalidateEntry(NodeId parent, std::string_view name) = 0;
  // Drops every dentry the kernel caches at once: each name is looked up
  // again at its next use (a new "epoch"; attributes and data stay).
  // ENOSYS / EINVAL: not supported (EINVAL: a kernel before 6.16).
  virtual Errno InvalidateAllEntries() { return Errno(ENOSYS); }
  // Asks the kernel to forget those of `nodes` it does not use (no open
  // file, cwd or cached child); it sends FORGET for each it drops. For a
  // filesystem short of fds or memory. ENOSYS / EINVAL: not supported
  // (EINVAL: a kernel before 6.18).
  virtual Errno Prune(std::span<const NodeId> nodes) {
    (void)nodes;
    return Errno(ENOSYS);
  }
};

}  // namespace ptfs
