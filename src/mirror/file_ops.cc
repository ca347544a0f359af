// MirrorFs: open files and their data (OPEN, CREATE, TMPFILE, READ,
// WRITE, FLUSH, RELEASE, FSYNC, FALLOCATE, LSEEK, COPY_FILE_RANGE, GETLK,
// SETLK), the kernel passthrough backing of an open, and whether the kernel
// may keep its page cache.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "abi/fuse_abi.h"
#include "mirror/caller.h"
#include "mirror/mirror_fs.h"
#include "mirror/wire_to_host.h"
#include "mirror/xattr_presence.h"
#include "sys/syscalls.h"

namespace ptfs::mirror {

int MirrorFs::HostFlagsForOpen(uint32_t flags) const {
  int host = HostOpenFlags(flags);
  if (writeback_) {
    // With the writeback cache the kernel reads pages it partly overwrites,
    // even on write-only files, and appends itself at its idea of EOF.
    if ((host & O_ACCMODE) == O_WRONLY) host = (host & ~O_ACCMODE) | O_RDWR;
    host &= ~O_APPEND;
  }
  return host;
}

void MirrorFs::AttachBacking(FileState& file, uint32_t flags, bool reply_has_attrs,
                                  Opened* opened) {
  // With kernel-kept locks FLUSH only matters to the writeback cache (the
  // kernel writes dirty pages back at close); otherwise it would reach the
  // daemon for nothing, a synchronous round trip per close.
  if (options_.kernel_locks && !writeback_) opened->open_flags |= abi::FOPEN_NOFLUSH;
  const BackingId id = backing_.Acquire(file.inode->id(), file.fd.get());
  if (id.value != 0) {
    opened->open_flags |= abi::FOPEN_PASSTHROUGH;
    opened->backing = id;
    if ((flags & O_ACCMODE) != O_RDONLY) {
      // The kernel tracks its own passthrough writes (it drops the cached
      // size and times after each; the watch may stop reporting them:
      // SourceWatcher::WriterClosed).
      file.passthrough_writer = true;
      file.inode->passthrough_writers.fetch_add(1);
    }
    if ((flags & O_ACCMODE) == O_RDWR) {
      // Stores through a shared writable mapping change the backing file
      // with no request and no fsnotify event, so its attributes are not
      // cached while such a mapping can exist (AttrTimeoutFor). mmap(2)
      // needs an O_RDWR file for that, so write-only opens (creating and
      // extracting files) keep cached attributes. Counted before the
      // invalidation, so that a reply racing with it either sees the writer
      // or is discarded by the kernel (an invalidation bumps the inode's
      // attr_version).
      file.mappable_writer = true;
      const bool first = file.inode->mappable_writers.fetch_add(1) == 0;
      if (first && !reply_has_attrs && notifier_ != nullptr) {
        (void)notifier_->InvalidateInode(file.inode->id(), -1, 0);
        invalidations_for_writers_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  } else if ((flags & O_ACCMODE) == O_WRONLY && !writeback_) {
    // Served write-only opens bypass the FUSE page cache: the caller's pages
    // go straight into the request (one copy instead of two, and no second
    // page cache filled with data nobody reads through this open). Nothing
    // is lost: a write-only fd cannot read or mmap. Writers to one file may
    // run in parallel, as they do on SOURCE.
    opened->open_flags |= abi::FOPEN_DIRECT_IO | abi::FOPEN_PARALLEL_DIRECT_WRITES;
    ForgetCachedVersion(*file.inode);
  } else if (keep_cache_ && MayKeepCache(*file.inode, file.fd.get(), flags)) {
    opened->open_flags |= abi::FOPEN_KEEP_CACHE;
  }
}

namespace {
std::optional<DataVersion> VersionOf(int fd) {
  struct statx stx;
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MTIME | STATX_CTIME | STATX_SIZE, &stx) < 0) {
    return std::nullopt;
  }
  auto ns = [](const struct statx_timestamp& t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
  };
  return DataVersion{ns(stx.stx_mtime), ns(stx.stx_ctime), stx.stx_size};
}
}  // namespace

// Whether the kernel's page cache for a file may survive this open. Only
// read-only opens can keep it, and only if SOURCE shows the same data version
// (mtime, ctime, size) as at the previous read-only open: anything written to
// SOURCE directly moves ctime, so the cache is dropped exactly then. An open
// for writing forgets the version (the file will change in ways we would
// have to track across the asynchronous RELEASE, where an outside write could
// slip in unnoticed), so the next reader re-reads once and starts over.
void MirrorFs::ForgetCachedVersion(Inode& inode) {
  MutexLock lock(&inode.cache_mu);
  inode.cached_version.reset();
}

bool MirrorFs::MayKeepCache(Inode& inode, int fd, uint32_t open_flags) {
  const bool writer = (open_flags & O_ACCMODE) != O_RDONLY || (open_flags & O_TRUNC) != 0;
  if (writer) {
    ForgetCachedVersion(inode);
    return false;
  }
  const auto now = VersionOf(fd);
  MutexLock lock(&inode.cache_mu);
  const bool keep = now && inode.cached_version && *inode.cached_version == *now;
  inode.cached_version = now;
  return keep;
}

Result<std::shared_ptr<FileState>> MirrorFs::FileOf(NodeId node, FileHandle fh) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, files_.Get(fh));
  if (file->inode->id() != node) return Errno(EBADF);
  return file;
}

