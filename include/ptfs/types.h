// Value types of the public embedding API. Distinct types for the kernel's ids
// so that a nodeid can never be passed where a file handle is expected.
#pragma once

#include <sys/stat.h>

#include <compare>
#include <cstdint>
#include <span>

namespace ptfs {

struct NodeId {
  uint64_t value = 0;
  friend auto operator<=>(NodeId, NodeId) = default;
};
struct FileHandle {
  uint64_t value = 0;
  friend auto operator<=>(FileHandle, FileHandle) = default;
};
struct BackingId {
  int32_t value = 0;  // 0 = none
  friend auto operator<=>(BackingId, BackingId) = default;
};

inline constexpr NodeId kRootNode{1};

// How long the kernel may cache an entry or attributes.
struct Timeout {
  uint64_t sec = 0;
  uint32_t nsec = 0;
  static constexpr Timeout Seconds(double s) {
    return Timeout{static_cast<uint64_t>(s),
                   static_cast<uint32_t>((s - static_cast<double>(static_cast<uint64_t>(s))) * 1e9)};
  }
  friend bool operator==(const Timeout&, const Timeout&) = default;
};

// Who asks. Filled from the request header (and the FUSE_EXT_GROUPS extension
// when the kernel sends it).
struct Context {
  uint64_t unique = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  std::span<const uint32_t> groups;  // supplementary groups, if the kernel sent them
};

// Inode operations the kernel may perform itself on an inode's backing
// inode, for the inode's whole life ("inode passthrough"). This is the
// server's own model, independent of any kernel ABI: a session adapter maps
// it to whatever the running kernel offers, or serves the ops itself.
enum InodeOps : uint32_t {
  kInodeOpGetattr = 1U << 0,  // GETATTR and STATX
  kInodeOpSetattr = 1U << 1,
  kInodeOpReaddir = 1U << 2,  // directories only
  kInodeOpsAll = kInodeOpGetattr | kInodeOpSetattr | kInodeOpReaddir,
};

// The answer to LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE and each
// READDIRPLUS entry. A non-zero `node` carries one kernel lookup reference.
struct Entry {
  NodeId node;
  uint64_t generation = 0;
  struct statx attr {};
  Timeout entry_timeout;
  Timeout attr_timeout;
  // InodeOps the filesystem would let the kernel do on the backing inode. A
  // policy decorator that must see an inode's getattr or readdir clears the
  // bits on the entries it passes up.
  uint32_t inode_passthrough_ops = 0;
};

struct Attr {
  struct statx attr {};
  Timeout timeout;
};

// What OPEN/CREATE/OPENDIR answer: the handle plus FOPEN_* flags and, for
// kernel passthrough, a registered backing id.
struct Opened {
  FileHandle fh;
  uint32_t open_flags = 0;
  BackingId backing;
};

struct Created {
  Entry entry;
  Opened open;
};

// SETATTR, decoded: only the fields named in `valid` (FATTR_*) are meaningful.
struct SetAttrIn {
  uint32_t valid = 0;
  FileHandle fh;  // meaningful with FATTR_FH
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  struct timespec atime {};  // tv_nsec may be UTIME_NOW
  struct timespec mtime {};
};

// A POSIX record lock or flock(2) request.
struct LockIn {
  uint64_t start = 0;
  uint64_t end = 0;  // inclusive; UINT64_MAX = to EOF
  uint32_t type = 0;  // F_RDLCK, F_WRLCK, F_UNLCK
  uint32_t pid = 0;
};

enum class RenameFlags : uint32_t {};  // RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT
enum class LockKind { kPosix, kFlock };
enum class SyncKind { kFull, kDataOnly };

}  // namespace ptfs
