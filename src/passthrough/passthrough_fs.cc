#include "passthrough/passthrough_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "abi/fuse_abi.h"
#include "passthrough/caller.h"
#include "passthrough/wire_to_host.h"
#include "passthrough/xattr_presence.h"
#include "sys/syscalls.h"
#include "util/log.h"

namespace ptfs::passthrough {

namespace {

using abi::FATTR_ATIME;
using abi::FATTR_FH;
using abi::FATTR_GID;
using abi::FATTR_MODE;
using abi::FATTR_MTIME;
using abi::FATTR_SIZE;
using abi::FATTR_UID;

}  // namespace

Result<std::unique_ptr<PassthroughFs>> PassthroughFs::Create(const PassthroughOptions& options) {
  const bool caching = options.entry_timeout.sec != 0 || options.entry_timeout.nsec != 0 ||
                       options.attr_timeout.sec != 0 || options.attr_timeout.nsec != 0;
  const bool watch = options.watch_source && caching;
  // With the source watch, SOURCE is reached through a private clone of its
  // mounts, so fanotify can leave out the mount's own passthrough writes
  // (SourceWatcher::Create). Where that is refused (no CAP_SYS_ADMIN, an
  // unbindable mount), the usual open.
  bool own_mounts = false;
  sys::UniqueFd root;
  if (watch && options.private_mounts) {
    auto clone = sys::OpenTreeClone(options.source.c_str());
    if (clone.ok()) {
      root = std::move(*clone);
      own_mounts = true;
      if (Errno why = sys::SetTreeAtime(root.get(), options.atime, options.nodiratime)) {
        LOG_INFO("access times follow SOURCE's mount, not the mount's options (%s)",
                 strerror(why.value()));
      }
    } else {
      LOG_DEBUG("no private clone of SOURCE's mounts (%s)", strerror(clone.error().value()));
    }
  }
  if (!own_mounts) {
    PTFS_ASSIGN_OR_RETURN(root,
                          sys::OpenAt(AT_FDCWD, options.source.c_str(), O_PATH | O_DIRECTORY));
  }
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd root_dir, sys::Reopen(root.get(), O_RDONLY | O_DIRECTORY));
  PTFS_ASSIGN_OR_RETURN(struct statx stx, sys::StatxFd(root.get(), kStatxMask));
  InodeTableOptions topts;
  topts.fd_cache_slots = options.fd_cache_slots;
  topts.use_handles = options.handles == PassthroughOptions::Handles::kAuto;
  if (topts.use_handles) {
    // Handles are usable only if we can also open them again (needs
    // CAP_DAC_READ_SEARCH) and SOURCE's filesystem exports them.
    int mount_id;
    auto handle = sys::NameToHandle(root.get(), "", &mount_id);
    Errno why = handle.error();
    if (handle.ok()) why = sys::OpenByHandle(root_dir.get(), *handle, O_PATH).error();
    if (why) {
      topts.use_handles = false;
      LOG_INFO("file handles unavailable on %s (%s): holding an O_PATH fd per inode",
               options.source.c_str(), strerror(why.value()));
    }
  }
  auto table = std::make_unique<InodeTable>(std::move(root), stx, topts);
  std::unique_ptr<SourceWatcher> watcher;
  std::string watch_status;
  if (watch) {
    auto created = SourceWatcher::Create(root_dir.get(), own_mounts);
    if (created.ok()) {
      watcher = std::move(*created);
      watch_status = options.timeouts_given
                         ? "source watch: on (fanotify); outside changes to SOURCE reach the "
                           "kernel within milliseconds"
                         : "source watch: on (fanotify); the kernel caches entries and "
                           "attributes up to " +
                               std::to_string(options.coherent_timeout.sec) +
                               " s and learns of outside changes to SOURCE within milliseconds";
    } else {
      const int e = created.error().value();
      watch_status = std::string("source watch: off (fanotify cannot watch SOURCE's filesystem: ") +
                     strerror(e) + (e == EPERM ? ", needs CAP_SYS_ADMIN" : "") +
                     "); entries and attributes are cached for the short timeouts only";
    }
  }
  InodeTable* table_ptr = table.get();
  auto confinement = std::make_unique<Confinement>(
      DevOf(stx), stx.stx_ino, options.confinement_watch ? root_dir.get() : -1,
      [table_ptr](uint64_t dev, uint64_t ino, std::shared_ptr<void>* keep)
          -> std::atomic<uint64_t>* {
        const NodeId node = table_ptr->NodeOf(InodeKey{dev, ino});
        if (node == NodeId{}) return nullptr;
        auto inode = table_ptr->Get(node);
        if (!inode.ok() || !(*inode)->is_dir()) return nullptr;
        std::atomic<uint64_t>* proof = &(*inode)->proven_epoch;
        *keep = std::move(*inode);
        return proof;
      });
  auto fs = std::unique_ptr<PassthroughFs>(
      new PassthroughFs(options, std::move(table), std::move(root_dir)));
  fs->confinement_ = std::move(confinement);
  fs->watcher_ = std::move(watcher);
  fs->watch_status_ = std::move(watch_status);
  // At the process's fd limit, cached O_PATH fds are what can go: an open
  // that hit EMFILE closes half of them and tries again.
  fs->fd_pressure_token_ = sys::SetFdPressureHandler(
      [](void* self) {
        auto* fs = static_cast<PassthroughFs*>(self);
        const size_t shed = fs->inodes_->ShedCachedFds();
        fs->fds_shed_.fetch_add(shed, std::memory_order_relaxed);
        if (shed != 0) LOG_WARN("at the fd limit: closed %zu cached fds", shed);
        return shed != 0;
      },
      fs.get());
  return fs;
}

PassthroughFs::~PassthroughFs() { sys::ClearFdPressureHandler(fd_pressure_token_); }

void PassthroughFs::Destroy() {
  if (watcher_) watcher_->Stop();
}

Timeout PassthroughFs::EntryTimeoutFor(uint64_t dev) const {
  if (options_.per_caller_lookups) return Timeout{};
  return !options_.timeouts_given && Coherent(dev) ? options_.coherent_timeout
                                                    : options_.entry_timeout;
}