Result<sys::UniqueFd> MirrorFs::WidenForServer(sys::UniqueFd fd, uint32_t flags) const {
  const int caller = HostOpenFlags(flags);
  const int server = HostFlagsForOpen(flags);
  if (caller == server) return fd;
  // The caller's open proved its permission; the server needs more access
  // than it asked for (writeback cache: reading pages of write-only files).
  // O_TRUNC already happened.
  return sys::Reopen(fd.get(), server & ~(O_TRUNC | O_CREAT | O_EXCL));
}

Result<Opened> MirrorFs::Open(const Context& ctx, NodeId node, OpenFlags open) {
  const uint32_t flags = open.posix;
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd path_fd, inodes_->PathFd(*inode));
  // The open itself runs as the caller, with the caller's flags: SOURCE
  // checks permission before any fd (or kernel passthrough backing, which
  // the kernel opens with the daemon's credentials) exists. This holds with
  // and without default_permissions.
  const bool trunc = (flags & O_TRUNC) != 0;
  Result<sys::UniqueFd> opened =
      AsCallerMaybeAll(ctx, trunc && SgidDependsOnGroups(ctx, path_fd->get()),
                       [&] { return sys::Reopen(path_fd->get(), HostOpenFlags(flags)); });
  if (!opened.ok() && opened.error().value() == EACCES && open.for_exec() &&
      open.access_mode() == O_RDONLY) {
    // execve(2) needs execute permission, not read permission (a mode 0711
    // program runs for others natively). The caller may not read it, so the
    // check is made as the caller and the open as the daemon; the kernel
    // only maps the file for execution through this open.
    const sys::ProcFd proc(path_fd->get());
    PTFS_TRY(AsCaller(
        ctx, [&] { return CheckSys(::faccessat(proc.dir(), proc.name(), X_OK, AT_EACCESS)); }));
    opened = sys::Reopen(path_fd->get(), HostOpenFlags(flags));
  }
  if (!opened.ok()) return opened.error();
  sys::UniqueFd caller_fd = std::move(*opened);
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, WidenForServer(std::move(caller_fd), flags));
  if (open.kill_suidgid) PTFS_TRY(KillSuidGid(ctx, fd.get()));
  auto file = std::make_shared<FileState>();
  file->inode = inode;
  file->fd = std::move(fd);
  file->access_mode = static_cast<int>(flags) & O_ACCMODE;
  inodes_->NoteOpened(*inode, path_fd);
  Opened o;
  AttachBacking(*file, flags, /*reply_has_attrs=*/false, &o);
  o.fh = files_.Add(std::move(file));
  if (journal_) journal_->FileOpened(o.fh, node, JournaledFlags(flags));
  return o;
}

Result<Created> MirrorFs::FinishCreate(sys::UniqueFd open_fd, uint32_t flags) {
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd path_fd, sys::Reopen(open_fd.get(), O_PATH));
  PTFS_ASSIGN_OR_RETURN(Entry entry, EntryFor(std::move(path_fd), 1));
  auto inode = inodes_->Get(entry.node);
  if (!inode.ok()) return inode.error();  // cannot happen: we hold a reference
  auto pin = inodes_->PathFd(**inode);
  if (!pin.ok()) {
    Forget(entry.node, 1);
    return pin.error();
  }
  auto file = std::make_shared<FileState>();
  file->inode = *inode;
  file->fd = std::move(open_fd);
  file->access_mode = static_cast<int>(flags) & O_ACCMODE;
  inodes_->NoteOpened(**inode, *pin);
  Created c;
  AttachBacking(*file, flags | O_TRUNC, /*reply_has_attrs=*/true, &c.open);  // new data
  if (file->mappable_writer) entry.attr_timeout = Timeout{};                // see AttrTimeoutFor
  c.entry = entry;
  c.open.fh = files_.Add(std::move(file));
  if (journal_) journal_->FileOpened(c.open.fh, entry.node, JournaledFlags(flags));
  return c;
}

