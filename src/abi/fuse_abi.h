// The FUSE kernel protocol, version 7.45, written down as our own types.
//
// Every size, offset and number here is a fact of the documented protocol; the
// kernel's uapi header is deliberately not included, so that the build does not
// depend on how old the installed linux-libc-dev is (Debian 12 ships 7.38) and so
// that each field we rely on is visible and asserted. Wire structs keep the
// kernel's names so the case shows where the wire ends.
//
// Draft (unmerged) protocol extensions never go here: they live in their own
// header marked draft.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ptfs::abi {

inline constexpr uint32_t kKernelVersion = 7;       // major
inline constexpr uint32_t kKernelMinorVersion = 45;  // the newest we speak
inline constexpr uint32_t kMinSupportedMinor = 31;   // the oldest we accept
inline constexpr uint64_t kRootId = 1;               // FUSE_ROOT_ID
inline constexpr size_t kMinReadBuffer = 8192;       // FUSE_MIN_READ_BUFFER
inline constexpr size_t kDirentAlign = 8;            // FUSE_DIRENT_ALIGN

enum fuse_opcode : uint32_t {
  FUSE_LOOKUP = 1,
  FUSE_FORGET = 2,
  FUSE_GETATTR = 3,
  FUSE_SETATTR = 4,
  FUSE_READLINK = 5,
  FUSE_SYMLINK = 6,
  FUSE_MKNOD = 8,
  FUSE_MKDIR = 9,
  FUSE_UNLINK = 10,
  FUSE_RMDIR = 11,
  FUSE_RENAME = 12,
  FUSE_LINK = 13,
  FUSE_OPEN = 14,
  FUSE_READ = 15,
  FUSE_WRITE = 16,
  FUSE_STATFS = 17,
  FUSE_RELEASE = 18,
  FUSE_FSYNC = 20,
  FUSE_SETXATTR = 21,
  FUSE_GETXATTR = 22,
  FUSE_LISTXATTR = 23,
  FUSE_REMOVEXATTR = 24,
  FUSE_FLUSH = 25,
  FUSE_INIT = 26,
  FUSE_OPENDIR = 27,
  FUSE_READDIR = 28,
  FUSE_RELEASEDIR = 29,
  FUSE_FSYNCDIR = 30,
  FUSE_GETLK = 31,
  FUSE_SETLK = 32,
  FUSE_SETLKW = 33,
  FUSE_ACCESS = 34,
  FUSE_CREATE = 35,
  FUSE_INTERRUPT = 36,
  FUSE_BMAP = 37,
  FUSE_DESTROY = 38,
  FUSE_IOCTL = 39,
  FUSE_POLL = 40,
  FUSE_NOTIFY_REPLY = 41,
  FUSE_BATCH_FORGET = 42,
  FUSE_FALLOCATE = 43,
  FUSE_READDIRPLUS = 44,
  FUSE_RENAME2 = 45,
  FUSE_LSEEK = 46,
  FUSE_COPY_FILE_RANGE = 47,
  FUSE_SETUPMAPPING = 48,
  FUSE_REMOVEMAPPING = 49,
  FUSE_SYNCFS = 50,
  FUSE_TMPFILE = 51,
  FUSE_STATX = 52,
  FUSE_COPY_FILE_RANGE_64 = 53,
  CUSE_INIT = 4096,
};
inline constexpr uint32_t kMaxOpcode = 53;

enum fuse_notify_code : int32_t {
  FUSE_NOTIFY_POLL = 1,
  FUSE_NOTIFY_INVAL_INODE = 2,
  FUSE_NOTIFY_INVAL_ENTRY = 3,
  FUSE_NOTIFY_STORE = 4,
  FUSE_NOTIFY_RETRIEVE = 5,
  FUSE_NOTIFY_DELETE = 6,
  FUSE_NOTIFY_RESEND = 7,
  FUSE_NOTIFY_INC_EPOCH = 8,
  FUSE_NOTIFY_PRUNE = 9,
};