Timeout PassthroughFs::AttrTimeoutFor(const Inode& inode, uint64_t dev) const {
  if (inode.passthrough_writers.load(std::memory_order_acquire) > 0) return Timeout{};
  return !options_.timeouts_given && Coherent(dev) ? options_.coherent_timeout
                                                    : options_.attr_timeout;
}

PassthroughFs::PassthroughFs(const PassthroughOptions& options, std::unique_ptr<InodeTable> inodes,
                             sys::UniqueFd root_dir_fd)
    : options_(options),
      inodes_(std::move(inodes)),
      root_dir_fd_(std::move(root_dir_fd)),
      backing_(options.idle_backings) {}

void PassthroughFs::Init(const ConnectionInfo& info) {
  dont_mask_ = (info.flags & abi::FUSE_DONT_MASK) != 0;
  // Keeping the page cache across opens needs the attribute checks of
  // AUTO_INVAL_DATA for files open while SOURCE changes, and is pointless
  // when the caller asked for no caching.
  keep_cache_ = (info.flags & abi::FUSE_AUTO_INVAL_DATA) != 0 &&
                (options_.attr_timeout.sec != 0 || options_.attr_timeout.nsec != 0);
  writeback_ = (info.flags & abi::FUSE_WRITEBACK_CACHE) != 0;
  if ((info.flags & abi::FUSE_PASSTHROUGH) != 0 && registrar_ != nullptr) {
    backing_.Enable(registrar_);
    if (info.inode_passthrough && options_.inode_passthrough_ops != 0) {
      inode_passthrough_ = true;
      inodes_->UseInoAsNodeId();
    }
  }
  LogInodePassthrough(info);
  if (!watch_status_.empty()) LOG_INFO("%s", watch_status_.c_str());
  // Directories without OPENDIR/RELEASEDIR round trips (see OpenDir): needs
  // the source watch running (it drops listings that SOURCE changed), the
  // kernel's own permission checks, and no inode passthrough (whose
  // directory model is the kernel's).
  dirs_without_open_ = keep_cache_ && watcher_ != nullptr && notifier_ != nullptr &&
                       options_.default_permissions && !inode_passthrough_;
  if (watcher_ && notifier_ != nullptr) {
    InodeTable* table = inodes_.get();
    watcher_->Start(
        notifier_,
        [table](uint64_t dev, uint64_t ino) { return table->NodeOf(InodeKey{dev, ino}).value; },
        [table](uint64_t node) {
          auto inode = table->Get(NodeId{node});
          return inode.ok() && (*inode)->passthrough_writers.load() > 0;
        },
        [table](uint64_t node) {
          if (auto inode = table->Get(NodeId{node}); inode.ok()) ForgetXattrPresence(**inode);
        });
    xattr_presence_usable_ = options_.default_permissions;
  }
  if (backing_.enabled()) {
    LOG_INFO("data path: kernel passthrough (reads, writes and mmap go straight to SOURCE)");
    return;
  }
  std::string why = options_.no_passthrough_reason;
  if (why.empty() && (info.offered_flags & abi::FUSE_PASSTHROUGH) == 0) {
    why = "the kernel does not offer FUSE_PASSTHROUGH (protocol 7." +
          std::to_string(info.proto_minor) + "; needs Linux 6.9+ with CONFIG_FUSE_PASSTHROUGH)";
  }
  if (why.empty()) why = "passthrough was not negotiated";
  LOG_INFO("data path: served by the daemon%s (%s)", writeback_ ? " with writeback cache" : "",
           why.c_str());
}

// Inode passthrough (the kernel doing getattr/setattr/readdir on the backing
// inode) exists only in a proposed kernel series, whose wire format is not
// settled (docs/inode-passthrough.md). Until an adapter for it is enabled the
// daemon serves these ops itself; say so once.
void PassthroughFs::LogInodePassthrough(const ConnectionInfo& info) {
  const uint32_t ops = options_.inode_passthrough_ops;
  if (ops == 0) return;
  std::string names;
  for (auto [bit, name] : {std::pair{kInodeOpGetattr, "getattr"}, {kInodeOpSetattr, "setattr"},
                           {kInodeOpReaddir, "readdir"}}) {
    if (ops & bit) names += names.empty() ? name : std::string(",") + name;
  }
  if (inode_passthrough_) {
    LOG_INFO("inode passthrough (%s): the kernel offers the DRAFT protocol "
             "(FUSE_PASSTHROUGH_INO); it performs these ops on the backing inodes itself",
             names.c_str());
    return;
  }
  LOG_INFO("inode passthrough (%s) is not offered by this kernel (FUSE protocol 7.%u); "
           "the daemon serves these ops itself",
           names.c_str(), info.proto_minor);
}

int PassthroughFs::HostFlagsForOpen(uint32_t flags) const {
  int host = HostOpenFlags(flags);
  if (writeback_) {
    // With the writeback cache the kernel reads pages it partly overwrites,
    // even on write-only files, and appends itself at its idea of EOF.
    if ((host & O_ACCMODE) == O_WRONLY) host = (host & ~O_ACCMODE) | O_RDWR;
    host &= ~O_APPEND;
  }
  return host;
}

void PassthroughFs::AttachBacking(FileState& file, uint32_t flags, bool reply_has_attrs,
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
      // The kernel tracks its own passthrough writes (the watch may stop
      // reporting each one: SourceWatcher::WriterClosed) but not writes
      // through a shared mapping: attributes are not cached meanwhile
      // (AttrTimeoutFor). Counted before the invalidation, so that a reply
      // racing with it either sees the writer or is discarded by the kernel
      // (an invalidation bumps the inode's attr_version).
      file.passthrough_writer = true;
      const bool first = file.inode->passthrough_writers.fetch_add(1) == 0;
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
void PassthroughFs::ForgetCachedVersion(Inode& inode) {
  MutexLock lock(&inode.cache_mu);
  inode.cached_version.reset();
}

bool PassthroughFs::MayKeepCache(Inode& inode, int fd, uint32_t open_flags) {
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


Result<PassthroughFs::DirFd> PassthroughFs::DirOf(NodeId parent) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(parent));
  if (!inode->is_dir()) return Errno(ENOTDIR);
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  PTFS_TRY(confinement_->Check(fd->get(), inode->key().dev, inode->key().ino,
                               &inode->proven_epoch));
  return DirFd{std::move(inode), std::move(fd)};
}

