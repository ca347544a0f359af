// The FileSystem interface: what the session dispatches decoded requests to.
// This header, with the others in include/ptfs, stands alone: a filesystem
// (or a module in front of one) is written against it without anything from
// src/ (tests/api/standalone_test.cc builds a program against include/ alone).
//
// Contract for every method:
//  - It runs on a worker thread; many run concurrently, on the same or
//    different inodes. Implementations are thread-safe.
//  - It returns a value or a positive errno; the session encodes the reply
//    (the kernel hands the negated errno to the caller). A method returning
//    an error has taken no lookup reference and opened no handle.
//  - Methods returning Entry (or Created) hand one lookup reference for
//    entry.node to the kernel, which gives it back through Forget. When the
//    reply cannot be delivered (the caller was interrupted), the session
//    gives it back itself (Forget, and Release for a handle), so counts
//    always balance.
//  - `ctx` is the caller: its uid, gid, pid and (when the kernel sends them)
//    supplementary groups. A filesystem that acts on the caller's behalf
//    checks or assumes those credentials.
//  - The defaults below answer ENOSYS. For the ops marked "remembered" the
//    kernel then stops sending that op for the connection's life and does
//    what it says; for the others ENOSYS is just the caller's error.
#pragma once

#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <sys/statvfs.h>

#include "ptfs/result.h"
#include "ptfs/types.h"

namespace ptfs {

// Collects directory entries for READDIR / READDIRPLUS into the reply buffer.
class DirentSink {
 public:
  virtual ~DirentSink() = default;
  // True for READDIRPLUS: call AddPlus, otherwise Add.
  virtual bool plus() const = 0;
  // Whether an entry named `name` still fits. Check before taking a lookup
  // reference for READDIRPLUS, so that no reference is taken for an entry
  // that is then not sent.
  virtual bool Fits(std::string_view name) const = 0;
  // `next_offset` is the offset at which listing continues after this entry.
  virtual void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next_offset) = 0;
  // entry.node == 0 (for "." and "..") sends attributes without a reference.
  virtual void AddPlus(std::string_view name, const Entry& entry, uint64_t next_offset) = 0;
};

// What INIT negotiated, for the filesystem's information.
struct ConnectionInfo {
  uint32_t proto_minor = 0;
  uint64_t flags = 0;          // FUSE_* INIT flags in force
  uint64_t offered_flags = 0;  // what the kernel offered
  uint32_t max_write = 0;
  uint32_t max_readahead = 0;
  // The kernel performs inode ops on backing inodes (the draft protocol):
  // entries get their backing through AttachInodeBacking, and nodeids must
  // equal the backing inodes' st_ino.
  bool inode_passthrough = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // ---- the connection

  // Called once INIT is negotiated, before any other op.
  virtual void Init(const ConnectionInfo& /*info*/) {}
  // DESTROY, or the end of the session; no op follows.
  virtual void Destroy() {}

  // ---- names and lookup references

  // LOOKUP of `name` in directory `parent`. An Entry with node 0 is a
  // negative entry: the name does not exist and the kernel may remember
  // that for entry_timeout (answering ENOENT instead: it may not). Errors:
  // ENOENT, EACCES, ENOTDIR, ENAMETOOLONG, ...
  virtual Result<Entry> Lookup(const Context& /*ctx*/, NodeId /*parent*/,
                               std::string_view /*name*/) {
    return Errno(ENOSYS);
  }
  // FORGET and BATCH_FORGET: the kernel drops `nlookup` of the references it
  // was handed (the inode left its cache). No reply, never fails; unknown
  // nodes are ignored. Once a node's count reaches 0 its id may be reused.
  virtual void Forget(NodeId /*node*/, uint64_t /*nlookup*/) {}
  // Inode passthrough (only when ConnectionInfo::inode_passthrough): the
  // backing the kernel should attach to `node`, registered with `inode_ops`
  // (the final mask of the entry, after any policy layer cleared bits) and
  // held until the node is forgotten. BackingId{0}: none, the ops are served.
  virtual BackingId AttachInodeBacking(NodeId /*node*/, uint32_t /*inode_ops*/) {
    return BackingId{};
  }