// A request the kernel queued again after FUSE_NOTIFY_RESEND carries this
// bit in its unique (the reply echoes it).
inline constexpr uint64_t FUSE_UNIQUE_RESEND = 1ULL << 63;

// INIT flags (fuse_init_in.flags | flags2 << 32).
inline constexpr uint64_t FUSE_ASYNC_READ = 1ULL << 0;
inline constexpr uint64_t FUSE_POSIX_LOCKS = 1ULL << 1;
inline constexpr uint64_t FUSE_FILE_OPS = 1ULL << 2;
inline constexpr uint64_t FUSE_ATOMIC_O_TRUNC = 1ULL << 3;
inline constexpr uint64_t FUSE_EXPORT_SUPPORT = 1ULL << 4;
inline constexpr uint64_t FUSE_BIG_WRITES = 1ULL << 5;
inline constexpr uint64_t FUSE_DONT_MASK = 1ULL << 6;
inline constexpr uint64_t FUSE_SPLICE_WRITE = 1ULL << 7;
inline constexpr uint64_t FUSE_SPLICE_MOVE = 1ULL << 8;
inline constexpr uint64_t FUSE_SPLICE_READ = 1ULL << 9;
inline constexpr uint64_t FUSE_FLOCK_LOCKS = 1ULL << 10;
inline constexpr uint64_t FUSE_HAS_IOCTL_DIR = 1ULL << 11;
inline constexpr uint64_t FUSE_AUTO_INVAL_DATA = 1ULL << 12;
inline constexpr uint64_t FUSE_DO_READDIRPLUS = 1ULL << 13;
inline constexpr uint64_t FUSE_READDIRPLUS_AUTO = 1ULL << 14;
inline constexpr uint64_t FUSE_ASYNC_DIO = 1ULL << 15;
inline constexpr uint64_t FUSE_WRITEBACK_CACHE = 1ULL << 16;
inline constexpr uint64_t FUSE_NO_OPEN_SUPPORT = 1ULL << 17;
inline constexpr uint64_t FUSE_PARALLEL_DIROPS = 1ULL << 18;
inline constexpr uint64_t FUSE_HANDLE_KILLPRIV = 1ULL << 19;
inline constexpr uint64_t FUSE_POSIX_ACL = 1ULL << 20;
inline constexpr uint64_t FUSE_ABORT_ERROR = 1ULL << 21;
inline constexpr uint64_t FUSE_MAX_PAGES = 1ULL << 22;
inline constexpr uint64_t FUSE_CACHE_SYMLINKS = 1ULL << 23;
inline constexpr uint64_t FUSE_NO_OPENDIR_SUPPORT = 1ULL << 24;
inline constexpr uint64_t FUSE_EXPLICIT_INVAL_DATA = 1ULL << 25;
inline constexpr uint64_t FUSE_MAP_ALIGNMENT = 1ULL << 26;
inline constexpr uint64_t FUSE_SUBMOUNTS = 1ULL << 27;
inline constexpr uint64_t FUSE_HANDLE_KILLPRIV_V2 = 1ULL << 28;
inline constexpr uint64_t FUSE_SETXATTR_EXT = 1ULL << 29;
inline constexpr uint64_t FUSE_INIT_EXT = 1ULL << 30;
inline constexpr uint64_t FUSE_INIT_RESERVED = 1ULL << 31;
inline constexpr uint64_t FUSE_SECURITY_CTX = 1ULL << 32;
inline constexpr uint64_t FUSE_HAS_INODE_DAX = 1ULL << 33;
inline constexpr uint64_t FUSE_CREATE_SUPP_GROUP = 1ULL << 34;
inline constexpr uint64_t FUSE_HAS_EXPIRE_ONLY = 1ULL << 35;
inline constexpr uint64_t FUSE_DIRECT_IO_ALLOW_MMAP = 1ULL << 36;
inline constexpr uint64_t FUSE_PASSTHROUGH = 1ULL << 37;
inline constexpr uint64_t FUSE_NO_EXPORT_SUPPORT = 1ULL << 38;
inline constexpr uint64_t FUSE_HAS_RESEND = 1ULL << 39;
inline constexpr uint64_t FUSE_ALLOW_IDMAP = 1ULL << 40;
inline constexpr uint64_t FUSE_OVER_IO_URING = 1ULL << 41;
inline constexpr uint64_t FUSE_REQUEST_TIMEOUT = 1ULL << 42;