Result<Entry> PassthroughFs::EntryFor(sys::UniqueFd path_fd, uint64_t refs) {
  PTFS_ASSIGN_OR_RETURN(struct statx stx, sys::StatxFd(path_fd.get(), kStatxMask));
  // An inode on another filesystem (a mount inside SOURCE): watch that one too.
  if (watcher_) watcher_->Watch(path_fd.get(), DevOf(stx));
  if (S_ISDIR(stx.stx_mode)) confinement_->Watch(path_fd.get(), DevOf(stx));
  InodePtr replaced;
  PTFS_ASSIGN_OR_RETURN(InodePtr inode,
                        inodes_->Insert(std::move(path_fd), stx, refs, &replaced));
  ReleaseInodeBacking(replaced);
  return MakeEntry(*inode, stx);
}

Result<Entry> PassthroughFs::LookupAt(int dir_fd, std::string_view name, uint64_t refs) {
  CName cname(name);
  // Fast path for inodes we already hold open: one statx, no open/close and
  // no handle. (AT_SYMLINK_NOFOLLOW: a symlink is looked up as itself.)
  PTFS_ASSIGN_OR_RETURN(struct statx stx, sys::StatxAt(dir_fd, cname.c_str(), kStatxMask));
  if (InodePtr held = inodes_->TakeIfHeld(stx, refs)) return MakeEntry(*held, stx);
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd,
                        sys::OpenAt(dir_fd, cname.c_str(), O_PATH | O_NOFOLLOW));
  return EntryFor(std::move(fd), refs);
}

Result<Entry> PassthroughFs::LookupNew(int dir_fd, std::string_view name, uint64_t refs) {
  CName cname(name);
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd,
                        sys::OpenAt(dir_fd, cname.c_str(), O_PATH | O_NOFOLLOW));
  return EntryFor(std::move(fd), refs);
}

Entry PassthroughFs::MakeEntry(const Inode& inode, const struct statx& stx) const {
  Entry e;
  e.node = inode.id();
  e.generation = inode.generation();
  e.attr = stx;
  e.entry_timeout = EntryTimeoutFor(DevOf(stx));
  e.attr_timeout = AttrTimeoutFor(inode, DevOf(stx));
  e.inode_passthrough_ops = options_.inode_passthrough_ops;
  if (!inode.is_dir()) e.inode_passthrough_ops &= ~kInodeOpReaddir;
  return e;
}

Result<Entry> PassthroughFs::Lookup(const Context& ctx, NodeId parent, std::string_view name) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  if (!options_.default_permissions && !RunsAsDaemon(ctx)) {
    // The kernel did not check search permission on the parent: SOURCE
    // does, for the caller (EACCES before ENOENT, as natively). For a
    // caller the daemon acts as itself, the lookup below is that check.
    CName cname(name);
    PTFS_TRY(AsCaller(ctx, [&] {
      return sys::StatxAt(dir.fd->get(), cname.c_str(), STATX_TYPE).error();
    }));
  }
  Result<Entry> entry = LookupAt(dir.fd->get(), name, 1);
  if (entry.ok()) listing_advisor_.LookedUp(*dir.inode);
  if (!entry.ok() && entry.error().value() == ENOENT && Coherent(dir.inode->key().dev)) {
    // The kernel may remember that the name is absent: the watch tells it
    // when somebody creates it.
    Entry negative;
    negative.entry_timeout = EntryTimeoutFor(dir.inode->key().dev);
    entry = negative;
  }
  return entry;  // one named result on every path: returned without a copy
}

void PassthroughFs::Forget(NodeId node, uint64_t nlookup) {
  InodePtr gone = inodes_->Forget(node, nlookup);
  if (gone && gone->is_dir() && dirs_without_open_) (void)dir_streams_.Drop(node);
  ReleaseInodeBacking(gone);
}

void PassthroughFs::ReleaseInodeBacking(const InodePtr& gone) {
  if (!gone) return;
  if (gone->inode_backing_held.exchange(false)) backing_.Release(gone->id());
  // A backing kept idle after the last close names this host inode: the
  // nodeid may next stand for another one (ino-as-nodeid), or be gone.
  backing_.Forget(gone->id());
}

BackingId PassthroughFs::AttachInodeBacking(NodeId node, uint32_t inode_ops) {
  if (!inode_passthrough_ || inode_ops == 0) return BackingId{};
  auto inode = inodes_->Get(node);
  if (!inode.ok()) return BackingId{};
  // The kernel attaches backings to regular files and directories only; a
  // symlink or special file has no file to register.
  if ((*inode)->type() != S_IFREG && !(*inode)->is_dir()) return BackingId{};
  auto fd = inodes_->PathFd(**inode);
  if (!fd.ok()) return BackingId{};
  return backing_.HoldForInode(node, &(*inode)->inode_backing_held, (*fd)->get(), inode_ops);
}

Result<std::shared_ptr<FileState>> PassthroughFs::FileOf(NodeId node, FileHandle fh) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, files_.Get(fh));
  if (file->inode->id() != node) return Errno(EBADF);
  return file;
}

Result<Attr> PassthroughFs::GetAttr(const Context& ctx, NodeId node, const FileHandle* fh) {
  return Statx(ctx, node, fh, 0, kStatxMask);
}

Result<Attr> PassthroughFs::Statx(const Context&, NodeId node, const FileHandle* fh,
                                  uint32_t sx_flags, uint32_t sx_mask) {
  const int sync = static_cast<int>(sx_flags) & AT_STATX_SYNC_TYPE;
  const unsigned mask = (sx_mask != 0 ? sx_mask : kStatxMask) | STATX_BASIC_STATS;
  struct statx stx;
  int rc;
  InodePtr inode;
  if (fh != nullptr) {
    PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, *fh));
    inode = file->inode;
    rc = ::statx(file->fd.get(), "", AT_EMPTY_PATH | sync, mask, &stx);
  } else {
    PTFS_ASSIGN_OR_RETURN(inode, inodes_->Get(node));
    PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
    rc = ::statx(fd->get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | sync, mask, &stx);
  }
  if (rc < 0) return Errno::Last();
  return Attr{stx, AttrTimeoutFor(*inode, DevOf(stx))};
}