  // The path of `node` relative to the root ("" for the root, "a/b" below
  // it), as it is now; for modules whose policy names paths (hide, read-only
  // subtrees, audit). Not a request: no caller, no reference taken. ENOENT
  // when the node has no name under the root any more (removed, or moved
  // out); with several names (hard links), one of them.
  virtual Result<std::string> PathOf(NodeId /*node*/) { return Errno(ENOSYS); }
  // The same, possibly from a cache that changes through the filesystem
  // itself keep exact, while a change made behind its back (on the host)
  // may show a moment late, and a file removed may be answered with the
  // name it had: for policies that only report paths (an audit log), where
  // a readlink and a stat per request would cost a fair part of the
  // request. Policies that decide with a path use PathOf.
  virtual Result<std::string> PathOfRecent(NodeId node) { return PathOf(node); }

  // ---- attributes

  // GETATTR: `fh` is the caller's open file when it asked through one
  // (fstat), else null. Not sent for inodes whose getattr passes through.
  virtual Result<Attr> GetAttr(const Context& /*ctx*/, NodeId /*node*/,
                               const FileHandle* /*fh*/) {
    return Errno(ENOSYS);
  }
  // STATX (protocol 7.39+): `sx_mask` the STATX_* fields wanted, `sx_flags`
  // AT_STATX_* sync hints. Remembered: with ENOSYS the kernel asks GETATTR.
  virtual Result<Attr> Statx(const Context& /*ctx*/, NodeId /*node*/, const FileHandle* /*fh*/,
                             uint32_t /*sx_flags*/, uint32_t /*sx_mask*/) {
    return Errno(ENOSYS);
  }
  // SETATTR: change what `in.valid` names (chmod, chown, truncate, utimes),
  // as the caller, and answer the attributes after the change.
  // FATTR_KILL_SUIDGID asks to clear S_ISUID/S_ISGID as that caller's
  // change would natively (the kernel sets it without knowing the file).
  virtual Result<Attr> SetAttr(const Context& /*ctx*/, NodeId /*node*/,
                               const SetAttrIn& /*in*/) {
    return Errno(ENOSYS);
  }
  // READLINK: the symlink's target, as stored.
  virtual Result<std::string> ReadLink(const Context& /*ctx*/, NodeId /*node*/) {
    return Errno(ENOSYS);
  }
  // ACCESS(mask of R_OK, W_OK, X_OK; 0 for existence): sent only without
  // default_permissions (access(2), chdir, execve). Remembered: ENOSYS makes
  // the kernel allow every later check.
  virtual Errno Access(const Context& /*ctx*/, NodeId /*node*/, uint32_t /*mask*/) {
    return Errno(ENOSYS);
  }
  // STATFS of the filesystem holding `node`.
  virtual Result<struct statvfs> StatFs(const Context& /*ctx*/, NodeId /*node*/) {
    return Errno(ENOSYS);
  }

  // ---- creating, linking, removing and renaming names
  //
  // `umask` is the caller's umask. The kernel has already applied it to
  // `mode` unless INIT negotiated FUSE_DONT_MASK; then the filesystem
  // applies it, as the host would, after any default ACL. Each creating op
  // answers the new entry with a lookup reference; EEXIST when the name
  // exists.

  virtual Result<Entry> Symlink(const Context& /*ctx*/, NodeId /*parent*/,
                                std::string_view /*name*/, std::string_view /*target*/) {
    return Errno(ENOSYS);
  }
  // MKNOD: a regular file (when CREATE is not offered), fifo, socket or
  // device node (`rdev`).
  virtual Result<Entry> MkNod(const Context& /*ctx*/, NodeId /*parent*/,
                              std::string_view /*name*/, uint32_t /*mode*/, uint32_t /*rdev*/,
                              uint32_t /*umask*/) {
    return Errno(ENOSYS);
  }
  virtual Result<Entry> MkDir(const Context& /*ctx*/, NodeId /*parent*/,
                              std::string_view /*name*/, uint32_t /*mode*/, uint32_t /*umask*/) {
    return Errno(ENOSYS);
  }
  // LINK: a new name for `node`; answers `node`'s entry with one more
  // lookup reference.
  virtual Result<Entry> Link(const Context& /*ctx*/, NodeId /*node*/, NodeId /*new_parent*/,
                             std::string_view /*new_name*/) {
    return Errno(ENOSYS);
  }
  // UNLINK and RMDIR: the kernel keeps its references to the inode (open
  // files stay usable); they come back through Forget.
  virtual Errno Unlink(const Context& /*ctx*/, NodeId /*parent*/, std::string_view /*name*/) {
    return Errno(ENOSYS);
  }
  virtual Errno RmDir(const Context& /*ctx*/, NodeId /*parent*/, std::string_view /*name*/) {
    return Errno(ENOSYS);
  }
  // RENAME and RENAME2. With flags and ENOSYS, remembered: the kernel then
  // answers EINVAL to every rename with flags.
  virtual Errno Rename(const Context& /*ctx*/, NodeId /*parent*/, std::string_view /*name*/,
                       NodeId /*new_parent*/, std::string_view /*new_name*/,
                       RenameFlags /*flags*/) {
    return Errno(ENOSYS);
  }