// fuse_attr.flags
inline constexpr uint32_t FUSE_ATTR_SUBMOUNT = 1U << 0;
inline constexpr uint32_t FUSE_ATTR_DAX = 1U << 1;

// fuse_setattr_in.valid
inline constexpr uint32_t FATTR_MODE = 1U << 0;
inline constexpr uint32_t FATTR_UID = 1U << 1;
inline constexpr uint32_t FATTR_GID = 1U << 2;
inline constexpr uint32_t FATTR_SIZE = 1U << 3;
inline constexpr uint32_t FATTR_ATIME = 1U << 4;
inline constexpr uint32_t FATTR_MTIME = 1U << 5;
inline constexpr uint32_t FATTR_FH = 1U << 6;
inline constexpr uint32_t FATTR_ATIME_NOW = 1U << 7;
inline constexpr uint32_t FATTR_MTIME_NOW = 1U << 8;
inline constexpr uint32_t FATTR_LOCKOWNER = 1U << 9;
inline constexpr uint32_t FATTR_CTIME = 1U << 10;
inline constexpr uint32_t FATTR_KILL_SUIDGID = 1U << 11;

// fuse_open_out.open_flags
inline constexpr uint32_t FOPEN_DIRECT_IO = 1U << 0;
inline constexpr uint32_t FOPEN_KEEP_CACHE = 1U << 1;
inline constexpr uint32_t FOPEN_NONSEEKABLE = 1U << 2;
inline constexpr uint32_t FOPEN_CACHE_DIR = 1U << 3;
inline constexpr uint32_t FOPEN_STREAM = 1U << 4;
inline constexpr uint32_t FOPEN_NOFLUSH = 1U << 5;
inline constexpr uint32_t FOPEN_PARALLEL_DIRECT_WRITES = 1U << 6;
inline constexpr uint32_t FOPEN_PASSTHROUGH = 1U << 7;

// fuse_open_in.open_flags
inline constexpr uint32_t FUSE_OPEN_KILL_SUIDGID = 1U << 0;
// fuse_getattr_in.getattr_flags
inline constexpr uint32_t FUSE_GETATTR_FH = 1U << 0;
// fuse_release_in.release_flags
inline constexpr uint32_t FUSE_RELEASE_FLUSH = 1U << 0;
inline constexpr uint32_t FUSE_RELEASE_FLOCK_UNLOCK = 1U << 1;
// fuse_write_in.write_flags
inline constexpr uint32_t FUSE_WRITE_CACHE = 1U << 0;
inline constexpr uint32_t FUSE_WRITE_LOCKOWNER = 1U << 1;
inline constexpr uint32_t FUSE_WRITE_KILL_SUIDGID = 1U << 2;
// fuse_read_in.read_flags
inline constexpr uint32_t FUSE_READ_LOCKOWNER = 1U << 1;
// fuse_lk_in.lk_flags
inline constexpr uint32_t FUSE_LK_FLOCK = 1U << 0;
// fuse_fsync_in.fsync_flags
inline constexpr uint32_t FUSE_FSYNC_FDATASYNC = 1U << 0;
// fuse_setxattr_in.setxattr_flags
inline constexpr uint32_t FUSE_SETXATTR_ACL_KILL_SGID = 1U << 0;
// fuse_ioctl_in.flags
inline constexpr uint32_t FUSE_IOCTL_COMPAT = 1U << 0;
inline constexpr uint32_t FUSE_IOCTL_UNRESTRICTED = 1U << 1;
inline constexpr uint32_t FUSE_IOCTL_RETRY = 1U << 2;
inline constexpr uint32_t FUSE_IOCTL_32BIT = 1U << 3;
inline constexpr uint32_t FUSE_IOCTL_DIR = 1U << 4;
// fuse_poll_in.flags
inline constexpr uint32_t FUSE_POLL_SCHEDULE_NOTIFY = 1U << 0;