Result<Attr> PassthroughFs::SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd path_fd, inodes_->PathFd(*inode));
  // Security modules may rewrite their attributes (EVM's security.evm) on an
  // attribute change the daemon makes: see GetXattr.
  ForgetXattrPresence(*inode);
  std::shared_ptr<FileState> file;
  if ((in.valid & FATTR_FH) != 0) {
    auto f = FileOf(node, in.fh);
    if (f.ok()) file = std::move(*f);
  }
  const sys::ProcFd proc(path_fd->get());
  // Each change runs as the caller: SOURCE then decides who may chmod (the
  // owner), chown (root; the owner to a group they are in), truncate (a
  // writer) and set times (a writer for "now", the owner for explicit times).
  if (in.valid & FATTR_MODE) {
    const mode_t mode = in.mode & 07777;
    auto chmod = [&] {
      return CheckSys(file ? ::fchmod(file->fd.get(), mode)
                           : ::fchmodat(proc.dir(), proc.name(), mode, 0));
    };
    // Whether S_ISGID survives depends on membership in the file's group.
    PTFS_TRY((mode & S_ISGID) ? AsCallerWithAllGroups(ctx, chmod) : AsCaller(ctx, chmod));
  }
  if (in.valid & (FATTR_UID | FATTR_GID)) {
    const uid_t uid = (in.valid & FATTR_UID) ? in.uid : static_cast<uid_t>(-1);
    const gid_t gid = (in.valid & FATTR_GID) ? in.gid : static_cast<gid_t>(-1);
    PTFS_TRY(AsCallerMaybeAll(ctx, SgidDependsOnGroups(ctx, path_fd->get()), [&] {
      return CheckSys(
          ::fchownat(path_fd->get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
    }));
  }
  if (in.valid & FATTR_SIZE) {
    PTFS_TRY(AsCallerMaybeAll(ctx, SgidDependsOnGroups(ctx, path_fd->get()), [&] {
      return CheckSys(file && file->access_mode != O_RDONLY
                          ? ::ftruncate(file->fd.get(), static_cast<off_t>(in.size))
                          : ::truncate(proc.path(), static_cast<off_t>(in.size)));
    }));
  }
  if (in.valid & (FATTR_ATIME | FATTR_MTIME)) {
    struct timespec times[2];
    times[0] = (in.valid & FATTR_ATIME) ? in.atime : timespec{0, UTIME_OMIT};
    times[1] = (in.valid & FATTR_MTIME) ? in.mtime : timespec{0, UTIME_OMIT};
    auto utimes = [&] {
      int rc = ::utimensat(path_fd->get(), "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
      if (rc < 0 && errno == EINVAL) rc = ::utimensat(proc.dir(), proc.name(), times, 0);
      return CheckSys(rc);
    };
    // FATTR_CTIME comes only with the kernel's own mtime/ctime (writeback
    // cache: flushing times, or a truncate by a writer), never from a
    // utimensat(2) caller: those are the kernel's bookkeeping, applied as
    // the daemon (a writer who is not the owner may not set explicit times).
    PTFS_TRY((in.valid & abi::FATTR_CTIME) ? utimes() : AsCaller(ctx, utimes));
  }
  // With FUSE_HANDLE_KILLPRIV_V2 the kernel asks us to drop privileges in two
  // ways: FATTR_KILL_SUIDGID (truncate), and a SETATTR that sets nothing at
  // all. The latter is what file_remove_privs() turns into for a write that
  // never reaches us (kernel passthrough): FUSE strips ATTR_KILL_* and
  // ATTR_MODE and forwards the empty setattr, and only does so when the
  // writer lacks CAP_FSETID. (The backing write itself runs with the
  // daemon's credentials, which would keep the bits.)
  const bool empty = (in.valid & ~(abi::FATTR_FH | abi::FATTR_LOCKOWNER)) == 0;
  if (empty || (in.valid & abi::FATTR_KILL_SUIDGID)) PTFS_TRY(KillSuidGid(ctx, path_fd->get()));
  FileHandle fh = in.fh;
  return Statx(ctx, node, file ? &fh : nullptr, 0, kStatxMask);
}

Result<std::string> PassthroughFs::ReadLink(const Context&, NodeId node) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  std::string target(PATH_MAX, '\0');
  ssize_t n = ::readlinkat(fd->get(), "", target.data(), target.size());
  if (n < 0) return Errno::Last();
  target.resize(static_cast<size_t>(n));
  return target;
}

Result<Entry> PassthroughFs::Symlink(const Context& ctx, NodeId parent, std::string_view name,
                                     std::string_view target) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  CName cname(name), ctarget(target);
  PTFS_TRY(AsCaller(ctx, [&] {
    return CheckSys(::symlinkat(ctarget.c_str(), dir.fd->get(), cname.c_str()));
  }));
  return LookupAt(dir.fd->get(), name, 1);
}

Result<Entry> PassthroughFs::MkNod(const Context& ctx, NodeId parent, std::string_view name,
                                   uint32_t mode, uint32_t rdev, uint32_t umask) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  PTFS_TRY(ApplyUmask(dont_mask_, umask));
  CName cname(name);
  PTFS_TRY(AsCaller(ctx, [&] {
    return CheckSys(::mknodat(dir.fd->get(), cname.c_str(), mode, DecodeRdev(rdev)));
  }));
  return LookupAt(dir.fd->get(), name, 1);
}

Result<Entry> PassthroughFs::MkDir(const Context& ctx, NodeId parent, std::string_view name,
                                   uint32_t mode, uint32_t umask) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  PTFS_TRY(ApplyUmask(dont_mask_, umask));
  CName cname(name);
  PTFS_TRY(AsCaller(ctx, [&] { return CheckSys(::mkdirat(dir.fd->get(), cname.c_str(), mode)); }));
  return LookupAt(dir.fd->get(), name, 1);
}

Errno PassthroughFs::Unlink(const Context& ctx, NodeId parent, std::string_view name) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  CName cname(name);
  return AsCaller(ctx, [&] { return CheckSys(::unlinkat(dir.fd->get(), cname.c_str(), 0)); });
}

Errno PassthroughFs::RmDir(const Context& ctx, NodeId parent, std::string_view name) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  CName cname(name);
  return AsCaller(ctx, [&] {
    return CheckSys(::unlinkat(dir.fd->get(), cname.c_str(), AT_REMOVEDIR));
  });
}