  // ---- open files
  //
  // Open, Create, TmpFile and OpenDir answer a handle the kernel passes back
  // with every op on that open file until Release/ReleaseDir, plus FOPEN_*
  // flags (FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_PASSTHROUGH with a
  // registered backing id: the kernel then reads and writes the backing file
  // itself and sends no READ/WRITE). If the reply cannot be delivered the
  // session releases the handle.

  // OPEN of `node`, as the caller (SOURCE's permission check is the
  // caller's). Remembered, with FUSE_NO_OPEN_SUPPORT: ENOSYS makes every
  // later open succeed without asking, with handle 0.
  virtual Result<Opened> Open(const Context& /*ctx*/, NodeId /*node*/, OpenFlags /*flags*/) {
    return Errno(ENOSYS);
  }
  // CREATE: open `name`, creating it with `mode` if absent (EEXIST if it
  // exists and flags.posix has O_EXCL). Answers the entry (with a lookup
  // reference) and the open handle. Remembered: with ENOSYS the kernel
  // uses MKNOD then OPEN.
  virtual Result<Created> Create(const Context& /*ctx*/, NodeId /*parent*/,
                                 std::string_view /*name*/, OpenFlags /*flags*/,
                                 uint32_t /*mode*/, uint32_t /*umask*/) {
    return Errno(ENOSYS);
  }
  // TMPFILE: an unnamed file in `parent` (open(2) with O_TMPFILE), opened.
  // Remembered: ENOSYS answers EOPNOTSUPP to later O_TMPFILE opens.
  virtual Result<Created> TmpFile(const Context& /*ctx*/, NodeId /*parent*/,
                                  OpenFlags /*flags*/, uint32_t /*mode*/, uint32_t /*umask*/) {
    return Errno(ENOSYS);
  }
  // READ into `out` (its size is the request's size); returns the bytes
  // read. Fewer than asked means end of file (unless FOPEN_DIRECT_IO).
  virtual Result<size_t> Read(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                              uint64_t /*offset*/, std::span<char> /*out*/) {
    return Errno(ENOSYS);
  }
  // WRITE of `data`; returns the bytes written (a short count is passed on
  // to the caller, as write(2) would).
  virtual Result<size_t> Write(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                               uint64_t /*offset*/, std::span<const char> /*data*/,
                               WriteFlags /*flags*/) {
    return Errno(ENOSYS);
  }
  // FLUSH, at every close(2) of a descriptor of the open file (several
  // times for dup'ed descriptors): report deferred write errors, and drop
  // the POSIX locks `lock_owner` holds on the file. The error goes to
  // close(2). Remembered: ENOSYS makes every later close succeed.
  virtual Errno Flush(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                      uint64_t /*lock_owner*/) {
    return Errno(ENOSYS);
  }
  // RELEASE, once the last descriptor is gone: free the handle.
  // `release_flags` are FUSE_RELEASE_* (FLUSH, FLOCK_UNLOCK with
  // `lock_owner`). Its error is ignored: close has already returned.
  virtual Errno Release(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                        uint32_t /*release_flags*/, uint64_t /*lock_owner*/) {
    return Errno::Ok();
  }
  // FSYNC (fsync(2), or fdatasync(2) with SyncKind::kDataOnly).
  // Remembered: ENOSYS makes every later fsync succeed.
  virtual Errno Fsync(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                      SyncKind /*kind*/) {
    return Errno(ENOSYS);
  }
  // FALLOCATE with fallocate(2)'s mode (FALLOC_FL_*). Remembered: ENOSYS
  // answers EOPNOTSUPP to later calls.
  virtual Errno Fallocate(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                          uint32_t /*mode*/, uint64_t /*offset*/, uint64_t /*length*/) {
    return Errno(ENOSYS);
  }
  // LSEEK, sent for SEEK_DATA and SEEK_HOLE only (the kernel does the
  // others); returns the new offset. Remembered: with ENOSYS the kernel
  // treats the whole file as data.
  virtual Result<uint64_t> Lseek(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                                 uint64_t /*offset*/, uint32_t /*whence*/) {
    return Errno(ENOSYS);
  }
  // COPY_FILE_RANGE between two open files of this filesystem; returns the
  // bytes copied. Remembered: with ENOSYS the kernel copies through READ
  // and WRITE.
  virtual Result<uint64_t> CopyFileRange(const Context& /*ctx*/, NodeId /*node_in*/,
                                         FileHandle /*fh_in*/, uint64_t /*off_in*/,
                                         NodeId /*node_out*/, FileHandle /*fh_out*/,
                                         uint64_t /*off_out*/, uint64_t /*len*/,
                                         uint64_t /*flags*/) {
    return Errno(ENOSYS);
  }

