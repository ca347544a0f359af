// The FileSystem interface: what the session dispatches decoded requests to.
//
// Contract for every method:
//  - It runs on a worker thread; many run concurrently, on the same or different
//    inodes. Implementations are thread-safe.
//  - It returns a value or a positive errno; the session encodes the reply. A
//    method returning an error has taken no lookup reference.
//  - Methods returning Entry (or Created) hand one lookup reference for
//    entry.node to the kernel; the kernel gives it back through Forget.
//  - Default implementations answer ENOSYS, which the kernel remembers for most
//    ops (so it stops asking).
#pragma once

#include <sys/statvfs.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ptfs/types.h"
#include "util/result.h"

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

  // Called once INIT is negotiated, before any other op.
  virtual void Init(const ConnectionInfo& /*info*/) {}
  // DESTROY, or the end of the session.
  virtual void Destroy() {}

  // An Entry with node 0 is a negative entry: the name does not exist, and
  // the kernel may remember that for its entry_timeout (ENOENT: it may not).
  virtual Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name);
  // Drops `nlookup` references. Never fails; unknown nodes are ignored.
  virtual void Forget(NodeId node, uint64_t nlookup);
  // Inode passthrough (only when ConnectionInfo::inode_passthrough): the
  // backing the kernel should attach to `node`, registered with `inode_ops`
  // (the final mask of the entry, after any policy layer cleared bits) and
  // held until the node is forgotten. BackingId{0}: none, the ops are served.
  virtual BackingId AttachInodeBacking(NodeId node, uint32_t inode_ops);
  virtual Result<Attr> GetAttr(const Context& ctx, NodeId node, const FileHandle* fh);
  virtual Result<Attr> Statx(const Context& ctx, NodeId node, const FileHandle* fh,
                             uint32_t sx_flags, uint32_t sx_mask);
  virtual Result<Attr> SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in);
  virtual Result<std::string> ReadLink(const Context& ctx, NodeId node);
  virtual Result<Entry> Symlink(const Context& ctx, NodeId parent, std::string_view name,
                                std::string_view target);
  virtual Result<Entry> MkNod(const Context& ctx, NodeId parent, std::string_view name,
                              uint32_t mode, uint32_t rdev, uint32_t umask);
  virtual Result<Entry> MkDir(const Context& ctx, NodeId parent, std::string_view name,
                              uint32_t mode, uint32_t umask);
  virtual Errno Unlink(const Context& ctx, NodeId parent, std::string_view name);
  virtual Errno RmDir(const Context& ctx, NodeId parent, std::string_view name);
  virtual Errno Rename(const Context& ctx, NodeId parent, std::string_view name,
                       NodeId new_parent, std::string_view new_name, uint32_t flags);
  virtual Result<Entry> Link(const Context& ctx, NodeId node, NodeId new_parent,
                             std::string_view new_name);
  // `open_flags` are the wire's FUSE_OPEN_* flags: FUSE_OPEN_KILL_SUIDGID asks
  // the filesystem to clear suid/sgid (an O_TRUNC open by a caller without
  // CAP_FSETID, with FUSE_HANDLE_KILLPRIV_V2).
  virtual Result<Opened> Open(const Context& ctx, NodeId node, uint32_t flags,
                              uint32_t open_flags);
  virtual Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                                 uint32_t flags, uint32_t mode, uint32_t umask,
                                 uint32_t open_flags);
  virtual Result<Created> TmpFile(const Context& ctx, NodeId parent, uint32_t flags,
                                  uint32_t mode, uint32_t umask);
  // Reads into `out` (its size is the request's size); returns bytes read.
  virtual Result<size_t> Read(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                              std::span<char> out);
  // FUSE_WRITE_KILL_SUIDGID in `write_flags`: clear suid/sgid first (the
  // caller lacks CAP_FSETID). SetAttr's FATTR_KILL_SUIDGID asks the same.
  virtual Result<size_t> Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                               std::span<const char> data, uint32_t write_flags);
  virtual Errno Flush(const Context& ctx, NodeId node, FileHandle fh, uint64_t lock_owner);
  virtual Errno Release(const Context& ctx, NodeId node, FileHandle fh, uint32_t release_flags,
                        uint64_t lock_owner);
  virtual Errno Fsync(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind);
  virtual Result<Opened> OpenDir(const Context& ctx, NodeId node, uint32_t flags);
  virtual Errno ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                        DirentSink& sink);
  virtual Errno ReleaseDir(const Context& ctx, NodeId node, FileHandle fh);
  virtual Errno FsyncDir(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind);
  virtual Result<struct statvfs> StatFs(const Context& ctx, NodeId node);
  virtual Errno SetXattr(const Context& ctx, NodeId node, std::string_view name,
                         std::span<const char> value, uint32_t flags);
  // With an empty `out`, returns the value's size (a size probe). Otherwise
  // fills `out` and returns the size, or ERANGE if it does not fit.
  virtual Result<size_t> GetXattr(const Context& ctx, NodeId node, std::string_view name,
                                  std::span<char> out);
  virtual Result<size_t> ListXattr(const Context& ctx, NodeId node, std::span<char> out);
  virtual Errno RemoveXattr(const Context& ctx, NodeId node, std::string_view name);
  virtual Errno Access(const Context& ctx, NodeId node, uint32_t mask);
  virtual Result<LockIn> GetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner,
                               const LockIn& lock);
  // Never waits: a conflicting lock answers EAGAIN (or EACCES). Waiting
  // (SETLKW) is the session's job: it parks the request and retries, so no
  // worker thread ever blocks on a lock.
  virtual Errno SetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner,
                      const LockIn& lock, LockKind kind);
  virtual Errno Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode,
                          uint64_t offset, uint64_t length);
  virtual Result<uint64_t> Lseek(const Context& ctx, NodeId node, FileHandle fh,
                                 uint64_t offset, uint32_t whence);
  virtual Result<uint64_t> CopyFileRange(const Context& ctx, NodeId node_in, FileHandle fh_in,
                                         uint64_t off_in, NodeId node_out, FileHandle fh_out,
                                         uint64_t off_out, uint64_t len, uint64_t flags);
  virtual Errno SyncFs(const Context& ctx, NodeId node);
};

}  // namespace ptfs