Errno PassthroughFs::Rename(const Context& ctx, NodeId parent, std::string_view name,
                            NodeId new_parent, std::string_view new_name, uint32_t flags) {
  PTFS_ASSIGN_OR_RETURN(DirFd from, DirOf(parent));
  PTFS_ASSIGN_OR_RETURN(DirFd to, DirOf(new_parent));
  CName cname(name), cnew(new_name);
  return AsCaller(ctx, [&] {
    return CheckSys(
        ::renameat2(from.fd->get(), cname.c_str(), to.fd->get(), cnew.c_str(), flags));
  });
}

Result<Entry> PassthroughFs::Link(const Context& ctx, NodeId node, NodeId new_parent,
                                  std::string_view new_name) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(new_parent));
  CName cnew(new_name);
  PTFS_TRY(AsCaller(ctx, [&] {
    int rc = ::linkat(fd->get(), "", dir.fd->get(), cnew.c_str(), AT_EMPTY_PATH);
    if (rc < 0 && (errno == ENOENT || errno == EPERM)) {
      // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (which a caller's fsuid
      // drops); the /proc magic link does not.
      const sys::ProcFd proc(fd->get());
      rc = ::linkat(proc.dir(), proc.name(), dir.fd->get(), cnew.c_str(), AT_SYMLINK_FOLLOW);
    }
    return CheckSys(rc);
  }));
  return LookupAt(dir.fd->get(), new_name, 1);
}

Result<sys::UniqueFd> PassthroughFs::WidenForServer(sys::UniqueFd fd, uint32_t flags) const {
  const int caller = HostOpenFlags(flags);
  const int server = HostFlagsForOpen(flags);
  if (caller == server) return fd;
  // The caller's open proved its permission; the server needs more access
  // than it asked for (writeback cache: reading pages of write-only files).
  // O_TRUNC already happened.
  return sys::Reopen(fd.get(), server & ~(O_TRUNC | O_CREAT | O_EXCL));
}

Result<Opened> PassthroughFs::Open(const Context& ctx, NodeId node, uint32_t flags,
                                   uint32_t open_flags) {
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
  if (!opened.ok() && opened.error().value() == EACCES && (flags & kOpenForExec) != 0 &&
      (flags & O_ACCMODE) == O_RDONLY) {
    // execve(2) needs execute permission, not read permission (a mode 0711
    // program runs for others natively). The caller may not read it, so the
    // check is made as the caller and the open as the daemon; the kernel
    // only maps the file for execution through this open.
    const sys::ProcFd proc(path_fd->get());
    PTFS_TRY(AsCaller(ctx, [&] {
      return CheckSys(::faccessat(proc.dir(), proc.name(), X_OK, AT_EACCESS));
    }));
    opened = sys::Reopen(path_fd->get(), HostOpenFlags(flags));
  }
  if (!opened.ok()) return opened.error();
  sys::UniqueFd caller_fd = std::move(*opened);
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, WidenForServer(std::move(caller_fd), flags));
  if (open_flags & abi::FUSE_OPEN_KILL_SUIDGID) PTFS_TRY(KillSuidGid(ctx, fd.get()));
  auto file = std::make_shared<FileState>();
  file->inode = inode;
  file->fd = std::move(fd);
  file->access_mode = static_cast<int>(flags) & O_ACCMODE;
  inodes_->NoteOpened(*inode, path_fd);
  Opened o;
  AttachBacking(*file, flags, /*reply_has_attrs=*/false, &o);
  o.fh = files_.Add(std::move(file));
  return o;
}

Result<Created> PassthroughFs::FinishCreate(sys::UniqueFd open_fd, uint32_t flags) {
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
  if (file->passthrough_writer) entry.attr_timeout = Timeout{};  // see AttrTimeoutFor
  c.entry = entry;
  c.open.fh = files_.Add(std::move(file));
  return c;
}

Result<Created> PassthroughFs::Create(const Context& ctx, NodeId parent, std::string_view name,
                                      uint32_t flags, uint32_t mode, uint32_t umask,
                                      uint32_t open_flags) {
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
                          return sys::OpenAt(dir.fd->get(), cname.c_str(),
                                             HostOpenFlags(flags) | O_CREAT | (flags & O_EXCL) |
                                                 O_NOFOLLOW,
                                             mode);
                        }));
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, WidenForServer(std::move(caller_fd), flags));
  // An existing file opened with O_TRUNC by a caller without CAP_FSETID.
  if (open_flags & abi::FUSE_OPEN_KILL_SUIDGID) PTFS_TRY(KillSuidGid(ctx, fd.get()));
  return FinishCreate(std::move(fd), flags);
}

Result<Created> PassthroughFs::TmpFile(const Context& ctx, NodeId parent, uint32_t flags,
                                       uint32_t mode, uint32_t umask) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  PTFS_TRY(ApplyUmask(dont_mask_, umask));
  int host_flags = (HostFlagsForOpen(flags) & ~O_DIRECTORY) | O_TMPFILE;
  if ((host_flags & O_ACCMODE) == O_RDONLY) host_flags |= O_RDWR;  // O_TMPFILE needs write
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, AsCaller(ctx, [&] {
                          return sys::OpenAt(dir.fd->get(), ".", host_flags, mode);
                        }));
  return FinishCreate(std::move(fd), flags);
}

Result<size_t> PassthroughFs::Read(const Context&, NodeId node, FileHandle fh, uint64_t offset,
                                   std::span<char> out) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  ssize_t n = ::pread(file->fd.get(), out.data(), out.size(), static_cast<off_t>(offset));
  if (n < 0) return Errno::Last();
  return static_cast<size_t>(n);
}

Result<size_t> PassthroughFs::Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                                    std::span<const char> data, uint32_t write_flags) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  if (write_flags & abi::FUSE_WRITE_KILL_SUIDGID) PTFS_TRY(KillSuidGid(ctx, file->fd.get()));
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