  // ---- record locks (only when INIT negotiated POSIX/flock locks)

  // GETLK: the first lock of another owner that conflicts with `lock`, or
  // `lock` with type F_UNLCK if none.
  virtual Result<LockIn> GetLk(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                               uint64_t /*owner*/, const LockIn& /*lock*/) {
    return Errno(ENOSYS);
  }
  // SETLK and SETLKW. Never waits: a conflicting lock answers EAGAIN (or
  // EACCES). Waiting (SETLKW) is the session's job: it parks the request
  // and retries, so no worker thread ever blocks on a lock.
  virtual Errno SetLk(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                      uint64_t /*owner*/, const LockIn& /*lock*/, LockKind /*kind*/) {
    return Errno(ENOSYS);
  }

  // ---- open directories

  // OPENDIR: a handle for ReadDir (FOPEN_CACHE_DIR lets the kernel keep the
  // listing). Remembered, with FUSE_NO_OPENDIR_SUPPORT: ENOSYS makes every
  // later opendir succeed without asking (no RELEASEDIR either), handle 0.
  virtual Result<Opened> OpenDir(const Context& /*ctx*/, NodeId /*node*/, OpenFlags /*flags*/) {
    return Errno(ENOSYS);
  }
  // READDIR and READDIRPLUS (sink.plus()) from `offset`: 0 is the start,
  // otherwise a next_offset given with an earlier entry. Add entries while
  // sink.Fits(); returning with none added means the end. An error after
  // some entries were added is dropped: the entries are sent and the
  // caller sees the error on its next call. For READDIRPLUS each entry
  // with a non-zero node hands the kernel a lookup reference.
  virtual Errno ReadDir(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                        uint64_t /*offset*/, DirentSink& /*sink*/) {
    return Errno(ENOSYS);
  }
  // RELEASEDIR: free the handle; its error is ignored.
  virtual Errno ReleaseDir(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/) {
    return Errno::Ok();
  }
  // FSYNCDIR. Remembered: ENOSYS makes every later one succeed.
  virtual Errno FsyncDir(const Context& /*ctx*/, NodeId /*node*/, FileHandle /*fh*/,
                         SyncKind /*kind*/) {
    return Errno(ENOSYS);
  }

  // ---- extended attributes (each remembered: with ENOSYS the kernel
  // answers EOPNOTSUPP to that call from then on)

  // SETXATTR with setxattr(2)'s flags (XATTR_CREATE, XATTR_REPLACE).
  virtual Errno SetXattr(const Context& /*ctx*/, NodeId /*node*/, std::string_view /*name*/,
                         std::span<const char> /*value*/, uint32_t /*flags*/) {
    return Errno(ENOSYS);
  }
  // With an empty `out`, returns the value's size (a size probe). Otherwise
  // fills `out` and returns the size, or ERANGE if it does not fit. ENODATA:
  // no such attribute.
  virtual Result<size_t> GetXattr(const Context& /*ctx*/, NodeId /*node*/,
                                  std::string_view /*name*/, std::span<char> /*out*/) {
    return Errno(ENOSYS);
  }
  // The names, each NUL-terminated; `out` as for GetXattr.
  virtual Result<size_t> ListXattr(const Context& /*ctx*/, NodeId /*node*/,
                                   std::span<char> /*out*/) {
    return Errno(ENOSYS);
  }
  virtual Errno RemoveXattr(const Context& /*ctx*/, NodeId /*node*/, std::string_view /*name*/) {
    return Errno(ENOSYS);
  }

  // ---- the whole filesystem

  // SYNCFS (syncfs(2) on the mount). Remembered: ENOSYS makes later ones
  // succeed.
  virtual Errno SyncFs(const Context& /*ctx*/, NodeId /*node*/) { return Errno(ENOSYS); }
};

}  // namespace ptfs
