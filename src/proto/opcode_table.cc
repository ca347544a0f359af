#include "proto/opcode_table.h"

#include <array>

#include "abi/fuse_abi.h"

namespace ptfs::proto {
namespace {
using namespace ptfs::abi;  // NOLINT: wire names read best unqualified here

// One row per opcode, in wire order (its length is the protocol's: a row
// per opcode reads better than any grouping would).
constexpr std::array<OpInfo, kMaxOpcode + 1> MakeTable() {
  std::array<OpInfo, kMaxOpcode + 1> t{};
  auto set = [&t](uint32_t op, const char* name, uint32_t fixed, Strings s = Strings::kNone,
                  Payload p = Payload::kNone, bool answered = true, bool needs_node = true) {
    t[op] = OpInfo{name, fixed, s, p, answered, needs_node};
  };
  set(FUSE_LOOKUP, "LOOKUP", 0, Strings::kLookupName);
  set(FUSE_FORGET, "FORGET", sizeof(fuse_forget_in), Strings::kNone, Payload::kNone, false, false);
  set(FUSE_GETATTR, "GETATTR", sizeof(fuse_getattr_in));
  set(FUSE_SETATTR, "SETATTR", sizeof(fuse_setattr_in));
  set(FUSE_READLINK, "READLINK", 0);
  set(FUSE_SYMLINK, "SYMLINK", 0, Strings::kNameAndPath);
  set(FUSE_MKNOD, "MKNOD", sizeof(fuse_mknod_in), Strings::kName);
  set(FUSE_MKDIR, "MKDIR", sizeof(fuse_mkdir_in), Strings::kName);
  set(FUSE_UNLINK, "UNLINK", 0, Strings::kName);
  set(FUSE_RMDIR, "RMDIR", 0, Strings::kName);
  set(FUSE_RENAME, "RENAME", sizeof(fuse_rename_in), Strings::kTwoNames);
  set(FUSE_LINK, "LINK", sizeof(fuse_link_in), Strings::kName);
  set(FUSE_OPEN, "OPEN", sizeof(fuse_open_in));
  set(FUSE_READ, "READ", sizeof(fuse_read_in));
  set(FUSE_WRITE, "WRITE", sizeof(fuse_write_in), Strings::kNone, Payload::kWriteData);
  set(FUSE_STATFS, "STATFS", 0);
  set(FUSE_RELEASE, "RELEASE", sizeof(fuse_release_in));
  set(FUSE_FSYNC, "FSYNC", sizeof(fuse_fsync_in));
  // SETXATTR's fixed size depends on FUSE_SETXATTR_EXT; the decoder adjusts it.
  set(FUSE_SETXATTR, "SETXATTR", kCompatSetxattrInSize, Strings::kXattrAndValue);
  set(FUSE_GETXATTR, "GETXATTR", sizeof(fuse_getxattr_in), Strings::kXattrName);
  set(FUSE_LISTXATTR, "LISTXATTR", sizeof(fuse_getxattr_in));
  set(FUSE_REMOVEXATTR, "REMOVEXATTR", 0, Strings::kXattrName);
  set(FUSE_FLUSH, "FLUSH", sizeof(fuse_flush_in));
  set(FUSE_INIT, "INIT", kCompatInitInSize, Strings::kNone, Payload::kAny, true, false);
  set(FUSE_OPENDIR, "OPENDIR", sizeof(fuse_open_in));
  set(FUSE_READDIR, "READDIR", sizeof(fuse_read_in));
  set(FUSE_RELEASEDIR, "RELEASEDIR", sizeof(fuse_release_in));
  set(FUSE_FSYNCDIR, "FSYNCDIR", sizeof(fuse_fsync_in));
  set(FUSE_GETLK, "GETLK", sizeof(fuse_lk_in));
  set(FUSE_SETLK, "SETLK", sizeof(fuse_lk_in));
  set(FUSE_SETLKW, "SETLKW", sizeof(fuse_lk_in));
  set(FUSE_ACCESS, "ACCESS", sizeof(fuse_access_in));
  set(FUSE_CREATE, "CREATE", sizeof(fuse_create_in), Strings::kName);
  set(FUSE_INTERRUPT, "INTERRUPT", sizeof(fuse_interrupt_in), Strings::kNone, Payload::kNone,
      false, false);
  set(FUSE_BMAP, "BMAP", sizeof(fuse_bmap_in));
  set(FUSE_DESTROY, "DESTROY", 0, Strings::kNone, Payload::kNone, true, false);
  set(FUSE_IOCTL, "IOCTL", sizeof(fuse_ioctl_in), Strings::kNone, Payload::kAny);
  set(FUSE_POLL, "POLL", sizeof(fuse_poll_in));
  set(FUSE_NOTIFY_REPLY, "NOTIFY_REPLY", 0, Strings::kNone, Payload::kAny, false, false);
  set(FUSE_BATCH_FORGET, "BATCH_FORGET", sizeof(fuse_batch_forget_in), Strings::kNone,
      Payload::kForgetArray, false, false);
  set(FUSE_FALLOCATE, "FALLOCATE", sizeof(fuse_fallocate_in));
  set(FUSE_READDIRPLUS, "READDIRPLUS", sizeof(fuse_read_in));
  set(FUSE_RENAME2, "RENAME2", sizeof(fuse_rename2_in), Strings::kTwoNames);
  set(FUSE_LSEEK, "LSEEK", sizeof(fuse_lseek_in));
  set(FUSE_COPY_FILE_RANGE, "COPY_FILE_RANGE", sizeof(fuse_copy_file_range_in));
  set(FUSE_SETUPMAPPING, "SETUPMAPPING", 0, Strings::kNone, Payload::kAny);
  set(FUSE_REMOVEMAPPING, "REMOVEMAPPING", 0, Strings::kNone, Payload::kAny);
  set(FUSE_SYNCFS, "SYNCFS", sizeof(fuse_syncfs_in));
  set(FUSE_TMPFILE, "TMPFILE", sizeof(fuse_create_in), Strings::kTmpName);
  set(FUSE_STATX, "STATX", sizeof(fuse_statx_in));
  set(FUSE_COPY_FILE_RANGE_64, "COPY_FILE_RANGE_64", sizeof(fuse_copy_file_range_in));
  return t;
}

constexpr auto kTable = MakeTable();
constexpr OpInfo kUnknown{};

}  // namespace

const OpInfo& LookupOp(uint32_t opcode) {
  if (opcode > kMaxOpcode) return kUnknown;
  return kTable[opcode];
}

const char* OpName(uint32_t opcode) {
  if (opcode == abi::CUSE_INIT) return "CUSE_INIT";
  const char* n = LookupOp(opcode).name;
  return n != nullptr ? n : "UNKNOWN";
}

}  // namespace ptfs::proto