// Extension types in the request's trailing extension area (total_extlen).
inline constexpr uint32_t FUSE_MAX_NR_SECCTX = 31;
inline constexpr uint32_t FUSE_EXT_GROUPS = 32;

struct fuse_attr {
  uint64_t ino;
  uint64_t size;
  uint64_t blocks;
  uint64_t atime;
  uint64_t mtime;
  uint64_t ctime;
  uint32_t atimensec;
  uint32_t mtimensec;
  uint32_t ctimensec;
  uint32_t mode;
  uint32_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint32_t rdev;
  uint32_t blksize;
  uint32_t flags;
};

struct fuse_sx_time {
  int64_t tv_sec;
  uint32_t tv_nsec;
  int32_t reserved;
};

struct fuse_statx {
  uint32_t mask;
  uint32_t blksize;
  uint64_t attributes;
  uint32_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint16_t mode;
  uint16_t spare0[1];
  uint64_t ino;
  uint64_t size;
  uint64_t blocks;
  uint64_t attributes_mask;
  fuse_sx_time atime;
  fuse_sx_time btime;
  fuse_sx_time ctime;
  fuse_sx_time mtime;
  uint32_t rdev_major;
  uint32_t rdev_minor;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint64_t spare2[14];
};

struct fuse_kstatfs {
  uint64_t blocks;
  uint64_t bfree;
  uint64_t bavail;
  uint64_t files;
  uint64_t ffree;
  uint32_t bsize;
  uint32_t namelen;
  uint32_t frsize;
  uint32_t padding;
  uint32_t spare[6];
};

struct fuse_file_lock {
  uint64_t start;
  uint64_t end;
  uint32_t type;
  uint32_t pid;
};

struct fuse_in_header {
  uint32_t len;
  uint32_t opcode;
  uint64_t unique;
  uint64_t nodeid;
  uint32_t uid;
  uint32_t gid;
  uint32_t pid;
  uint16_t total_extlen;  // in units of 8 bytes
  uint16_t padding;
};

struct fuse_out_header {
  uint32_t len;
  int32_t error;  // 0 or a negated errno
  uint64_t unique;
};

struct fuse_entry_out {
  uint64_t nodeid;
  uint64_t generation;
  uint64_t entry_valid;
  uint64_t attr_valid;
  uint32_t entry_valid_nsec;
  uint32_t attr_valid_nsec;
  fuse_attr attr;
};

struct fuse_forget_in {
  uint64_t nlookup;
};
struct fuse_forget_one {
  uint64_t nodeid;
  uint64_t nlookup;
};
struct fuse_batch_forget_in {
  uint32_t count;
  uint32_t dummy;
};

struct fuse_getattr_in {
  uint32_t getattr_flags;
  uint32_t dummy;
  uint64_t fh;
};

struct fuse_attr_out {
  uint64_t attr_valid;
  uint32_t attr_valid_nsec;
  uint32_t dummy;
  fuse_attr attr;
};

struct fuse_statx_in {
  uint32_t getattr_flags;
  uint32_t reserved;
  uint64_t fh;
  uint32_t sx_flags;
  uint32_t sx_mask;
};

struct fuse_statx_out {
  uint64_t attr_valid;
  uint32_t attr_valid_nsec;
  uint32_t flags;
  uint64_t spare[2];
  fuse_statx stat;
};

struct fuse_mknod_in {
  uint32_t mode;
  uint32_t rdev;
  uint32_t umask;
  uint32_t padding;
};

struct fuse_mkdir_in {
  uint32_t mode;
  uint32_t umask;
};

struct fuse_rename_in {
  uint64_t newdir;
};

struct fuse_rename2_in {
  uint64_t newdir;
  uint32_t flags;
  uint32_t padding;
};

struct fuse_link_in {
  uint64_t oldnodeid;
};