Errno PassthroughFs::Flush(const Context&, NodeId node, FileHandle fh, uint64_t lock_owner) {
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

Errno PassthroughFs::Release(const Context&, NodeId node, FileHandle fh, uint32_t release_flags,
                             uint64_t lock_owner) {
  std::shared_ptr<FileState> file = files_.Remove(fh);
  if (!file) return Errno(EBADF);
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
  if (file->passthrough_writer && file->inode->passthrough_writers.fetch_sub(1) == 1 &&
      watcher_ != nullptr) {
    watcher_->WriterClosed(file->fd.get(), node.value);
  }
  // The last open file of the inode is gone: no owner can hold locks on it.
  if (inodes_->NoteReleased(*file->inode)) locks_.InodeClosed(node);
  return Errno::Ok();
}

Errno PassthroughFs::Fsync(const Context&, NodeId node, FileHandle fh, SyncKind kind) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  return CheckSys(kind == SyncKind::kDataOnly ? ::fdatasync(file->fd.get())
                                              : ::fsync(file->fd.get()));
}

Result<Opened> PassthroughFs::OpenDir(const Context& ctx, NodeId node, uint32_t flags) {
  if (dirs_without_open_) {
    // ENOSYS tells the kernel that directories need no OPENDIR: it stops
    // sending OPENDIR and RELEASEDIR for the rest of the connection, lists
    // with fh 0, and caches every listing (FOPEN_CACHE_DIR|KEEP_CACHE, its
    // default then). Only chosen where that is safe (Init): the source watch
    // drops a cached listing when SOURCE changes, and with
    // default_permissions the kernel itself checks read permission at
    // open(2), the one thing OPENDIR as the caller would add.
    return Errno(ENOSYS);
  }
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  if (!inode->is_dir()) return Errno(ENOTDIR);
  PTFS_ASSIGN_OR_RETURN(SharedFd path_fd, inodes_->PathFd(*inode));
  const int host_flags = (static_cast<int>(flags) & (O_NOATIME)) | O_RDONLY | O_DIRECTORY;
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, AsCaller(ctx, [&] {
                          return sys::ReopenDir(path_fd->get(), host_flags);
                        }));
  auto dir = std::make_shared<DirState>();
  dir->inode = std::move(inode);
  dir->fd = std::move(fd);
  Opened o;
  // Listings are cached in the kernel and kept across opens: a change made
  // through the mount drops the cache at once (the kernel bumps the
  // directory's version), a change made in SOURCE directly when the
  // directory's mtime is next refreshed (AUTO_INVAL_DATA, at most
  // attr_timeout later), the same bound as for cached entries. A cached
  // listing is plain names, so inodes are not refreshed per entry as
  // READDIRPLUS would, and their cached ACLs survive (READDIRPLUS makes the
  // kernel drop them, costing `ls -l` one GETXATTR per file per run).
  if (keep_cache_) o.open_flags |= abi::FOPEN_CACHE_DIR | abi::FOPEN_KEEP_CACHE;
  o.fh = dirs_.Add(std::move(dir));
  return o;
}

Result<std::shared_ptr<DirState>> PassthroughFs::DirStreamOf(NodeId node, FileHandle fh) {
  if (fh.value != 0 || !dirs_without_open_) {
    PTFS_ASSIGN_OR_RETURN(std::shared_ptr<DirState> dir, dirs_.Get(fh));
    if (dir->inode->id() != node) return Errno(EBADF);
    return dir;
  }
  if (auto dir = dir_streams_.Get(node)) return dir;
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  if (!inode->is_dir()) return Errno(ENOTDIR);
  PTFS_ASSIGN_OR_RETURN(SharedFd path_fd, inodes_->PathFd(*inode));
  auto dir = std::make_shared<DirState>();
  PTFS_ASSIGN_OR_RETURN(dir->fd, sys::ReopenDir(path_fd->get(), O_RDONLY | O_DIRECTORY));
  dir->inode = std::move(inode);
  std::shared_ptr<DirState> evicted;
  return dir_streams_.Put(node, std::move(dir), &evicted);
}