Result<Created> MirrorFs::Create(const Context& ctx, NodeId parent, std::string_view name,
                                      OpenFlags open, uint32_t mode, uint32_t umask) {
  const uint32_t flags = open.posix;
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  PTFS_TRY(ApplyUmask(dont_mask_, umask));
  CName cname(name);
  // An existing file may be truncated (see SgidDependsOnGroups).
  bool all_groups = false;
  if ((flags & O_TRUNC) && !(flags & O_EXCL)) {
    auto existing = sys::StatxAt(dir.fd->get(), cname.c_str(), STATX_MODE | STATX_GID);
    all_groups = existing.ok() && SgidDependsOnGroups(ctx, existing->stx_mode, existing->stx_gid);
  }
  // O_NOFOLLOW: never create through (or open) a symlink planted in SOURCE.
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd caller_fd, AsCallerMaybeAll(ctx, all_groups, [&] {
                          return sys::OpenAt(
                              dir.fd->get(), cname.c_str(),
                              HostOpenFlags(flags) | O_CREAT | (flags & O_EXCL) | O_NOFOLLOW, mode);
                        }));
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, WidenForServer(std::move(caller_fd), flags));
  // An existing file opened with O_TRUNC by a caller without CAP_FSETID.
  if (open.kill_suidgid) PTFS_TRY(KillSuidGid(ctx, fd.get()));
  return FinishCreate(std::move(fd), flags);
}

Result<Created> MirrorFs::TmpFile(const Context& ctx, NodeId parent, OpenFlags open,
                                       uint32_t mode, uint32_t umask) {
  const uint32_t flags = open.posix;
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  PTFS_TRY(ApplyUmask(dont_mask_, umask));
  int host_flags = (HostFlagsForOpen(flags) & ~O_DIRECTORY) | O_TMPFILE;
  if ((host_flags & O_ACCMODE) == O_RDONLY) host_flags |= O_RDWR;  // O_TMPFILE needs write
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, AsCaller(ctx, [&] {
                          return sys::OpenAt(dir.fd->get(), ".", host_flags, mode);
                        }));
  return FinishCreate(std::move(fd), flags);
}

Result<size_t> MirrorFs::Read(const Context&, NodeId node, FileHandle fh, uint64_t offset,
                                   std::span<char> out) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  ssize_t n = ::pread(file->fd.get(), out.data(), out.size(), static_cast<off_t>(offset));
  if (n < 0) return Errno::Last();
  return static_cast<size_t>(n);
}

Result<size_t> MirrorFs::Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                                    std::span<const char> data, WriteFlags flags) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  if (flags.kill_suidgid) PTFS_TRY(KillSuidGid(ctx, file->fd.get()));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(file->fd.get(), data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;  // report the partial write, as write(2) would
      return Errno::Last();
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Errno MirrorFs::Flush(const Context&, NodeId node, FileHandle fh, uint64_t lock_owner) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  // close(2) drops the closing process's POSIX locks on the file.
  locks_.DropOwner(node, lock_owner);
  // Closing a duplicate reports deferred write errors (e.g. NFS) as close(2)
  // does. Local filesystems report none at close (they have no flush
  // operation), so there the two host calls are skipped.
  if (!close_reports_.MayReportErrors(file->inode->key().dev, file->fd.get())) {
    flush_close_skipped_.fetch_add(1, std::memory_order_relaxed);
    return Errno::Ok();
  }
  int dup = ::fcntl(file->fd.get(), F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return Errno::Last();
  return CheckSys(::close(dup));
}

Errno MirrorFs::Release(const Context&, NodeId node, FileHandle fh, uint32_t release_flags,
                             uint64_t lock_owner) {
  std::shared_ptr<FileState> file = files_.Remove(fh);
  if (!file) return Errno(EBADF);
  if (journal_) journal_->FileClosed(fh);
  // RELEASE_FLUSH: the kernel folded the final FLUSH into this RELEASE.
  if (release_flags & abi::FUSE_RELEASE_FLUSH) locks_.DropOwner(node, lock_owner);
  // Owners that locked through no other live handle hold nothing any more:
  // this is where OFD locks end.
  locks_.HandleReleased(file->inode->id(), fh);
  backing_.Release(file->inode->id());
  // The last close of a written file is where IMA appraisal (re)writes
  // security.ima, as the daemon, so the watch skips it as the daemon's own
  // change: see GetXattr.
  if (file->access_mode != O_RDONLY) ForgetXattrPresence(*file->inode);
  if (file->mappable_writer) file->inode->mappable_writers.fetch_sub(1);
  if (file->passthrough_writer && file->inode->passthrough_writers.fetch_sub(1) == 1 &&
      watcher_ != nullptr) {
    watcher_->WriterClosed(file->fd.get(), node.value);
  }
  // The last open file of the inode is gone: no owner can hold locks on it.
  if (inodes_->NoteReleased(*file->inode)) locks_.InodeClosed(node);
  return Errno::Ok();
}

Errno MirrorFs::Fsync(const Context&, NodeId node, FileHandle fh, SyncKind kind) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  return CheckSys(kind == SyncKind::kDataOnly ? ::fdatasync(file->fd.get())
                                              : ::fsync(file->fd.get()));
}

