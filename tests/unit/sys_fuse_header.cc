// Only the system's uapi header here; see sys_fuse_header.h.
#include "sys_fuse_header.h"

#include <linux/fuse.h>
#include <linux/ioctl.h>

#include <cstddef>
#include <type_traits>

namespace ptfs::unit_test {
namespace {

// The uapi header writes 32-bit flags as int shifts ((1 << 31) is negative);
// read them as the unsigned bit patterns they stand for.
template <typename T>
constexpr uint64_t Bits(T v) {
  if constexpr (sizeof(T) <= sizeof(uint32_t)) {
    return static_cast<uint32_t>(v);
  } else {
    return static_cast<uint64_t>(v);
  }
}

#define PTFS_NV(x) NamedValue{#x, Bits(x)}

SystemFuseHeader Collect() {
  SystemFuseHeader h;
  h.major = FUSE_KERNEL_VERSION;
  h.minor = FUSE_KERNEL_MINOR_VERSION;

  h.opcodes = {
      PTFS_NV(FUSE_LOOKUP),       PTFS_NV(FUSE_FORGET),       PTFS_NV(FUSE_GETATTR),
      PTFS_NV(FUSE_SETATTR),      PTFS_NV(FUSE_READLINK),     PTFS_NV(FUSE_SYMLINK),
      PTFS_NV(FUSE_MKNOD),        PTFS_NV(FUSE_MKDIR),        PTFS_NV(FUSE_UNLINK),
      PTFS_NV(FUSE_RMDIR),        PTFS_NV(FUSE_RENAME),       PTFS_NV(FUSE_LINK),
      PTFS_NV(FUSE_OPEN),         PTFS_NV(FUSE_READ),         PTFS_NV(FUSE_WRITE),
      PTFS_NV(FUSE_STATFS),       PTFS_NV(FUSE_RELEASE),      PTFS_NV(FUSE_FSYNC),
      PTFS_NV(FUSE_SETXATTR),     PTFS_NV(FUSE_GETXATTR),     PTFS_NV(FUSE_LISTXATTR),
      PTFS_NV(FUSE_REMOVEXATTR),  PTFS_NV(FUSE_FLUSH),        PTFS_NV(FUSE_INIT),
      PTFS_NV(FUSE_OPENDIR),      PTFS_NV(FUSE_READDIR),      PTFS_NV(FUSE_RELEASEDIR),
      PTFS_NV(FUSE_FSYNCDIR),     PTFS_NV(FUSE_GETLK),        PTFS_NV(FUSE_SETLK),
      PTFS_NV(FUSE_SETLKW),       PTFS_NV(FUSE_ACCESS),       PTFS_NV(FUSE_CREATE),
      PTFS_NV(FUSE_INTERRUPT),    PTFS_NV(FUSE_BMAP),         PTFS_NV(FUSE_DESTROY),
      PTFS_NV(FUSE_IOCTL),        PTFS_NV(FUSE_POLL),         PTFS_NV(FUSE_NOTIFY_REPLY),
      PTFS_NV(FUSE_BATCH_FORGET), PTFS_NV(FUSE_FALLOCATE),    PTFS_NV(FUSE_READDIRPLUS),
      PTFS_NV(FUSE_RENAME2),      PTFS_NV(FUSE_LSEEK),        PTFS_NV(FUSE_COPY_FILE_RANGE),
      PTFS_NV(FUSE_SETUPMAPPING), PTFS_NV(FUSE_REMOVEMAPPING), PTFS_NV(FUSE_SYNCFS),
      PTFS_NV(FUSE_TMPFILE),      PTFS_NV(CUSE_INIT),
  };
#if FUSE_KERNEL_MINOR_VERSION >= 39
  h.opcodes.push_back(PTFS_NV(FUSE_STATX));
#endif
#if FUSE_KERNEL_MINOR_VERSION >= 45
  h.opcodes.push_back(PTFS_NV(FUSE_COPY_FILE_RANGE_64));
#endif

  // Every INIT flag we know, where this header has it.
#define PTFS_FLAG(x) h.init_flags.push_back(NamedValue{#x, Bits(x)})
  PTFS_FLAG(FUSE_ASYNC_READ);
  PTFS_FLAG(FUSE_POSIX_LOCKS);
  PTFS_FLAG(FUSE_FILE_OPS);
  PTFS_FLAG(FUSE_ATOMIC_O_TRUNC);
  PTFS_FLAG(FUSE_EXPORT_SUPPORT);
  PTFS_FLAG(FUSE_BIG_WRITES);
  PTFS_FLAG(FUSE_DONT_MASK);
  PTFS_FLAG(FUSE_SPLICE_WRITE);
  PTFS_FLAG(FUSE_SPLICE_MOVE);
  PTFS_FLAG(FUSE_SPLICE_READ);
  PTFS_FLAG(FUSE_FLOCK_LOCKS);
  PTFS_FLAG(FUSE_HAS_IOCTL_DIR);
  PTFS_FLAG(FUSE_AUTO_INVAL_DATA);
  PTFS_FLAG(FUSE_DO_READDIRPLUS);
  PTFS_FLAG(FUSE_READDIRPLUS_AUTO);
  PTFS_FLAG(FUSE_ASYNC_DIO);
  PTFS_FLAG(FUSE_WRITEBACK_CACHE);
  PTFS_FLAG(FUSE_NO_OPEN_SUPPORT);
  PTFS_FLAG(FUSE_PARALLEL_DIROPS);
  PTFS_FLAG(FUSE_HANDLE_KILLPRIV);
  PTFS_FLAG(FUSE_POSIX_ACL);
  PTFS_FLAG(FUSE_ABORT_ERROR);
  PTFS_FLAG(FUSE_MAX_PAGES);
  PTFS_FLAG(FUSE_CACHE_SYMLINKS);
  PTFS_FLAG(FUSE_NO_OPENDIR_SUPPORT);
  PTFS_FLAG(FUSE_EXPLICIT_INVAL_DATA);
  PTFS_FLAG(FUSE_MAP_ALIGNMENT);
  PTFS_FLAG(FUSE_SUBMOUNTS);
  PTFS_FLAG(FUSE_HANDLE_KILLPRIV_V2);
  PTFS_FLAG(FUSE_SETXATTR_EXT);
  PTFS_FLAG(FUSE_INIT_EXT);
  PTFS_FLAG(FUSE_INIT_RESERVED);
  PTFS_FLAG(FUSE_SECURITY_CTX);
  PTFS_FLAG(FUSE_HAS_INODE_DAX);
#ifdef FUSE_CREATE_SUPP_GROUP
  PTFS_FLAG(FUSE_CREATE_SUPP_GROUP);
#endif
#ifdef FUSE_HAS_EXPIRE_ONLY
  PTFS_FLAG(FUSE_HAS_EXPIRE_ONLY);
#endif
#ifdef FUSE_DIRECT_IO_ALLOW_MMAP
  PTFS_FLAG(FUSE_DIRECT_IO_ALLOW_MMAP);
#endif
#ifdef FUSE_PASSTHROUGH
  PTFS_FLAG(FUSE_PASSTHROUGH);
#endif
#ifdef FUSE_NO_EXPORT_SUPPORT
  PTFS_FLAG(FUSE_NO_EXPORT_SUPPORT);
#endif
#ifdef FUSE_HAS_RESEND
  PTFS_FLAG(FUSE_HAS_RESEND);
#endif
#ifdef FUSE_ALLOW_IDMAP
  PTFS_FLAG(FUSE_ALLOW_IDMAP);
#endif
#ifdef FUSE_OVER_IO_URING
  PTFS_FLAG(FUSE_OVER_IO_URING);
#endif
#ifdef FUSE_REQUEST_TIMEOUT
  PTFS_FLAG(FUSE_REQUEST_TIMEOUT);
#endif
#undef PTFS_FLAG

  h.fattr = {
      PTFS_NV(FATTR_MODE),      PTFS_NV(FATTR_UID),       PTFS_NV(FATTR_GID),
      PTFS_NV(FATTR_SIZE),      PTFS_NV(FATTR_ATIME),     PTFS_NV(FATTR_MTIME),
      PTFS_NV(FATTR_FH),        PTFS_NV(FATTR_ATIME_NOW), PTFS_NV(FATTR_MTIME_NOW),
      PTFS_NV(FATTR_LOCKOWNER), PTFS_NV(FATTR_CTIME),     PTFS_NV(FATTR_KILL_SUIDGID),
  };
  h.fopen = {
      PTFS_NV(FOPEN_DIRECT_IO), PTFS_NV(FOPEN_KEEP_CACHE), PTFS_NV(FOPEN_NONSEEKABLE),
      PTFS_NV(FOPEN_CACHE_DIR), PTFS_NV(FOPEN_STREAM),     PTFS_NV(FOPEN_NOFLUSH),
      PTFS_NV(FOPEN_PARALLEL_DIRECT_WRITES),
  };
#ifdef FOPEN_PASSTHROUGH
  h.fopen.push_back(PTFS_NV(FOPEN_PASSTHROUGH));
#endif

  h.other = {
      PTFS_NV(FUSE_ROOT_ID),
      PTFS_NV(FUSE_MIN_READ_BUFFER),
      PTFS_NV(FUSE_COMPAT_SETXATTR_IN_SIZE),
      PTFS_NV(FUSE_ATTR_SUBMOUNT),
      PTFS_NV(FUSE_ATTR_DAX),
      PTFS_NV(FUSE_OPEN_KILL_SUIDGID),
      PTFS_NV(FUSE_GETATTR_FH),
      PTFS_NV(FUSE_RELEASE_FLUSH),
      PTFS_NV(FUSE_RELEASE_FLOCK_UNLOCK),
      PTFS_NV(FUSE_WRITE_CACHE),
      PTFS_NV(FUSE_WRITE_LOCKOWNER),
      PTFS_NV(FUSE_WRITE_KILL_SUIDGID),
      PTFS_NV(FUSE_READ_LOCKOWNER),
      PTFS_NV(FUSE_LK_FLOCK),
      PTFS_NV(FUSE_FSYNC_FDATASYNC),
      PTFS_NV(FUSE_SETXATTR_ACL_KILL_SGID),
      PTFS_NV(FUSE_IOCTL_COMPAT),
      PTFS_NV(FUSE_IOCTL_UNRESTRICTED),
      PTFS_NV(FUSE_IOCTL_RETRY),
      PTFS_NV(FUSE_IOCTL_32BIT),
      PTFS_NV(FUSE_IOCTL_DIR),
      PTFS_NV(FUSE_POLL_SCHEDULE_NOTIFY),
      PTFS_NV(FUSE_MAX_NR_SECCTX),
      PTFS_NV(FUSE_NOTIFY_POLL),
      PTFS_NV(FUSE_NOTIFY_INVAL_INODE),
      PTFS_NV(FUSE_NOTIFY_INVAL_ENTRY),
      PTFS_NV(FUSE_NOTIFY_STORE),
      PTFS_NV(FUSE_NOTIFY_RETRIEVE),
      PTFS_NV(FUSE_NOTIFY_DELETE),
      NamedValue{"kDirentAlign", FUSE_DIRENT_ALIGN(1)},
  };
#if FUSE_KERNEL_MINOR_VERSION >= 38
  h.other.push_back(NamedValue{"FUSE_EXT_GROUPS", 32});
#endif

#define PTFS_STRUCT(s) h.sizes.push_back(NamedValue{#s, sizeof(struct s)});
#include "abi_structs.inc"
#if FUSE_KERNEL_MINOR_VERSION >= 39
  PTFS_STRUCT(fuse_sx_time)
  PTFS_STRUCT(fuse_statx)
  PTFS_STRUCT(fuse_statx_in)
  PTFS_STRUCT(fuse_statx_out)
#endif
#ifdef FUSE_CREATE_SUPP_GROUP
  PTFS_STRUCT(fuse_supp_groups)
#endif
#if FUSE_KERNEL_MINOR_VERSION >= 40
  PTFS_STRUCT(fuse_backing_map)
#endif
#if FUSE_KERNEL_MINOR_VERSION >= 45
  PTFS_STRUCT(fuse_copy_file_range_out)
#endif
#if FUSE_KERNEL_MINOR_VERSION >= 42
  PTFS_STRUCT(fuse_uring_ent_in_out)
  PTFS_STRUCT(fuse_uring_req_header)
  PTFS_STRUCT(fuse_uring_cmd_req)
#endif
#undef PTFS_STRUCT

#define PTFS_FIELD(s, f) h.offsets.push_back(NamedValue{#s "." #f, offsetof(struct s, f)});
#include "abi_fields.inc"
#undef PTFS_FIELD
  // Slots that the newer protocol gave a name: ours must sit where the older
  // header kept the placeholder.
#if FUSE_KERNEL_MINOR_VERSION < 40
  h.offsets.push_back(NamedValue{"fuse_open_out.backing_id", offsetof(fuse_open_out, padding)});
  h.offsets.push_back(
      NamedValue{"fuse_init_out.max_stack_depth", offsetof(fuse_init_out, unused)});
#else
  h.offsets.push_back(
      NamedValue{"fuse_open_out.backing_id", offsetof(fuse_open_out, backing_id)});
  h.offsets.push_back(
      NamedValue{"fuse_init_out.max_stack_depth", offsetof(fuse_init_out, max_stack_depth)});
#endif
  // The name of a dirent starts right after the fixed part.
  h.offsets.push_back(NamedValue{"fuse_dirent.name", offsetof(fuse_dirent, name)});

  h.dev_ioc_clone = FUSE_DEV_IOC_CLONE;
#ifdef FUSE_DEV_IOC_BACKING_OPEN
  h.has_backing_ioctls = true;
  h.dev_ioc_backing_open = FUSE_DEV_IOC_BACKING_OPEN;
  h.dev_ioc_backing_close = FUSE_DEV_IOC_BACKING_CLOSE;
#endif
  return h;
}

#undef PTFS_NV

}  // namespace

uint64_t SystemDirentSize(uint32_t namelen, bool plus) {
  return plus ? FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + namelen)
              : FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + namelen);
}

const SystemFuseHeader& SystemHeader() {
  static const SystemFuseHeader* h = new SystemFuseHeader(Collect());
  return *h;
}

}  // namespace ptfs::unit_test