Errno PassthroughFs::ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                             DirentSink& sink) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<DirState> dir, DirStreamOf(node, fh));
  // A new listing of a directory moved out of SOURCE would name (and with
  // READDIRPLUS, hand out) files outside it.
  if (offset == 0) {
    PTFS_TRY(confinement_->Check(dir->fd.get(), dir->inode->key().dev, dir->inode->key().ino,
                                 &dir->inode->proven_epoch));
  }
  // READDIRPLUS hands out attributes, which natively need search permission
  // on the directory; without default_permissions the kernel did not check.
  const bool may_search =
      !sink.plus() || options_.default_permissions || RunsAsDaemon(ctx) || AsCaller(ctx, [&] {
        return CheckSys(::faccessat(dir->fd.get(), "", X_OK, AT_EACCESS | AT_EMPTY_PATH));
      }).ok();
  const InodeKey dir_key = dir->inode->key();
  const bool skip_known = sink.plus() && Coherent(dir_key.dev);
  // A later chunk with attributes means the kernel saw lookups in the
  // directory: all its entries get them. For a new listing the advisor says.
  const bool files_get_attributes =
      !sink.plus() || offset != 0 ||
      options_.listing_attributes == PassthroughOptions::ListingAttributes::kAll ||
      listing_advisor_.StartListing(*dir->inode);
  uint64_t with_attributes = 0;
  uint64_t files_bare = 0;
  MutexLock lock(&dir->mu);
  // The kernel passes back the offset of the last entry it consumed. Host
  // offsets are the filesystem's own stable cookies (what telldir returns),
  // so a listing continues correctly across calls and concurrent changes.
  if (offset != dir->offset || dir->buf_pos >= dir->buf_len) {
    if (offset != dir->offset) {
      if (::lseek(dir->fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) return Errno::Last();
      dir->offset = offset;
    }
    dir->buf_pos = dir->buf_len = 0;
  }
  if (!dir->buf) dir->buf = std::make_unique_for_overwrite<char[]>(DirState::kBufSize);
  bool any = false;
  for (;;) {
    if (dir->buf_pos >= dir->buf_len) {
      auto n = sys::GetDents64(dir->fd.get(), std::span<char>(dir->buf.get(), DirState::kBufSize));
      if (!n.ok()) return any ? Errno::Ok() : n.error();
      if (*n == 0) break;  // end of directory
      dir->buf_pos = 0;
      dir->buf_len = *n;
    }
    auto* d = reinterpret_cast<struct dirent64*>(dir->buf.get() + dir->buf_pos);
    const std::string_view name(d->d_name);
    if (!sink.Fits(name)) break;
    const uint64_t next = static_cast<uint64_t>(d->d_off);
    if (!sink.plus()) {
      sink.Add(name, d->d_ino, d->d_type, next);
    } else {
      Entry e;
      const bool file = d->d_type != DT_DIR && d->d_type != DT_UNKNOWN;
      // A file the advisor leaves bare goes without a node whether the kernel
      // holds it or not. Whether it does only decides if the listing counts
      // as a probe (SentBare), which the first bare file it does not hold
      // settles; so for such files the table is asked only until then. (That
      // lookup was the largest part of the daemon's own time in a cold find.)
      const bool ask_table =
          files_get_attributes || !file || (skip_known && files_bare == 0);
      const bool known =
          ask_table && inodes_->NodeOf(InodeKey{dir_key.dev, d->d_ino}) != NodeId{};
      // An inode the kernel already holds goes without a node too: on a
      // watched filesystem its attributes are current, and an entry with a node would
      // make the kernel drop the inode's cached ACLs (fuse_direntplus_link),
      // so the next `ls -l` asked for each file's ACL again. It also saves a
      // statx per entry. (A d_ino naming another inode only costs a LOOKUP.)
      const bool kernel_holds = skip_known && known;
      // Directories always get attributes: a traversal enters them.
      const bool left_bare = !files_get_attributes && file && !kernel_holds;
      const bool no_node =
          name == "." || name == ".." || !may_search || kernel_holds || left_bare;
      // An inode not in the table cannot be found by LookupAt's fast path:
      // open it at once and save a statx by name.
      auto looked_up = no_node ? Result<Entry>(Errno(EINVAL))
                       : known ? LookupAt(dir->fd.get(), name, 1)
                               : LookupNew(dir->fd.get(), name, 1);
      if (looked_up.ok()) {
        e = *looked_up;
        ++with_attributes;
      } else {
        // "." and "..", a known inode, a file the advisor leaves bare, or an
        // entry that vanished meanwhile: send it without a node, so the
        // kernel takes no reference and looks it up on use (if it does not
        // hold it).
        e.attr.stx_ino = d->d_ino;
        e.attr.stx_mode = static_cast<uint32_t>(d->d_type) << 12;
        files_bare += left_bare ? 1 : 0;
      }
      sink.AddPlus(name, e, next);
    }
    any = true;
    dir->buf_pos += d->d_reclen;
    dir->offset = next;
  }
  if (with_attributes != 0) {
    listing_counters_.with_attributes.fetch_add(with_attributes, std::memory_order_relaxed);
  }
  if (files_bare != 0) {
    listing_counters_.files_bare.fetch_add(files_bare, std::memory_order_relaxed);
    listing_advisor_.SentBare(dir->inode);
  }
  return Errno::Ok();
}

Errno PassthroughFs::ReleaseDir(const Context&, NodeId, FileHandle fh) {
  if (fh.value == 0 && dirs_without_open_) return Errno::Ok();
  return dirs_.Remove(fh) ? Errno::Ok() : Errno(EBADF);
}

Errno PassthroughFs::FsyncDir(const Context&, NodeId node, FileHandle fh, SyncKind kind) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<DirState> dir, DirStreamOf(node, fh));
  return CheckSys(kind == SyncKind::kDataOnly ? ::fdatasync(dir->fd.get())
                                              : ::fsync(dir->fd.get()));
}

Result<struct statvfs> PassthroughFs::StatFs(const Context&, NodeId node) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  struct statvfs st;
  if (::fstatvfs(fd->get(), &st) < 0) return Errno::Last();
  return st;
}

// Extended attributes go through the inode's /proc/self/fd magic link: the
// f*xattr calls refuse O_PATH fds, and the magic link resolves to the inode
// itself (a symlink's own xattrs included), never to a path in SOURCE.
Errno PassthroughFs::SetXattr(const Context& ctx, NodeId node, std::string_view name,
                              std::span<const char> value, uint32_t flags) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  CName cname(name);
  const sys::ProcFd proc(fd->get());
  auto set = [&] {
    return sys::SetXattr(proc, cname.c_str(), value.data(), value.size(), static_cast<int>(flags));
  };
  // An access ACL keeps S_ISGID only for a member of the file's group.
  Errno result = name == "system.posix_acl_access" ? AsCallerWithAllGroups(ctx, set)
                                                   : AsCaller(ctx, set);
  ForgetXattrPresence(*inode);  // after the change: see GetXattr
  return result;
}

Result<size_t> PassthroughFs::GetXattr(const Context& ctx, NodeId node, std::string_view name,
                                       std::span<char> out) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  CName cname(name);
  const sys::ProcFd proc(fd->get());
  auto get = [&]() -> Result<size_t> {
    return sys::GetXattr(proc, cname.c_str(), out.empty() ? nullptr : out.data(), out.size());
  };
  // Most files have no extended attributes, yet the kernel asks for some on
  // every one: `ls -l` for security.selinux on each listing (FUSE caches no
  // xattrs) and for its ACL, and a first write for security.capability. The
  // first GETXATTR of an inode therefore lists its names instead, and if
  // there are none, later ones are answered ENODATA without a host call
  // until something may have added one: a SETXATTR through the mount, or an
  // outside change the source watch reports (FAN_ATTRIB), so an outside
  // setxattr shows within the watch's few milliseconds, like an outside
  // chmod. Only where the kernel checks permissions itself (else user.*
  // would need the caller's read permission checked here) and the watch
  // covers the inode's filesystem (which also limits this to local
  // filesystems, whose listxattr names every attribute getxattr finds).
  if (xattr_presence_usable_ && watcher_->Covers(inode->key().dev)) {
    uint32_t seen = inode->xattr_presence.load(std::memory_order_acquire);
    switch (seen & kXattrPresenceBits) {
      case kNoXattrs:
        xattr_absence_known_.fetch_add(1, std::memory_order_relaxed);
        return Errno(ENODATA);
      case kXattrsUnknown: {
        auto names = sys::ListXattr(proc, nullptr, 0);
        if (!names.ok()) break;
        LearnXattrPresence(*inode, seen, *names == 0 ? kNoXattrs : kSomeXattrs);
        if (*names == 0) return Errno(ENODATA);
        break;
      }
      default:
        break;
    }
    return get();
  }
  // user.* needs read permission; the kernel checked it with default_permissions.
  return options_.default_permissions ? get() : AsCaller(ctx, get);
}