namespace {
struct flock ToFlock(const LockIn& l) {
  struct flock fl {};
  fl.l_type = static_cast<short>(l.type);
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(l.start);
  // The wire's end is inclusive; the kernel sends OFFSET_MAX (INT64_MAX) for "to EOF" (len 0).
  fl.l_len = l.end == UINT64_MAX || l.end >= static_cast<uint64_t>(INT64_MAX)
                 ? 0
                 : static_cast<off_t>(l.end - l.start + 1);
  return fl;
}
}  // namespace

Result<LockIn> MirrorFs::GetLk(const Context&, NodeId node, FileHandle fh, uint64_t owner,
                                    const LockIn& lock) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd,
                        locks_.FdFor(node, fh, owner, file->fd.get(), file->access_mode));
  struct flock fl = ToFlock(lock);
  if (::fcntl(fd->get(), F_OFD_GETLK, &fl) < 0) return Errno::Last();
  LockIn out;
  out.type = static_cast<uint32_t>(fl.l_type);
  if (fl.l_type != F_UNLCK) {
    out.start = static_cast<uint64_t>(fl.l_start);
    // To the end of the file is OFFSET_MAX on the wire, as in the kernel's
    // requests: the kernel fails a GETLK reply whose end exceeds it with EIO.
    out.end = fl.l_len == 0 ? static_cast<uint64_t>(INT64_MAX)
                            : static_cast<uint64_t>(fl.l_start + fl.l_len - 1);
    out.pid = 0;  // OFD locks have no owning pid
  }
  return out;
}

Errno MirrorFs::SetLk(const Context&, NodeId node, FileHandle fh, uint64_t owner,
                           const LockIn& lock, LockKind kind) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  if (kind == LockKind::kFlock) {
    const int op = lock.type == F_RDLCK ? LOCK_SH : lock.type == F_WRLCK ? LOCK_EX : LOCK_UN;
    return CheckSys(::flock(file->fd.get(), op | LOCK_NB));
  }
  PTFS_ASSIGN_OR_RETURN(SharedFd fd,
                        locks_.FdFor(node, fh, owner, file->fd.get(), file->access_mode));
  struct flock fl = ToFlock(lock);
  return CheckSys(::fcntl(fd->get(), F_OFD_SETLK, &fl));
}

Errno MirrorFs::Fallocate(const Context&, NodeId node, FileHandle fh, uint32_t mode,
                               uint64_t offset, uint64_t length) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  return CheckSys(::fallocate(file->fd.get(), static_cast<int>(mode), static_cast<off_t>(offset),
                              static_cast<off_t>(length)));
}

Result<uint64_t> MirrorFs::Lseek(const Context&, NodeId node, FileHandle fh, uint64_t offset,
                                      uint32_t whence) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  off_t r = ::lseek(file->fd.get(), static_cast<off_t>(offset), static_cast<int>(whence));
  if (r < 0) return Errno::Last();
  return static_cast<uint64_t>(r);
}

Result<uint64_t> MirrorFs::CopyFileRange(const Context&, NodeId node_in, FileHandle fh_in,
                                              uint64_t off_in, NodeId node_out, FileHandle fh_out,
                                              uint64_t off_out, uint64_t len, uint64_t flags) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> in, FileOf(node_in, fh_in));
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> out, FileOf(node_out, fh_out));
  loff_t oi = static_cast<loff_t>(off_in), oo = static_cast<loff_t>(off_out);
  ssize_t n =
      ::copy_file_range(in->fd.get(), &oi, out->fd.get(), &oo, len, static_cast<unsigned>(flags));
  if (n < 0) return Errno::Last();
  return static_cast<uint64_t>(n);
}

}  // namespace ptfs::mirror
