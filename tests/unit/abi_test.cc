// src/abi/fuse_abi.h against the system's <linux/fuse.h> (see sys_fuse_header.cc)
// and against ioctl numbers computed with <linux/ioctl.h>.
#include <linux/ioctl.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "abi/fuse_abi.h"
#include "gtest/gtest.h"
#include "proto/encode.h"
#include "sys_fuse_header.h"

namespace ptfs::unit_test {
namespace {

namespace abi = ::ptfs::abi;

using NameMap = std::map<std::string, uint64_t>;

#define PTFS_OURS(x) {#x, static_cast<uint64_t>(abi::x)}

NameMap OurOpcodes() {
  return {
      PTFS_OURS(FUSE_LOOKUP),       PTFS_OURS(FUSE_FORGET),
      PTFS_OURS(FUSE_GETATTR),      PTFS_OURS(FUSE_SETATTR),
      PTFS_OURS(FUSE_READLINK),     PTFS_OURS(FUSE_SYMLINK),
      PTFS_OURS(FUSE_MKNOD),        PTFS_OURS(FUSE_MKDIR),
      PTFS_OURS(FUSE_UNLINK),       PTFS_OURS(FUSE_RMDIR),
      PTFS_OURS(FUSE_RENAME),       PTFS_OURS(FUSE_LINK),
      PTFS_OURS(FUSE_OPEN),         PTFS_OURS(FUSE_READ),
      PTFS_OURS(FUSE_WRITE),        PTFS_OURS(FUSE_STATFS),
      PTFS_OURS(FUSE_RELEASE),      PTFS_OURS(FUSE_FSYNC),
      PTFS_OURS(FUSE_SETXATTR),     PTFS_OURS(FUSE_GETXATTR),
      PTFS_OURS(FUSE_LISTXATTR),    PTFS_OURS(FUSE_REMOVEXATTR),
      PTFS_OURS(FUSE_FLUSH),        PTFS_OURS(FUSE_INIT),
      PTFS_OURS(FUSE_OPENDIR),      PTFS_OURS(FUSE_READDIR),
      PTFS_OURS(FUSE_RELEASEDIR),   PTFS_OURS(FUSE_FSYNCDIR),
      PTFS_OURS(FUSE_GETLK),        PTFS_OURS(FUSE_SETLK),
      PTFS_OURS(FUSE_SETLKW),       PTFS_OURS(FUSE_ACCESS),
      PTFS_OURS(FUSE_CREATE),       PTFS_OURS(FUSE_INTERRUPT),
      PTFS_OURS(FUSE_BMAP),         PTFS_OURS(FUSE_DESTROY),
      PTFS_OURS(FUSE_IOCTL),        PTFS_OURS(FUSE_POLL),
      PTFS_OURS(FUSE_NOTIFY_REPLY), PTFS_OURS(FUSE_BATCH_FORGET),
      PTFS_OURS(FUSE_FALLOCATE),    PTFS_OURS(FUSE_READDIRPLUS),
      PTFS_OURS(FUSE_RENAME2),      PTFS_OURS(FUSE_LSEEK),
      PTFS_OURS(FUSE_COPY_FILE_RANGE), PTFS_OURS(FUSE_SETUPMAPPING),
      PTFS_OURS(FUSE_REMOVEMAPPING), PTFS_OURS(FUSE_SYNCFS),
      PTFS_OURS(FUSE_TMPFILE),      PTFS_OURS(FUSE_STATX),
      PTFS_OURS(FUSE_COPY_FILE_RANGE_64), PTFS_OURS(CUSE_INIT),
  };
}

NameMap OurInitFlags() {
  return {
      PTFS_OURS(FUSE_ASYNC_READ),         PTFS_OURS(FUSE_POSIX_LOCKS),
      PTFS_OURS(FUSE_FILE_OPS),           PTFS_OURS(FUSE_ATOMIC_O_TRUNC),
      PTFS_OURS(FUSE_EXPORT_SUPPORT),     PTFS_OURS(FUSE_BIG_WRITES),
      PTFS_OURS(FUSE_DONT_MASK),          PTFS_OURS(FUSE_SPLICE_WRITE),
      PTFS_OURS(FUSE_SPLICE_MOVE),        PTFS_OURS(FUSE_SPLICE_READ),
      PTFS_OURS(FUSE_FLOCK_LOCKS),        PTFS_OURS(FUSE_HAS_IOCTL_DIR),
      PTFS_OURS(FUSE_AUTO_INVAL_DATA),    PTFS_OURS(FUSE_DO_READDIRPLUS),
      PTFS_OURS(FUSE_READDIRPLUS_AUTO),   PTFS_OURS(FUSE_ASYNC_DIO),
      PTFS_OURS(FUSE_WRITEBACK_CACHE),    PTFS_OURS(FUSE_NO_OPEN_SUPPORT),
      PTFS_OURS(FUSE_PARALLEL_DIROPS),    PTFS_OURS(FUSE_HANDLE_KILLPRIV),
      PTFS_OURS(FUSE_POSIX_ACL),          PTFS_OURS(FUSE_ABORT_ERROR),
      PTFS_OURS(FUSE_MAX_PAGES),          PTFS_OURS(FUSE_CACHE_SYMLINKS),
      PTFS_OURS(FUSE_NO_OPENDIR_SUPPORT), PTFS_OURS(FUSE_EXPLICIT_INVAL_DATA),
      PTFS_OURS(FUSE_MAP_ALIGNMENT),      PTFS_OURS(FUSE_SUBMOUNTS),
      PTFS_OURS(FUSE_HANDLE_KILLPRIV_V2), PTFS_OURS(FUSE_SETXATTR_EXT),
      PTFS_OURS(FUSE_INIT_EXT),           PTFS_OURS(FUSE_INIT_RESERVED),
      PTFS_OURS(FUSE_SECURITY_CTX),       PTFS_OURS(FUSE_HAS_INODE_DAX),
      PTFS_OURS(FUSE_CREATE_SUPP_GROUP),  PTFS_OURS(FUSE_HAS_EXPIRE_ONLY),
      PTFS_OURS(FUSE_DIRECT_IO_ALLOW_MMAP), PTFS_OURS(FUSE_PASSTHROUGH),
      PTFS_OURS(FUSE_NO_EXPORT_SUPPORT),  PTFS_OURS(FUSE_HAS_RESEND),
      PTFS_OURS(FUSE_ALLOW_IDMAP),        PTFS_OURS(FUSE_OVER_IO_URING),
      PTFS_OURS(FUSE_REQUEST_TIMEOUT),
  };
}

NameMap OurFattr() {
  return {
      PTFS_OURS(FATTR_MODE),      PTFS_OURS(FATTR_UID),       PTFS_OURS(FATTR_GID),
      PTFS_OURS(FATTR_SIZE),      PTFS_OURS(FATTR_ATIME),     PTFS_OURS(FATTR_MTIME),
      PTFS_OURS(FATTR_FH),        PTFS_OURS(FATTR_ATIME_NOW), PTFS_OURS(FATTR_MTIME_NOW),
      PTFS_OURS(FATTR_LOCKOWNER), PTFS_OURS(FATTR_CTIME),     PTFS_OURS(FATTR_KILL_SUIDGID),
  };
}

NameMap OurFopen() {
  return {
      PTFS_OURS(FOPEN_DIRECT_IO), PTFS_OURS(FOPEN_KEEP_CACHE), PTFS_OURS(FOPEN_NONSEEKABLE),
      PTFS_OURS(FOPEN_CACHE_DIR), PTFS_OURS(FOPEN_STREAM),     PTFS_OURS(FOPEN_NOFLUSH),
      PTFS_OURS(FOPEN_PARALLEL_DIRECT_WRITES), PTFS_OURS(FOPEN_PASSTHROUGH),
  };
}

NameMap OurOther() {
  return {
      {"FUSE_ROOT_ID", abi::kRootId},
      {"FUSE_MIN_READ_BUFFER", abi::kMinReadBuffer},
      {"FUSE_COMPAT_SETXATTR_IN_SIZE", abi::kCompatSetxattrInSize},
      {"kDirentAlign", abi::kDirentAlign},
      PTFS_OURS(FUSE_ATTR_SUBMOUNT),
      PTFS_OURS(FUSE_ATTR_DAX),
      PTFS_OURS(FUSE_OPEN_KILL_SUIDGID),
      PTFS_OURS(FUSE_GETATTR_FH),
      PTFS_OURS(FUSE_RELEASE_FLUSH),
      PTFS_OURS(FUSE_RELEASE_FLOCK_UNLOCK),
      PTFS_OURS(FUSE_WRITE_CACHE),
      PTFS_OURS(FUSE_WRITE_LOCKOWNER),
      PTFS_OURS(FUSE_WRITE_KILL_SUIDGID),
      PTFS_OURS(FUSE_READ_LOCKOWNER),
      PTFS_OURS(FUSE_LK_FLOCK),
      PTFS_OURS(FUSE_FSYNC_FDATASYNC),
      PTFS_OURS(FUSE_SETXATTR_ACL_KILL_SGID),
      PTFS_OURS(FUSE_IOCTL_COMPAT),
      PTFS_OURS(FUSE_IOCTL_UNRESTRICTED),
      PTFS_OURS(FUSE_IOCTL_RETRY),
      PTFS_OURS(FUSE_IOCTL_32BIT),
      PTFS_OURS(FUSE_IOCTL_DIR),
      PTFS_OURS(FUSE_POLL_SCHEDULE_NOTIFY),
      PTFS_OURS(FUSE_MAX_NR_SECCTX),
      PTFS_OURS(FUSE_EXT_GROUPS),
      PTFS_OURS(FUSE_NOTIFY_POLL),
      PTFS_OURS(FUSE_NOTIFY_INVAL_INODE),
      PTFS_OURS(FUSE_NOTIFY_INVAL_ENTRY),
      PTFS_OURS(FUSE_NOTIFY_STORE),
      PTFS_OURS(FUSE_NOTIFY_RETRIEVE),
      PTFS_OURS(FUSE_NOTIFY_DELETE),
  };
}

#undef PTFS_OURS

NameMap OurSizes() {
  NameMap m;
#define PTFS_STRUCT(s) m[#s] = sizeof(abi::s);
#include "abi_structs.inc"
  PTFS_STRUCT(fuse_sx_time)
  PTFS_STRUCT(fuse_statx)
  PTFS_STRUCT(fuse_statx_in)
  PTFS_STRUCT(fuse_statx_out)
  PTFS_STRUCT(fuse_supp_groups)
  PTFS_STRUCT(fuse_backing_map)
  PTFS_STRUCT(fuse_copy_file_range_out)
  PTFS_STRUCT(fuse_uring_ent_in_out)
  PTFS_STRUCT(fuse_uring_req_header)
  PTFS_STRUCT(fuse_uring_cmd_req)
#undef PTFS_STRUCT
  return m;
}

NameMap OurOffsets() {
  NameMap m;
#define PTFS_FIELD(s, f) m[#s "." #f] = offsetof(abi::s, f);
#include "abi_fields.inc"
  PTFS_FIELD(fuse_open_out, backing_id)
  PTFS_FIELD(fuse_init_out, max_stack_depth)
#undef PTFS_FIELD
  m["fuse_dirent.name"] = sizeof(abi::fuse_dirent);
  return m;
}

// Every name the system header has must exist in ours with the same value.
void ExpectAllMatch(const std::vector<NamedValue>& system, const NameMap& ours,
                    const char* what) {
  for (const NamedValue& nv : system) {
    auto it = ours.find(nv.name);
    if (it == ours.end()) {
      ADD_FAILURE() << what << ": " << nv.name << " is in <linux/fuse.h> but not checked here";
      continue;
    }
    EXPECT_EQ(it->second, nv.value) << what << ": " << nv.name;
  }
}

TEST(AbiVersusSystemHeader, SystemHeaderIsTheExpectedOne) {
  const SystemFuseHeader& sys = SystemHeader();
  EXPECT_EQ(sys.major, abi::kKernelVersion);
  EXPECT_GE(sys.minor, 38u) << "these tests expect linux-libc-dev with protocol 7.38 or newer";
  EXPECT_LE(sys.minor, abi::kKernelMinorVersion);
  EXPECT_EQ(abi::kKernelMinorVersion, 45u);
  EXPECT_EQ(abi::kMinSupportedMinor, 31u);
}

TEST(AbiVersusSystemHeader, Opcodes) {
  const SystemFuseHeader& sys = SystemHeader();
  // 1..51 without 7 and 19, plus CUSE_INIT: at least 50 names in 7.38.
  EXPECT_GE(sys.opcodes.size(), 50u);
  ExpectAllMatch(sys.opcodes, OurOpcodes(), "opcode");
}

TEST(AbiVersusSystemHeader, InitFlags) {
  const SystemFuseHeader& sys = SystemHeader();
  // 7.38 has bits 0..33 and 35.
  EXPECT_GE(sys.init_flags.size(), 35u);
  ExpectAllMatch(sys.init_flags, OurInitFlags(), "INIT flag");
}

TEST(AbiVersusSystemHeader, InitFlagsAreDistinctSingleBits) {
  uint64_t seen = 0;
  for (const auto& [name, value] : OurInitFlags()) {
    EXPECT_EQ(value & (value - 1), 0u) << name << " is not a single bit";
    EXPECT_EQ(seen & value, 0u) << name << " reuses a bit";
    seen |= value;
  }
  EXPECT_EQ(seen, (1ULL << 43) - 1) << "bits 0..42 each named once";
}

TEST(AbiVersusSystemHeader, FattrBits) {
  const SystemFuseHeader& sys = SystemHeader();
  EXPECT_EQ(sys.fattr.size(), 12u);
  ExpectAllMatch(sys.fattr, OurFattr(), "FATTR");
}

TEST(AbiVersusSystemHeader, FopenBits) {
  const SystemFuseHeader& sys = SystemHeader();
  EXPECT_GE(sys.fopen.size(), 7u);
  ExpectAllMatch(sys.fopen, OurFopen(), "FOPEN");
  EXPECT_EQ(abi::FOPEN_PASSTHROUGH, 1u << 7);
}

TEST(AbiVersusSystemHeader, OtherFlagsAndConstants) {
  ExpectAllMatch(SystemHeader().other, OurOther(), "constant");
}

TEST(AbiVersusSystemHeader, StructSizes) {
  const SystemFuseHeader& sys = SystemHeader();
  EXPECT_GE(sys.sizes.size(), 53u);
  ExpectAllMatch(sys.sizes, OurSizes(), "sizeof");
}

TEST(AbiVersusSystemHeader, FieldOffsets) {
  const SystemFuseHeader& sys = SystemHeader();
  EXPECT_GE(sys.offsets.size(), 200u);
  ExpectAllMatch(sys.offsets, OurOffsets(), "offsetof");
}

TEST(AbiVersusSystemHeader, DirentRecordSizes) {
  for (uint32_t len : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 254u, 255u, 1024u}) {
    EXPECT_EQ(proto::DirentPacker::RecordSize(len, false), SystemDirentSize(len, false)) << len;
    EXPECT_EQ(proto::DirentPacker::RecordSize(len, true), SystemDirentSize(len, true)) << len;
  }
}

// Structs newer than the system header: sizes and offsets from the protocol
// documentation (include/uapi/linux/fuse.h of Linux 6.15, protocol 7.44/7.45).
TEST(AbiNewerThanSystemHeader, SizesAndOffsets) {
  EXPECT_EQ(sizeof(abi::fuse_sx_time), 16u);
  EXPECT_EQ(sizeof(abi::fuse_statx), 256u);
  EXPECT_EQ(offsetof(abi::fuse_statx, mode), 28u);
  EXPECT_EQ(offsetof(abi::fuse_statx, attributes_mask), 56u);
  EXPECT_EQ(offsetof(abi::fuse_statx, btime), 80u);
  EXPECT_EQ(offsetof(abi::fuse_statx, mtime), 112u);
  EXPECT_EQ(offsetof(abi::fuse_statx, dev_minor), 140u);
  EXPECT_EQ(sizeof(abi::fuse_statx_in), 24u);
  EXPECT_EQ(offsetof(abi::fuse_statx_in, sx_mask), 20u);
  EXPECT_EQ(sizeof(abi::fuse_statx_out), 288u);
  EXPECT_EQ(sizeof(abi::fuse_supp_groups), 4u);
  EXPECT_EQ(sizeof(abi::fuse_backing_map), 16u);
  EXPECT_EQ(offsetof(abi::fuse_backing_map, padding), 8u);
  EXPECT_EQ(sizeof(abi::fuse_copy_file_range_out), 8u);
  EXPECT_EQ(offsetof(abi::fuse_init_out, request_timeout), 40u);
  EXPECT_EQ(sizeof(abi::fuse_init_out), 64u);
  EXPECT_EQ(abi::FUSE_STATX, 52u);
  EXPECT_EQ(abi::FUSE_COPY_FILE_RANGE_64, 53u);
  EXPECT_EQ(abi::kMaxOpcode, 53u);
  EXPECT_EQ(abi::FUSE_NOTIFY_RESEND, 7);
  EXPECT_EQ(abi::FUSE_NOTIFY_INC_EPOCH, 8);
  EXPECT_EQ(abi::FUSE_NOTIFY_PRUNE, 9);
}

// FUSE over io_uring (protocol 7.42, include/uapi/linux/fuse.h of Linux
// 6.14+): written by hand because Debian 12's header predates it.
TEST(AbiNewerThanSystemHeader, IoUringLayouts) {
  EXPECT_EQ(abi::FUSE_OVER_IO_URING, 1ULL << 41);
  EXPECT_EQ(abi::FUSE_URING_IN_OUT_HEADER_SZ, 128u);
  EXPECT_EQ(abi::FUSE_URING_OP_IN_OUT_SZ, 128u);
  EXPECT_EQ(sizeof(abi::fuse_uring_ent_in_out), 32u);
  EXPECT_EQ(offsetof(abi::fuse_uring_ent_in_out, flags), 0u);
  EXPECT_EQ(offsetof(abi::fuse_uring_ent_in_out, commit_id), 8u);
  EXPECT_EQ(offsetof(abi::fuse_uring_ent_in_out, payload_sz), 16u);
  EXPECT_EQ(offsetof(abi::fuse_uring_ent_in_out, reserved), 24u);
  EXPECT_EQ(sizeof(abi::fuse_uring_req_header), 288u);
  EXPECT_EQ(offsetof(abi::fuse_uring_req_header, in_out), 0u);
  EXPECT_EQ(offsetof(abi::fuse_uring_req_header, op_in), 128u);
  EXPECT_EQ(offsetof(abi::fuse_uring_req_header, ring_ent_in_out), 256u);
  EXPECT_EQ(sizeof(abi::fuse_uring_cmd_req), 24u);
  EXPECT_EQ(offsetof(abi::fuse_uring_cmd_req, commit_id), 8u);
  EXPECT_EQ(offsetof(abi::fuse_uring_cmd_req, qid), 16u);
  // It must fit the 80-byte command area of a 128-byte SQE.
  EXPECT_LE(sizeof(abi::fuse_uring_cmd_req), 80u);
  EXPECT_EQ(abi::FUSE_IO_URING_CMD_REGISTER, 1u);
  EXPECT_EQ(abi::FUSE_IO_URING_CMD_COMMIT_AND_FETCH, 2u);
  EXPECT_EQ(abi::kUringIovSegments, 2u);
  // The in-header and any fixed argument must fit in front of the payload
  // when a ring request is rebuilt contiguously (transport/uring.cc).
  EXPECT_LE(sizeof(abi::fuse_in_header) + abi::FUSE_URING_OP_IN_OUT_SZ, 4096u);
  EXPECT_LE(sizeof(abi::fuse_out_header), abi::FUSE_URING_IN_OUT_HEADER_SZ);
}

TEST(AbiIoctls, CloneMatchesSystemHeader) {
  EXPECT_EQ(static_cast<uint64_t>(abi::FUSE_DEV_IOC_CLONE), SystemHeader().dev_ioc_clone);
  EXPECT_EQ(abi::FUSE_DEV_IOC_CLONE, static_cast<unsigned long>(_IOR(229, 0, uint32_t)));
  EXPECT_EQ(abi::kDevIocMagic, 229u);
}

TEST(AbiIoctls, BackingOpenCloseMatchIoctlMacros) {
  struct SixteenBytes {
    char bytes[16];
  };
  EXPECT_EQ(abi::FUSE_DEV_IOC_BACKING_OPEN, static_cast<unsigned long>(_IOW(229, 1, SixteenBytes)));
  EXPECT_EQ(abi::FUSE_DEV_IOC_BACKING_CLOSE, static_cast<unsigned long>(_IOW(229, 2, uint32_t)));
  // Direction, size, type and number decoded back.
  EXPECT_EQ(_IOC_DIR(abi::FUSE_DEV_IOC_BACKING_OPEN), static_cast<unsigned>(_IOC_WRITE));
  EXPECT_EQ(_IOC_SIZE(abi::FUSE_DEV_IOC_BACKING_OPEN), sizeof(abi::fuse_backing_map));
  EXPECT_EQ(_IOC_TYPE(abi::FUSE_DEV_IOC_BACKING_CLOSE), 229u);
  EXPECT_EQ(_IOC_NR(abi::FUSE_DEV_IOC_BACKING_CLOSE), 2u);
  const SystemFuseHeader& sys = SystemHeader();
  if (sys.has_backing_ioctls) {
    EXPECT_EQ(static_cast<uint64_t>(abi::FUSE_DEV_IOC_BACKING_OPEN), sys.dev_ioc_backing_open);
    EXPECT_EQ(static_cast<uint64_t>(abi::FUSE_DEV_IOC_BACKING_CLOSE), sys.dev_ioc_backing_close);
  }
}

}  // namespace
}  // namespace ptfs::unit_test