Result<size_t> PassthroughFs::ListXattr(const Context& ctx, NodeId node, std::span<char> out) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  const sys::ProcFd proc(fd->get());
  // SOURCE lists trusted.* names only to CAP_SYS_ADMIN, which the daemon
  // keeps whatever its fsuid: filter them for callers other than root (the
  // request does not carry the caller's capabilities; uid 0 stands for them).
  const bool hide_trusted = ctx.uid != 0;
  if (!hide_trusted) return sys::ListXattr(proc, out.empty() ? nullptr : out.data(), out.size());
  std::vector<char> all;
  Result<size_t> n(size_t{0});
  do {
    n = sys::ListXattr(proc, nullptr, 0);
    if (!n.ok()) return n.error();
    all.resize(*n);
    if (*n != 0) n = sys::ListXattr(proc, all.data(), all.size());
  } while (!n.ok() && n.error().value() == ERANGE);  // grew between the two calls
  if (!n.ok()) return n.error();
  size_t used = 0;
  for (size_t pos = 0; pos < *n;) {
    const std::string_view entry(all.data() + pos);
    if (!entry.starts_with("trusted.")) {
      std::memmove(all.data() + used, entry.data(), entry.size() + 1);
      used += entry.size() + 1;
    }
    pos += entry.size() + 1;
  }
  if (out.empty()) return used;
  if (used > out.size()) return Errno(ERANGE);
  if (used > 0) std::memcpy(out.data(), all.data(), used);
  return used;
}

Errno PassthroughFs::RemoveXattr(const Context& ctx, NodeId node, std::string_view name) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  CName cname(name);
  const sys::ProcFd proc(fd->get());
  Errno result = AsCaller(ctx, [&] { return sys::RemoveXattr(proc, cname.c_str()); });
  ForgetXattrPresence(*inode);  // it may have none left: learn again
  return result;
}

// Only sent without default_permissions (the kernel answers access(2) itself
// otherwise). AT_EACCESS: check with the thread's (the caller's) fs ids; the
// kernel already put the caller's real ids into the request for access(2).
Errno PassthroughFs::Access(const Context& ctx, NodeId node, uint32_t mask) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  const sys::ProcFd proc(fd->get());
  return AsCaller(ctx, [&] {
    return CheckSys(::faccessat(proc.dir(), proc.name(), static_cast<int>(mask), AT_EACCESS));
  });
}

namespace {
struct flock ToFlock(const LockIn& l) {
  struct flock fl{};
  fl.l_type = static_cast<short>(l.type);
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(l.start);
  // The wire's end is inclusive with UINT64_MAX meaning "to EOF" (len 0).
  fl.l_len = l.end == UINT64_MAX || l.end >= static_cast<uint64_t>(INT64_MAX)
                 ? 0
                 : static_cast<off_t>(l.end - l.start + 1);
  return fl;
}
}  // namespace

Result<LockIn> PassthroughFs::GetLk(const Context&, NodeId node, FileHandle fh, uint64_t owner,
                                    const LockIn& lock) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, locks_.FdFor(node, fh, owner, file->fd.get(),
                                                     file->access_mode));
  struct flock fl = ToFlock(lock);
  if (::fcntl(fd->get(), F_OFD_GETLK, &fl) < 0) return Errno::Last();
  LockIn out;
  out.type = static_cast<uint32_t>(fl.l_type);
  if (fl.l_type != F_UNLCK) {
    out.start = static_cast<uint64_t>(fl.l_start);
    out.end = fl.l_len == 0 ? UINT64_MAX : static_cast<uint64_t>(fl.l_start + fl.l_len - 1);
    out.pid = 0;  // OFD locks have no owning pid
  }
  return out;
}

Errno PassthroughFs::SetLk(const Context&, NodeId node, FileHandle fh, uint64_t owner,
                           const LockIn& lock, LockKind kind) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  if (kind == LockKind::kFlock) {
    const int op = lock.type == F_RDLCK ? LOCK_SH : lock.type == F_WRLCK ? LOCK_EX : LOCK_UN;
    return CheckSys(::flock(file->fd.get(), op | LOCK_NB));
  }
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, locks_.FdFor(node, fh, owner, file->fd.get(),
                                                     file->access_mode));
  struct flock fl = ToFlock(lock);
  return CheckSys(::fcntl(fd->get(), F_OFD_SETLK, &fl));
}

Errno PassthroughFs::Fallocate(const Context&, NodeId node, FileHandle fh, uint32_t mode,
                               uint64_t offset, uint64_t length) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  return CheckSys(::fallocate(file->fd.get(), static_cast<int>(mode), static_cast<off_t>(offset),
                              static_cast<off_t>(length)));
}

Result<uint64_t> PassthroughFs::Lseek(const Context&, NodeId node, FileHandle fh, uint64_t offset,
                                      uint32_t whence) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> file, FileOf(node, fh));
  off_t r = ::lseek(file->fd.get(), static_cast<off_t>(offset), static_cast<int>(whence));
  if (r < 0) return Errno::Last();
  return static_cast<uint64_t>(r);
}

Result<uint64_t> PassthroughFs::CopyFileRange(const Context&, NodeId node_in, FileHandle fh_in,
                                              uint64_t off_in, NodeId node_out,
                                              FileHandle fh_out, uint64_t off_out, uint64_t len,
                                              uint64_t flags) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> in, FileOf(node_in, fh_in));
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<FileState> out, FileOf(node_out, fh_out));
  loff_t oi = static_cast<loff_t>(off_in), oo = static_cast<loff_t>(off_out);
  ssize_t n = ::copy_file_range(in->fd.get(), &oi, out->fd.get(), &oo, len,
                                static_cast<unsigned>(flags));
  if (n < 0) return Errno::Last();
  return static_cast<uint64_t>(n);
}

Errno PassthroughFs::SyncFs(const Context&, NodeId) {
  return CheckSys(::syncfs(root_dir_fd_.get()));
}

}  // namespace ptfs::passthrough