struct fuse_setattr_in {
  uint32_t valid;
  uint32_t padding;
  uint64_t fh;
  uint64_t size;
  uint64_t lock_owner;
  uint64_t atime;
  uint64_t mtime;
  uint64_t ctime;
  uint32_t atimensec;
  uint32_t mtimensec;
  uint32_t ctimensec;
  uint32_t mode;
  uint32_t unused4;
  uint32_t uid;
  uint32_t gid;
  uint32_t unused5;
};

struct fuse_open_in {
  uint32_t flags;
  uint32_t open_flags;
};

struct fuse_create_in {
  uint32_t flags;
  uint32_t mode;
  uint32_t umask;
  uint32_t open_flags;
};

struct fuse_open_out {
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};

struct fuse_release_in {
  uint64_t fh;
  uint32_t flags;
  uint32_t release_flags;
  uint64_t lock_owner;
};

struct fuse_flush_in {
  uint64_t fh;
  uint32_t unused;
  uint32_t padding;
  uint64_t lock_owner;
};

struct fuse_read_in {
  uint64_t fh;
  uint64_t offset;
  uint32_t size;
  uint32_t read_flags;
  uint64_t lock_owner;
  uint32_t flags;
  uint32_t padding;
};

struct fuse_write_in {
  uint64_t fh;
  uint64_t offset;
  uint32_t size;
  uint32_t write_flags;
  uint64_t lock_owner;
  uint32_t flags;
  uint32_t padding;
};

struct fuse_write_out {
  uint32_t size;
  uint32_t padding;
};

struct fuse_statfs_out {
  fuse_kstatfs st;
};

struct fuse_fsync_in {
  uint64_t fh;
  uint32_t fsync_flags;
  uint32_t padding;
};

// Without FUSE_SETXATTR_EXT the kernel sends only the first 8 bytes.
inline constexpr size_t kCompatSetxattrInSize = 8;
struct fuse_setxattr_in {
  uint32_t size;
  uint32_t flags;
  uint32_t setxattr_flags;
  uint32_t padding;
};

struct fuse_getxattr_in {
  uint32_t size;
  uint32_t padding;
};

struct fuse_getxattr_out {
  uint32_t size;
  uint32_t padding;
};

struct fuse_lk_in {
  uint64_t fh;
  uint64_t owner;
  fuse_file_lock lk;
  uint32_t lk_flags;
  uint32_t padding;
};

struct fuse_lk_out {
  fuse_file_lock lk;
};

struct fuse_access_in {
  uint32_t mask;
  uint32_t padding;
};

// Kernels before 7.36 send only the first 16 bytes (no flags2).
inline constexpr size_t kCompatInitInSize = 16;
struct fuse_init_in {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint32_t flags2;
  uint32_t unused[11];
};

struct fuse_init_out {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint16_t max_background;
  uint16_t congestion_threshold;
  uint32_t max_write;
  uint32_t time_gran;
  uint16_t max_pages;
  uint16_t map_alignment;
  uint32_t flags2;
  uint32_t max_stack_depth;
  uint16_t request_timeout;
  uint16_t unused[11];
};

struct fuse_interrupt_in {
  uint64_t unique;
};

struct fuse_bmap_in {
  uint64_t block;
  uint32_t blocksize;
  uint32_t padding;
};

struct fuse_bmap_out {
  uint64_t block;
};

struct fuse_ioctl_in {
  uint64_t fh;
  uint32_t flags;
  uint32_t cmd;
  uint64_t arg;
  uint32_t in_size;
  uint32_t out_size;
};

struct fuse_ioctl_out {
  int32_t result;
  uint32_t flags;
  uint32_t in_iovs;
  uint32_t out_iovs;
};

struct fuse_poll_in {
  uint64_t fh;
  uint64_t kh;
  uint32_t flags;
  uint32_t events;
};

struct fuse_poll_out {
  uint32_t revents;
  uint32_t padding;
};

struct fuse_fallocate_in {
  uint64_t fh;
  uint64_t offset;
  uint64_t length;
  uint32_t mode;
  uint32_t padding;
};

