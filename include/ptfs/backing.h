// BackingRegistrar: how a FileSystem registers backing files with the kernel
// for passthrough, without knowing the transport. The session adapts the
// device's ioctls (FUSE_DEV_IOC_BACKING_OPEN/_CLOSE) to this interface; the
// fake kernel records the calls.
#pragma once

#include <cstdint>

#include "ptfs/result.h"
#include "ptfs/types.h"

namespace ptfs {

class BackingRegistrar {
 public:
  virtual ~BackingRegistrar() = default;
  // Registers `fd` (a regular, non-O_PATH fd of the backing file) and returns
  // the kernel's backing id. Typical errors: EPERM (no CAP_SYS_ADMIN), ELOOP
  // (stacking depth exceeded), EOPNOTSUPP/EINVAL (the backing filesystem
  // lacks the needed file operations).
  //
  // `inode_ops` (InodeOps) asks the kernel to also perform those inode
  // operations on the backing inode for the inode's whole life (inode
  // passthrough). Non-zero only on a connection that negotiated it
  // (ConnectionInfo::inode_passthrough).
  virtual Result<BackingId> Open(int fd, uint32_t inode_ops) = 0;
  virtual Errno Close(BackingId id) = 0;
};

}  // namespace ptfs
