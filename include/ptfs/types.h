// Value types of the public embedding API. Distinct types for the kernel's ids
// so that a nodeid can never be passed where a file handle is expected.
#pragma once

#include <fcntl.h>
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
    return Timeout{
        static_cast<uint64_t>(s),
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
  // Regular files: READ and WRITE of the opens answered with the inode's
  // backing (FOPEN_PASSTHROUGH). Added by the filesystem that registers the
  // backing when its data path is kernel passthrough; not a user choice.
  kInodeOpData = 1U << 3,
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
  static constexpr uint32_t kOpenDirectIo = 1U << 0;     // FOPEN_DIRECT_IO
  static constexpr uint32_t kOpenKeepCache = 1U << 1;    // FOPEN_KEEP_CACHE
  static constexpr uint32_t kOpenPassthrough = 1U << 7;  // FOPEN_PASSTHROUGH

  FileHandle fh;
  uint32_t open_flags = 0;
  BackingId backing;

  // Every read and write of this open reaches the server (the filesystem
  // below serves them from its own fd) instead of the backing file: what a
  // module that must see the data does to the answer it passes up. Only
  // this open changes. It becomes a direct-I/O open, because the kernel
  // refuses cached and passthrough opens of one inode at the same time
  // (ETXTBSY), while direct-I/O opens may sit beside passthrough ones; so
  // the page cache is not used for it, and a shared mapping of it follows
  // the kernel's direct-I/O mmap rules.
  void ServeData() {
    open_flags = (open_flags & ~(kOpenPassthrough | kOpenKeepCache)) | kOpenDirectIo;
    backing = BackingId{};
  }
  bool passthrough() const { return (open_flags & kOpenPassthrough) != 0; }
};

struct Created {
  Entry entry;
  Opened open;
};

// SETATTR, decoded: only the fields named in `valid` (FATTR_*) are meaningful.
struct SetAttrIn {
  // Bits of `valid` (the kernel's FATTR_* values).
  static constexpr uint32_t kMode = 1U << 0;
  static constexpr uint32_t kUid = 1U << 1;
  static constexpr uint32_t kGid = 1U << 2;
  static constexpr uint32_t kSize = 1U << 3;
  static constexpr uint32_t kAtime = 1U << 4;
  static constexpr uint32_t kMtime = 1U << 5;
  static constexpr uint32_t kFh = 1U << 6;
  static constexpr uint32_t kAtimeNow = 1U << 7;
  static constexpr uint32_t kMtimeNow = 1U << 8;
  static constexpr uint32_t kCtime = 1U << 10;
  static constexpr uint32_t kKillSuidgid = 1U << 11;

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
  uint64_t end = 0;   // inclusive; UINT64_MAX = to EOF
  uint32_t type = 0;  // F_RDLCK, F_WRLCK, F_UNLCK
  uint32_t pid = 0;
};

// The flags of OPEN, CREATE, TMPFILE and OPENDIR.
struct OpenFlags {
  // As the caller gave them to open(2): O_ACCMODE, O_APPEND, O_TRUNC,
  // O_DIRECT, O_SYNC, ... The kernel never passes O_CREAT or O_NOCTTY, and
  // O_EXCL only with CREATE; for execve(2) it opens with O_RDONLY plus
  // kOpenForExec (its __FMODE_EXEC), where only execute permission is needed.
  uint32_t posix = 0;
  // FUSE_OPEN_KILL_SUIDGID (OPEN and CREATE): the open truncates and the
  // caller lacks CAP_FSETID, so S_ISUID/S_ISGID must be cleared as a
  // truncate(2) by that caller would.
  bool kill_suidgid = false;

  static constexpr uint32_t kOpenForExec = 0x20;
  int access_mode() const { return static_cast<int>(posix) & O_ACCMODE; }
  bool for_exec() const { return (posix & kOpenForExec) != 0; }
  friend bool operator==(const OpenFlags&, const OpenFlags&) = default;
};

// What the kernel says about a WRITE besides its data.
struct WriteFlags {
  // FUSE_WRITE_KILL_SUIDGID: the writer lacks CAP_FSETID; clear S_ISUID and
  // S_ISGID first, as write(2) by that caller would.
  bool kill_suidgid = false;
  // FUSE_WRITE_CACHE: a writeback of cached pages (writeback cache), not one
  // caller's write(2); the Context is then not the writer's.
  bool from_page_cache = false;
  friend bool operator==(const WriteFlags&, const WriteFlags&) = default;
};

// RENAME2's flags, renameat2(2)'s values (RENAME and RENAME2 without flags:
// none).
struct RenameFlags {
  static constexpr uint32_t kNoReplace = 1U << 0;  // RENAME_NOREPLACE
  static constexpr uint32_t kExchange = 1U << 1;   // RENAME_EXCHANGE
  static constexpr uint32_t kWhiteout = 1U << 2;   // RENAME_WHITEOUT
  uint32_t bits = 0;
  bool noreplace() const { return (bits & kNoReplace) != 0; }
  bool exchange() const { return (bits & kExchange) != 0; }
  friend bool operator==(const RenameFlags&, const RenameFlags&) = default;
};

enum class LockKind { kPosix, kFlock };
enum class SyncKind { kFull, kDataOnly };

}  // namespace ptfs