struct fuse_dirent {
  uint64_t ino;
  uint64_t off;
  uint32_t namelen;
  uint32_t type;
  // char name[namelen], then zero padding to kDirentAlign.
};

struct fuse_direntplus {
  fuse_entry_out entry_out;
  fuse_dirent dirent;
};

struct fuse_lseek_in {
  uint64_t fh;
  uint64_t offset;
  uint32_t whence;
  uint32_t padding;
};

struct fuse_lseek_out {
  uint64_t offset;
};

struct fuse_copy_file_range_in {
  uint64_t fh_in;
  uint64_t off_in;
  uint64_t nodeid_out;
  uint64_t fh_out;
  uint64_t off_out;
  uint64_t len;
  uint64_t flags;
};

struct fuse_copy_file_range_out {
  uint64_t bytes_copied;
};

struct fuse_syncfs_in {
  uint64_t padding;
};

struct fuse_ext_header {
  uint32_t size;  // including this header, multiple of 8
  uint32_t type;
};

struct fuse_supp_groups {
  uint32_t nr_groups;
  // uint32_t groups[nr_groups];
};

// Notifications (server -> kernel, unique == 0, error == notify code).
struct fuse_notify_inval_inode_out {
  uint64_t ino;
  int64_t off;
  int64_t len;
};

// FUSE_NOTIFY_PRUNE (7.45): followed by `count` u64 nodeids.
struct fuse_notify_prune_out {
  uint32_t count;
  uint32_t padding;
  uint64_t spare;
};

struct fuse_notify_inval_entry_out {
  uint64_t parent;
  uint32_t namelen;
  uint32_t flags;
};

struct fuse_notify_delete_out {
  uint64_t parent;
  uint64_t child;
  uint32_t namelen;
  uint32_t padding;
};

// Device ioctls.
struct fuse_backing_map {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};

inline constexpr uint32_t kDevIocMagic = 229;
// _IOR(229, 0, uint32_t), _IOW(229, 1, fuse_backing_map), _IOW(229, 2, uint32_t)
inline constexpr unsigned long FUSE_DEV_IOC_CLONE = 0x8004e500UL;
inline constexpr unsigned long FUSE_DEV_IOC_BACKING_OPEN = 0x4010e501UL;
inline constexpr unsigned long FUSE_DEV_IOC_BACKING_CLOSE = 0x4004e502UL;
// _IO(229, 3), Linux 6.18: INIT is sent during mount(2), which waits for its
// answer. Issued on the /dev/fuse fd before mounting; ENOTTY before 6.18.
inline constexpr unsigned long FUSE_DEV_IOC_SYNC_INIT = 0xe503UL;

// FUSE over io_uring (protocol 7.42, Linux 6.14+; FUSE_OVER_IO_URING at INIT).
// Each ring entry registers two buffers: a header buffer laid out as
// fuse_uring_req_header and a payload buffer. For a request the kernel writes
// the fuse_in_header into `in_out`, the opcode's fixed argument (its first
// argument, possibly empty) into `op_in`, every further argument back to back
// into the payload buffer, and the payload length into ring_ent_in_out. For
// the reply the server writes a fuse_out_header into `in_out`, all reply
// arguments into the payload buffer and their length into
// ring_ent_in_out.payload_sz.
inline constexpr size_t FUSE_URING_IN_OUT_HEADER_SZ = 128;
inline constexpr size_t FUSE_URING_OP_IN_OUT_SZ = 128;

struct fuse_uring_ent_in_out {
  uint64_t flags;
  uint64_t commit_id;  // the request's unique, echoed in fuse_uring_cmd_req
  uint32_t payload_sz;  // bytes used in the payload buffer, either direction
  uint32_t padding;
  uint64_t reserved;
};

struct fuse_uring_req_header {
  char in_out[FUSE_URING_IN_OUT_HEADER_SZ];  // fuse_in_header / fuse_out_header
  char op_in[FUSE_URING_OP_IN_OUT_SZ];       // the opcode's fixed argument
  fuse_uring_ent_in_out ring_ent_in_out;
};

