// KernelNotifier: lets a filesystem tell the kernel that something it caches
// has changed behind its back (FUSE_NOTIFY_INVAL_*). The session implements it
// over the device; a filesystem that learns of outside changes (MirrorFs
// watching SOURCE) uses it to keep long cache timeouts coherent.
#pragma once

#include <cstdint>
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
};

}  // namespace ptfs