// io_uring_sqe.cmd_op of an IORING_OP_URING_CMD on a /dev/fuse fd.
enum fuse_uring_cmd : uint32_t {
  FUSE_IO_URING_CMD_INVALID = 0,
  FUSE_IO_URING_CMD_REGISTER = 1,          // register an entry; fetch a request
  FUSE_IO_URING_CMD_COMMIT_AND_FETCH = 2,  // reply to commit_id; fetch the next
};

// The command area of a 128-byte SQE (IORING_SETUP_SQE128: 80 bytes at 48).
struct fuse_uring_cmd_req {
  uint64_t flags;
  uint64_t commit_id;  // COMMIT_AND_FETCH: the unique being answered
  uint16_t qid;        // the queue (= CPU number) this entry belongs to
  uint8_t padding[6];
};
inline constexpr size_t kUringIovSegments = 2;  // header buffer, payload buffer

// ---- Sizes and offsets, as the kernel lays them out on x86_64 and arm64. ----
#define PTFS_ABI_SIZE(type, bytes) static_assert(sizeof(type) == (bytes), #type " size")
#define PTFS_ABI_OFF(type, field, bytes) \
  static_assert(offsetof(type, field) == (bytes), #type "." #field " offset")

PTFS_ABI_SIZE(fuse_attr, 88);
PTFS_ABI_OFF(fuse_attr, atimensec, 48);
PTFS_ABI_OFF(fuse_attr, mode, 60);
PTFS_ABI_OFF(fuse_attr, blksize, 80);
PTFS_ABI_SIZE(fuse_sx_time, 16);
PTFS_ABI_SIZE(fuse_statx, 256);
PTFS_ABI_OFF(fuse_statx, mode, 28);
PTFS_ABI_OFF(fuse_statx, ino, 32);
PTFS_ABI_OFF(fuse_statx, atime, 64);
PTFS_ABI_OFF(fuse_statx, rdev_major, 128);
PTFS_ABI_OFF(fuse_statx, spare2, 144);
PTFS_ABI_SIZE(fuse_kstatfs, 80);
PTFS_ABI_SIZE(fuse_notify_prune_out, 16);
PTFS_ABI_SIZE(fuse_file_lock, 24);
PTFS_ABI_SIZE(fuse_in_header, 40);
PTFS_ABI_OFF(fuse_in_header, unique, 8);
PTFS_ABI_OFF(fuse_in_header, nodeid, 16);
PTFS_ABI_OFF(fuse_in_header, uid, 24);
PTFS_ABI_OFF(fuse_in_header, total_extlen, 36);
PTFS_ABI_SIZE(fuse_out_header, 16);
PTFS_ABI_SIZE(fuse_entry_out, 128);
PTFS_ABI_OFF(fuse_entry_out, attr, 40);
PTFS_ABI_SIZE(fuse_forget_in, 8);
PTFS_ABI_SIZE(fuse_forget_one, 16);
PTFS_ABI_SIZE(fuse_batch_forget_in, 8);
PTFS_ABI_SIZE(fuse_getattr_in, 16);
PTFS_ABI_SIZE(fuse_attr_out, 104);
PTFS_ABI_SIZE(fuse_statx_in, 24);
PTFS_ABI_SIZE(fuse_statx_out, 288);
PTFS_ABI_OFF(fuse_statx_out, stat, 32);
PTFS_ABI_SIZE(fuse_mknod_in, 16);
PTFS_ABI_SIZE(fuse_mkdir_in, 8);
PTFS_ABI_SIZE(fuse_rename_in, 8);
PTFS_ABI_SIZE(fuse_rename2_in, 16);
PTFS_ABI_SIZE(fuse_link_in, 8);
PTFS_ABI_SIZE(fuse_setattr_in, 88);
PTFS_ABI_OFF(fuse_setattr_in, atime, 32);
PTFS_ABI_OFF(fuse_setattr_in, atimensec, 56);
PTFS_ABI_OFF(fuse_setattr_in, mode, 68);
PTFS_ABI_OFF(fuse_setattr_in, uid, 76);
PTFS_ABI_SIZE(fuse_open_in, 8);
PTFS_ABI_SIZE(fuse_create_in, 16);
PTFS_ABI_SIZE(fuse_open_out, 16);
PTFS_ABI_SIZE(fuse_release_in, 24);
PTFS_ABI_SIZE(fuse_flush_in, 24);
PTFS_ABI_SIZE(fuse_read_in, 40);
PTFS_ABI_SIZE(fuse_write_in, 40);
PTFS_ABI_SIZE(fuse_write_out, 8);
PTFS_ABI_SIZE(fuse_statfs_out, 80);
PTFS_ABI_SIZE(fuse_fsync_in, 16);
PTFS_ABI_SIZE(fuse_setxattr_in, 16);
PTFS_ABI_SIZE(fuse_getxattr_in, 8);
PTFS_ABI_SIZE(fuse_getxattr_out, 8);
PTFS_ABI_SIZE(fuse_lk_in, 48);
PTFS_ABI_OFF(fuse_lk_in, lk, 16);
PTFS_ABI_SIZE(fuse_lk_out, 24);
PTFS_ABI_SIZE(fuse_access_in, 8);
PTFS_ABI_SIZE(fuse_init_in, 64);
PTFS_ABI_OFF(fuse_init_in, flags2, 16);
PTFS_ABI_SIZE(fuse_init_out, 64);
PTFS_ABI_OFF(fuse_init_out, max_write, 20);
PTFS_ABI_OFF(fuse_init_out, max_pages, 28);
PTFS_ABI_OFF(fuse_init_out, flags2, 32);
PTFS_ABI_OFF(fuse_init_out, max_stack_depth, 36);
PTFS_ABI_OFF(fuse_init_out, request_timeout, 40);
PTFS_ABI_SIZE(fuse_interrupt_in, 8);
PTFS_ABI_SIZE(fuse_bmap_in, 16);
PTFS_ABI_SIZE(fuse_bmap_out, 8);
PTFS_ABI_SIZE(fuse_ioctl_in, 32);
PTFS_ABI_SIZE(fuse_ioctl_out, 16);
PTFS_ABI_SIZE(fuse_poll_in, 24);
PTFS_ABI_SIZE(fuse_poll_out, 8);
PTFS_ABI_SIZE(fuse_fallocate_in, 32);
PTFS_ABI_SIZE(fuse_dirent, 24);
PTFS_ABI_SIZE(fuse_direntplus, 152);
PTFS_ABI_SIZE(fuse_lseek_in, 24);
PTFS_ABI_SIZE(fuse_lseek_out, 8);
PTFS_ABI_SIZE(fuse_copy_file_range_in, 56);
PTFS_ABI_SIZE(fuse_copy_file_range_out, 8);
PTFS_ABI_SIZE(fuse_syncfs_in, 8);
PTFS_ABI_SIZE(fuse_ext_header, 8);
PTFS_ABI_SIZE(fuse_notify_inval_inode_out, 24);
PTFS_ABI_SIZE(fuse_notify_inval_entry_out, 16);
PTFS_ABI_SIZE(fuse_notify_delete_out, 24);
PTFS_ABI_SIZE(fuse_backing_map, 16);
PTFS_ABI_SIZE(fuse_uring_ent_in_out, 32);
PTFS_ABI_OFF(fuse_uring_ent_in_out, commit_id, 8);
PTFS_ABI_OFF(fuse_uring_ent_in_out, payload_sz, 16);
PTFS_ABI_SIZE(fuse_uring_req_header, 288);
PTFS_ABI_OFF(fuse_uring_req_header, op_in, 128);
PTFS_ABI_OFF(fuse_uring_req_header, ring_ent_in_out, 256);
PTFS_ABI_SIZE(fuse_uring_cmd_req, 24);
PTFS_ABI_OFF(fuse_uring_cmd_req, commit_id, 8);
PTFS_ABI_OFF(fuse_uring_cmd_req, qid, 16);

#undef PTFS_ABI_SIZE
#undef PTFS_ABI_OFF

}  // namespace ptfs::abi
