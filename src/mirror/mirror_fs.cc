// MirrorFs: setup, INIT, the inode table's entries (LOOKUP, FORGET,
// GETATTR, SETATTR) and the operations on names (SYMLINK, MKNOD, MKDIR,
// UNLINK, RMDIR, RENAME, LINK). Open files are in file_ops.cc, directory
// listings in readdir.cc, extended attributes in xattr_ops.cc.
#include "mirror/mirror_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "abi/fuse_abi.h"
#include "mirror/caller.h"
#include "mirror/wire_to_host.h"
#include "mirror/xattr_presence.h"
#include "sys/mountinfo.h"
#include "sys/syscalls.h"
#include "util/log.h"

namespace ptfs::mirror {

namespace {

// The target of /proc/self/fd/FD: where the kernel says the fd's file is.
std::optional<std::string> LinkOf(int fd) {
  const sys::ProcFd proc(fd);
  char buf[PATH_MAX];
  const ssize_t n = ::readlinkat(proc.dir(), proc.name(), buf, sizeof(buf));
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

namespace {

// With the source watch, SOURCE is reached through a private clone of its
// mounts, so fanotify can leave out the mount's own passthrough writes
// (SourceWatcher::Create). Where that is refused (no CAP_SYS_ADMIN, an
// unbindable mount), the usual open; `own_mounts` says which it was.
Result<sys::UniqueFd> OpenSource(const MirrorOptions& options, bool watch, bool* own_mounts) {
  *own_mounts = false;
  if (watch && options.private_mounts) {
    auto clone = sys::OpenTreeClone(options.source.c_str());
    if (clone.ok()) {
      *own_mounts = true;
      if (Errno why = sys::SetTreeAtime(clone->get(), options.atime, options.nodiratime)) {
        LOG_INFO("access times follow SOURCE's mount, not the mount's options (%s)",
                 strerror(why.value()));
      }
      return std::move(*clone);
    }
    LOG_DEBUG("no private clone of SOURCE's mounts (%s)", strerror(clone.error().value()));
  }
  return sys::OpenAt(AT_FDCWD, options.source.c_str(), O_PATH | O_DIRECTORY);
}

InodeTableOptions TableOptions(const MirrorOptions& options, int root, int root_dir) {
  InodeTableOptions topts;
  topts.fd_cache_slots = options.fd_cache_slots;
  topts.use_handles = options.handles == MirrorOptions::Handles::kAuto;
  if (topts.use_handles) {
    // Handles are usable only if we can also open them again (needs
    // CAP_DAC_READ_SEARCH) and SOURCE's filesystem exports them.
    int mount_id;
    auto handle = sys::NameToHandle(root, "", &mount_id);
    Errno why = handle.error();
    if (handle.ok()) why = sys::OpenByHandle(root_dir, *handle, O_PATH).error();
    if (why) {
      topts.use_handles = false;
      // Debug only (issue 20: every unprivileged mount printed it): the fd
      // cache's bound is what this costs, and the stats show its use.
      LOG_DEBUG("file handles unavailable on %s (%s): holding an O_PATH fd per inode",
               options.source.c_str(), strerror(why.value()));
    }
  }
  return topts;
}

// --export: how SOURCE's handles become nodeids, or why they cannot.
Result<HandleLayout> ExportLayout(const MirrorOptions& options, const InodeTableOptions& topts,
                                  int root) {
  if (!topts.use_handles) {
    LOG_ERROR("--export needs file handles on SOURCE: open_by_handle_at needs "
              "CAP_DAC_READ_SEARCH (run as root), and not --no-handles");
    return Errno(EOPNOTSUPP);
  }
  struct statfs sfs;
  if (::fstatfs(root, &sfs) < 0) return Errno::Last();
  const HandleLayout layout = LayoutForFilesystem(static_cast<int64_t>(sfs.f_type));
  if (layout == HandleLayout::kNone || options.export_table) {
    if (!options.export_table) {
      LOG_INFO("--export: the file handles of %s's filesystem (type 0x%llx) are not an inode "
               "number and a generation: nodeids come from a table in %s",
               options.source.c_str(), static_cast<unsigned long long>(sfs.f_type),
               options.state_dir.c_str());
    }
    return HandleLayout::kTable;
  }
  return layout;
}

// The nodeid table's file: in the state directory, named after SOURCE's
// filesystem and root (its handle), so that each SOURCE has its own and a
// remount of the same SOURCE finds it again.
Result<sys::UniqueFd> OpenNodeTableFile(const MirrorOptions& options, int root) {
  if (options.state_dir.empty()) return Errno(ENOENT);
  if (::mkdir(options.state_dir.c_str(), 0700) < 0 && errno != EEXIST) return Errno::Last();
  int mount_id;
  PTFS_ASSIGN_OR_RETURN(sys::HandleBlob h, sys::NameToHandle(root, "", &mount_id));
  struct statfs sfs;
  if (::fstatfs(root, &sfs) < 0) return Errno::Last();
  std::string name = "nodeids-";
  char hex[3];
  int fsid[2];
  std::memcpy(fsid, &sfs.f_fsid, sizeof fsid);
  for (const int part : fsid) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      snprintf(hex, sizeof hex, "%02x", (static_cast<unsigned>(part) >> shift) & 0xff);
      name += hex;
    }
  }
  name += "-";
  for (unsigned char c : h.bytes) {
    snprintf(hex, sizeof hex, "%02x", c);
    name += hex;
  }
  const std::string path = options.state_dir + "/" + name;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno::Last();
  LOG_INFO("--export: the nodeid table is %s", path.c_str());
  return sys::UniqueFd(fd);
}

// Whether SOURCE is the root of its filesystem (mounted there, and not a
// bind mount of a directory inside it).
bool IsFilesystemRoot(const std::string& source) {
  char* real = ::realpath(source.c_str(), nullptr);
  if (real == nullptr) return false;
  const std::string path(real);
  ::free(real);
  const auto mount = sys::FindMount(sys::ReadMountInfo(), path);
  return mount && mount->root == "/";
}

// The source watch, or nullptr where fanotify cannot watch SOURCE;
// `status` says which, for INIT's log.
std::unique_ptr<SourceWatcher> WatchSource(const MirrorOptions& options, int root_dir,
                                           bool own_mounts, std::string* status) {
  auto created = SourceWatcher::Create(root_dir, own_mounts);
  if (!created.ok()) {
    const int e = created.error().value();
    *status = std::string("source watch: off (fanotify cannot watch SOURCE's filesystem: ") +
              strerror(e) + (e == EPERM ? ", needs CAP_SYS_ADMIN" : "") +
              "); entries and attributes are cached for the short timeouts only";
    return nullptr;
  }
  *status = options.timeouts_given
                ? "source watch: on (fanotify); outside changes to SOURCE reach the "
                  "kernel within milliseconds"
                : "source watch: on (fanotify); the kernel caches entries and "
                  "attributes up to " +
                      std::to_string(options.coherent_timeout.sec) +
                      " s and learns of outside changes to SOURCE within milliseconds";
  return std::move(*created);
}

// Confinement of SOURCE's root `root`, which finds a directory's proof of
// being under SOURCE in the inode table; `watch_fd` -1: no fanotify.
std::unique_ptr<Confinement> ConfineTo(InodeTable* table, const struct statx& root, int watch_fd) {
  return std::make_unique<Confinement>(
      DevOf(root), root.stx_ino, watch_fd,
      [table](uint64_t dev, uint64_t ino, std::shared_ptr<void>* keep) -> std::atomic<uint64_t>* {
        const NodeId node = table->NodeOf(InodeKey{dev, ino});
        if (node == NodeId{}) return nullptr;
        auto inode = table->Get(node);
        if (!inode.ok() || !(*inode)->is_dir()) return nullptr;
        std::atomic<uint64_t>* proof = &(*inode)->proven_epoch;
        *keep = std::move(*inode);
        return proof;
      });
}

}  // namespace

Result<std::unique_ptr<MirrorFs>> MirrorFs::Create(const MirrorOptions& options) {
  const bool caching = options.entry_timeout.sec != 0 || options.entry_timeout.nsec != 0 ||
                       options.attr_timeout.sec != 0 || options.attr_timeout.nsec != 0;
  const bool watch = options.watch_source && caching;
  bool own_mounts;
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd root, OpenSource(options, watch, &own_mounts));
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd root_dir, sys::Reopen(root.get(), O_RDONLY | O_DIRECTORY));
  PTFS_ASSIGN_OR_RETURN(struct statx stx, sys::StatxFd(root.get(), kStatxMask));
  InodeTableOptions topts = TableOptions(options, root.get(), root_dir.get());
  const bool fs_root = options.export_handles && IsFilesystemRoot(options.source);
  sys::UniqueFd node_table_fd;
  std::unique_ptr<NodeTable> node_table;
  if (options.export_handles) {
    PTFS_ASSIGN_OR_RETURN(topts.node_ids, ExportLayout(options, topts, root.get()));
    topts.remember_files = !fs_root && topts.node_ids != HandleLayout::kTable;
    if (topts.node_ids == HandleLayout::kTable) {
      auto file = OpenNodeTableFile(options, root.get());
      if (!file.ok()) {
        LOG_ERROR("--export: cannot keep a nodeid table in the state directory '%s': %s",
                  options.state_dir.c_str(), strerror(file.error().value()));
        return file.error();
      }
      node_table_fd = std::move(*file);
      PTFS_ASSIGN_OR_RETURN(node_table, NodeTable::Open(node_table_fd.get()));
      topts.node_table = node_table.get();
    }
  }
  auto table = std::make_unique<InodeTable>(std::move(root), stx, topts);
  std::unique_ptr<SourceWatcher> watcher;
  std::string watch_status;
  if (watch) watcher = WatchSource(options, root_dir.get(), own_mounts, &watch_status);
  auto confinement = ConfineTo(table.get(), stx, options.confinement_watch ? root_dir.get() : -1);
  auto fs = std::unique_ptr<MirrorFs>(
      new MirrorFs(options, std::move(table), std::move(root_dir)));
  fs->node_table_fd_ = std::move(node_table_fd);
  fs->node_table_ = std::move(node_table);
  fs->confinement_ = std::move(confinement);
  fs->watcher_ = std::move(watcher);
  fs->watch_status_ = std::move(watch_status);
  fs->source_is_fs_root_ = fs_root;
  // At the process's fd limit, cached O_PATH fds are what can go: an open
  // that hit EMFILE closes half of them and tries again.
  fs->fd_pressure_token_ = sys::SetFdPressureHandler(
      [](void* self) {
        auto* fs = static_cast<MirrorFs*>(self);
        std::vector<NodeId> shed_nodes;
        const size_t shed = fs->inodes_->ShedCachedFds(&shed_nodes);
        fs->fds_shed_.fetch_add(shed, std::memory_order_relaxed);
        if (shed != 0) LOG_WARN("at the fd limit: closed %zu cached fds", shed);
        fs->AskKernelToPrune(shed_nodes);
        return shed != 0;
      },
      fs.get());
  return fs;
}

MirrorFs::~MirrorFs() { sys::ClearFdPressureHandler(fd_pressure_token_); }

void MirrorFs::AskKernelToPrune(std::vector<NodeId>& nodes) {
  // Inodes whose cached fd just went are the least likely to be used next;
  // those the kernel does not use it forgets (FORGET follows), and with them
  // go their table entries and, where SOURCE has no file handles, the fd
  // each pins. The kernel skips any still in use. (Sent from the worker
  // whose open hit the limit: pruning takes no lock a request holds.)
  std::erase(nodes, kRootNode);
  if (nodes.empty() || notifier_ == nullptr || !prune_supported_.load()) return;
  if (Errno e = notifier_->Prune(nodes)) {
    prune_supported_.store(false);
    LOG_INFO("the kernel cannot be asked to forget unused inodes (FUSE_NOTIFY_PRUNE, Linux "
             "6.18+: %s); only cached fds are closed at the fd limit",
             strerror(e.value()));
    return;
  }
  prune_asked_.fetch_add(nodes.size(), std::memory_order_relaxed);
}

void MirrorFs::Destroy() {
  if (watcher_) watcher_->Stop();
}

Timeout MirrorFs::EntryTimeoutFor(uint64_t dev) const {
  if (options_.per_caller_lookups) return Timeout{};
  return !options_.timeouts_given && Coherent(dev) ? options_.coherent_timeout
                                                    : options_.entry_timeout;
}

Timeout MirrorFs::AttrTimeoutFor(const Inode& inode, uint64_t dev) const {
  if (inode.mappable_writers.load(std::memory_order_acquire) > 0) return Timeout{};
  return !options_.timeouts_given && Coherent(dev) ? options_.coherent_timeout
                                                    : options_.attr_timeout;
}

MirrorFs::MirrorFs(const MirrorOptions& options, std::unique_ptr<InodeTable> inodes,
                             sys::UniqueFd root_dir_fd)
    : options_(options),
      inodes_(std::move(inodes)),
      root_dir_fd_(std::move(root_dir_fd)),
      root_link_(LinkOf(inodes_->root_fd()).value_or("")),
      backing_(options.idle_backings) {}

Result<std::string> MirrorFs::PathOf(NodeId node) {
  if (node == kRootNode) return std::string();
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  return PathUnderSource(fd->get(), inode->key());
}

Result<std::string> MirrorFs::PathUnderSource(int fd, const InodeKey& key) const {
  // /proc/self/fd names where the inode is now; but a removed file's name,
  // or one moved out of SOURCE, can still read as a path under it, so the
  // answer counts only if it leads back to this very inode.
  const std::optional<std::string> link = LinkOf(fd);
  if (!link || root_link_.empty()) return Errno(ENOENT);
  std::string rel;
  if (root_link_ == "/") {
    if (!link->starts_with("/")) return Errno(ENOENT);
    rel = link->substr(1);
  } else {
    if (!link->starts_with(root_link_ + "/")) return Errno(ENOENT);
    rel = link->substr(root_link_.size() + 1);
  }
  struct stat st;
  if (rel.empty() ||
      ::fstatat(inodes_->root_fd(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) < 0 ||
      InodeKey{st.st_dev, st.st_ino} != key) {
    return Errno(ENOENT);
  }
  return rel;
}

Result<std::string> MirrorFs::PathOfRecent(NodeId node) {
  if (!paths_watched_.load(std::memory_order_acquire)) return PathOf(node);
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  const uint64_t epoch = path_epoch_.load(std::memory_order_acquire);
  {
    std::lock_guard<std::mutex> lock(path_cache_mu_);
    auto it = path_cache_.find(node.value);
    if (it != path_cache_.end() && it->second.epoch == epoch && it->second.key == inode->key() &&
        it->second.generation == inode->generation()) {
      return it->second.path;
    }
  }
  PTFS_ASSIGN_OR_RETURN(std::string path, PathOf(node));
  std::lock_guard<std::mutex> lock(path_cache_mu_);
  if (path_cache_.size() >= 4096) path_cache_.clear();  // bounded; refilled as used
  // Stored with the epoch read before the path: a rename finishing
  // meanwhile moved the epoch on, so the entry is already out of date.
  path_cache_[node.value] = CachedPath{inode->key(), inode->generation(), epoch, path};
  return path;
}

void MirrorFs::Init(const ConnectionInfo& info) {
  dont_mask_ = (info.flags & abi::FUSE_DONT_MASK) != 0;
  // Keeping the page cache across opens needs the attribute checks of
  // AUTO_INVAL_DATA for files open while SOURCE changes, and is pointless
  // when the caller asked for no caching.
  keep_cache_ = (info.flags & abi::FUSE_AUTO_INVAL_DATA) != 0 &&
                (options_.attr_timeout.sec != 0 || options_.attr_timeout.nsec != 0);
  writeback_ = (info.flags & abi::FUSE_WRITEBACK_CACHE) != 0;
  if ((info.flags & abi::FUSE_PASSTHROUGH) != 0 && registrar_ != nullptr) {
    backing_.Enable(registrar_);
    // Inode passthrough wants nodeid == st_ino; --export derives nodeids
    // from handles (the option parser does not let both be asked for).
    if (info.inode_passthrough && options_.inode_passthrough_ops != 0 &&
        !inodes_->handle_node_ids()) {
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
        },
        [this] { path_epoch_.fetch_add(1, std::memory_order_acq_rel); });
    paths_watched_ = true;
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
void MirrorFs::LogInodePassthrough(const ConnectionInfo& info) {
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

Result<MirrorFs::DirFd> MirrorFs::DirOf(NodeId parent) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(parent));
  if (!inode->is_dir()) return Errno(ENOTDIR);
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  PTFS_TRY(confinement_->Check(fd->get(), inode->key().dev, inode->key().ino,
                               &inode->proven_epoch));
  return DirFd{std::move(inode), std::move(fd)};
}

Result<Entry> MirrorFs::EntryFor(sys::UniqueFd path_fd, uint64_t refs) {
  // An outside change the watch resolves between this statx and the
  // insertion finds no node and is dropped (SourceWatcher::ResolutionsStarted).
  const uint64_t changes_before = watcher_ ? watcher_->ResolutionsStarted() : 0;
  PTFS_ASSIGN_OR_RETURN(struct statx stx, sys::StatxFd(path_fd.get(), kStatxMask));
  // An inode on another filesystem (a mount inside SOURCE): watch that one too.
  if (watcher_) watcher_->Watch(path_fd.get(), DevOf(stx));
  if (S_ISDIR(stx.stx_mode)) confinement_->Watch(path_fd.get(), DevOf(stx));
  if (entry_race_hook_) entry_race_hook_();
  InodePtr replaced;
  PTFS_ASSIGN_OR_RETURN(InodePtr inode,
                        inodes_->Insert(std::move(path_fd), stx, refs, &replaced));
  ReleaseInodeBacking(replaced);
  Entry entry = MakeEntry(*inode, stx);
  if (watcher_ && watcher_->ResolutionsStarted() != changes_before) {
    // The attributes may predate a change the kernel will not be told of:
    // let it ask again at their next use (the name stays cached).
    entry.attr_timeout = Timeout{};
    watcher_->NoteRacedEntry();
  }
  return entry;
}

Result<Entry> MirrorFs::LookupAt(int dir_fd, std::string_view name, uint64_t refs) {
  CName cname(name);
  // Fast path for inodes we already hold open: one statx, no open/close and
  // no handle. (AT_SYMLINK_NOFOLLOW: a symlink is looked up as itself.)
  PTFS_ASSIGN_OR_RETURN(struct statx stx, sys::StatxAt(dir_fd, cname.c_str(), kStatxMask));
  if (InodePtr held = inodes_->TakeIfHeld(stx, refs)) return MakeEntry(*held, stx);
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd,
                        sys::OpenAt(dir_fd, cname.c_str(), O_PATH | O_NOFOLLOW));
  return EntryFor(std::move(fd), refs);
}

Result<Entry> MirrorFs::LookupNew(int dir_fd, std::string_view name, uint64_t refs) {
  CName cname(name);
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd,
                        sys::OpenAt(dir_fd, cname.c_str(), O_PATH | O_NOFOLLOW));
  return EntryFor(std::move(fd), refs);
}

Entry MirrorFs::MakeEntry(const Inode& inode, const struct statx& stx) const {
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

Result<Entry> MirrorFs::LookupSelfOrParent(NodeId node, bool parent) {
  if (!inodes_->handle_node_ids()) return Errno(EINVAL);  // not asked for without export
  if (parent) {
    // SOURCE's parent is not in the mount (the kernel stops at its root).
    if (node == kRootNode) return Errno(ENOENT);
    // A directory proven in SOURCE, and not SOURCE: its parent is in it.
    PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(node));
    return LookupAt(dir.fd->get(), "..", 1);
  }
  if (node == kRootNode) return LookupAt(inodes_->root_fd(), ".", 1);
  sys::UniqueFd fd;
  if (auto known = inodes_->Find(node); known.ok()) {
    PTFS_ASSIGN_OR_RETURN(SharedFd held, inodes_->PathFd(**known));
    PTFS_ASSIGN_OR_RETURN(fd, sys::Reopen(held->get(), O_PATH | O_NOFOLLOW));
  } else {
    // Forgotten (or never handed out by this process): the nodeid itself
    // says which inode, anywhere on SOURCE's filesystem.
    PTFS_ASSIGN_OR_RETURN(fd, inodes_->OpenNode(node));
    PTFS_ASSIGN_OR_RETURN(struct statx stx, sys::StatxFd(fd.get(), kStatxMask));
    if (Errno refused = ConfineFoundByHandle(node, fd.get(), stx)) {
      handles_refused_.fetch_add(1, std::memory_order_relaxed);
      return refused;
    }
    handles_decoded_.fetch_add(1, std::memory_order_relaxed);
  }
  PTFS_ASSIGN_OR_RETURN(Entry e, EntryFor(std::move(fd), 1));
  if (e.node != node) {
    // Cannot be with derived nodeids; never answer one nodeid with another.
    Forget(e.node, 1);
    return Errno(ESTALE);
  }
  return e;
}

Errno MirrorFs::ConfineFoundByHandle(NodeId node, int fd, const struct statx& stx) {
  const InodeKey key{DevOf(stx), stx.stx_ino};
  if (key.dev != inodes_->root_key().dev) return Errno(ESTALE);
  if (S_ISDIR(stx.stx_mode)) {
    // A directory found by handle is connected to its filesystem's root by
    // the kernel: the walk up through ".." meets SOURCE or not.
    std::atomic<uint64_t> unproven{0};
    return confinement_->Check(fd, key.dev, key.ino, &unproven) ? Errno(ESTALE) : Errno::Ok();
  }
  if (source_is_fs_root_) return Errno::Ok();
  // Any other file has no way up. It is in SOURCE if this daemon handed it
  // out before (it was then; a file moved out on the host since stays
  // reachable by its old handle, as with nfsd's no_subtree_check), or if a
  // name under SOURCE leads to it (the host kernel knows the name while the
  // file's dentry is cached). Otherwise: ESTALE (docs/persistent-identity.md).
  if (inodes_->HeldFileBefore(node)) return Errno::Ok();
  return PathUnderSource(fd, key).ok() ? Errno::Ok() : Errno(ESTALE);
}

Result<Entry> MirrorFs::Lookup(const Context& ctx, NodeId parent, std::string_view name) {
  if (name == "." || name == "..") return LookupSelfOrParent(parent, name == "..");
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

void MirrorFs::Forget(NodeId node, uint64_t nlookup) {
  InodePtr gone = inodes_->Forget(node, nlookup);
  if (gone && gone->is_dir() && dirs_without_open_) (void)dir_streams_.Drop(node);
  ReleaseInodeBacking(gone);
}

void MirrorFs::ReleaseInodeBacking(const InodePtr& gone) {
  if (!gone) return;
  if (gone->inode_backing_held.exchange(false)) backing_.Release(gone->id());
  // A backing kept idle after the last close names this host inode: the
  // nodeid may next stand for another one (ino-as-nodeid), or be gone.
  backing_.Forget(gone->id());
}

BackingId MirrorFs::AttachInodeBacking(NodeId node, uint32_t inode_ops) {
  if (!inode_passthrough_ || inode_ops == 0) return BackingId{};
  auto inode = inodes_->Get(node);
  if (!inode.ok()) return BackingId{};
  // The kernel attaches backings to regular files and directories only; a
  // symlink or special file has no file to register.
  if ((*inode)->type() != S_IFREG && !(*inode)->is_dir()) return BackingId{};
  auto fd = inodes_->PathFd(**inode);
  if (!fd.ok()) return BackingId{};
  // As the draft's own server: a regular file's backing also carries its
  // reads and writes (its opens are answered with this id).
  if ((*inode)->type() == S_IFREG) inode_ops |= kInodeOpData;
  return backing_.HoldForInode(node, &(*inode)->inode_backing_held, (*fd)->get(), inode_ops);
}

Result<Attr> MirrorFs::GetAttr(const Context& ctx, NodeId node, const FileHandle* fh) {
  return Statx(ctx, node, fh, 0, kStatxMask);
}

Result<Attr> MirrorFs::Statx(const Context&, NodeId node, const FileHandle* fh,
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

namespace {

// SetAttr's changes. Each runs as the caller: SOURCE then decides who may
// chmod (the owner), chown (root; the owner to a group they are in),
// truncate (a writer) and set times (a writer for "now", the owner for
// explicit times). `file` is the open file SETATTR named, or nullptr.

Errno SetMode(const Context& ctx, uint32_t wire_mode, const FileState* file,
              const sys::ProcFd& proc) {
  const mode_t mode = wire_mode & 07777;
  auto chmod = [&] {
    return CheckSys(file ? ::fchmod(file->fd.get(), mode)
                         : ::fchmodat(proc.dir(), proc.name(), mode, 0));
  };
  // Whether S_ISGID survives depends on membership in the file's group.
  return (mode & S_ISGID) ? AsCallerWithAllGroups(ctx, chmod) : AsCaller(ctx, chmod);
}

Errno SetOwner(const Context& ctx, const SetAttrIn& in, int path_fd) {
  const uid_t uid = (in.valid & abi::FATTR_UID) ? in.uid : static_cast<uid_t>(-1);
  const gid_t gid = (in.valid & abi::FATTR_GID) ? in.gid : static_cast<gid_t>(-1);
  return AsCallerMaybeAll(ctx, SgidDependsOnGroups(ctx, path_fd), [&] {
    return CheckSys(::fchownat(path_fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
  });
}

Errno SetSize(const Context& ctx, uint64_t size, const FileState* file, int path_fd,
              const sys::ProcFd& proc) {
  return AsCallerMaybeAll(ctx, SgidDependsOnGroups(ctx, path_fd), [&] {
    return CheckSys(file && file->access_mode != O_RDONLY
                        ? ::ftruncate(file->fd.get(), static_cast<off_t>(size))
                        : ::truncate(proc.path(), static_cast<off_t>(size)));
  });
}

Errno SetTimes(const Context& ctx, const SetAttrIn& in, int path_fd, const sys::ProcFd& proc) {
  struct timespec times[2];
  times[0] = (in.valid & abi::FATTR_ATIME) ? in.atime : timespec{0, UTIME_OMIT};
  times[1] = (in.valid & abi::FATTR_MTIME) ? in.mtime : timespec{0, UTIME_OMIT};
  auto utimes = [&] {
    int rc = ::utimensat(path_fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
    if (rc < 0 && errno == EINVAL) rc = ::utimensat(proc.dir(), proc.name(), times, 0);
    return CheckSys(rc);
  };
  // FATTR_CTIME comes only with the kernel's own mtime/ctime (writeback
  // cache: flushing times, or a truncate by a writer), never from a
  // utimensat(2) caller: those are the kernel's bookkeeping, applied as
  // the daemon (a writer who is not the owner may not set explicit times).
  return (in.valid & abi::FATTR_CTIME) ? utimes() : AsCaller(ctx, utimes);
}

}  // namespace

Result<Attr> MirrorFs::SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd path_fd, inodes_->PathFd(*inode));
  // Security modules may rewrite their attributes (EVM's security.evm) on an
  // attribute change the daemon makes: see GetXattr.
  ForgetXattrPresence(*inode);
  std::shared_ptr<FileState> file;
  if ((in.valid & abi::FATTR_FH) != 0) {
    auto f = FileOf(node, in.fh);
    if (f.ok()) file = std::move(*f);
  }
  const sys::ProcFd proc(path_fd->get());
  if (in.valid & abi::FATTR_MODE) PTFS_TRY(SetMode(ctx, in.mode, file.get(), proc));
  if (in.valid & (abi::FATTR_UID | abi::FATTR_GID)) PTFS_TRY(SetOwner(ctx, in, path_fd->get()));
  if (in.valid & abi::FATTR_SIZE) {
    PTFS_TRY(SetSize(ctx, in.size, file.get(), path_fd->get(), proc));
  }
  if (in.valid & (abi::FATTR_ATIME | abi::FATTR_MTIME)) {
    PTFS_TRY(SetTimes(ctx, in, path_fd->get(), proc));
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

Result<std::string> MirrorFs::ReadLink(const Context&, NodeId node) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  std::string target(PATH_MAX, '\0');
  ssize_t n = ::readlinkat(fd->get(), "", target.data(), target.size());
  if (n < 0) return Errno::Last();
  target.resize(static_cast<size_t>(n));
  return target;
}

Result<Entry> MirrorFs::Symlink(const Context& ctx, NodeId parent, std::string_view name,
                                     std::string_view target) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  CName cname(name), ctarget(target);
  PTFS_TRY(AsCaller(ctx, [&] {
    return CheckSys(::symlinkat(ctarget.c_str(), dir.fd->get(), cname.c_str()));
  }));
  return LookupAt(dir.fd->get(), name, 1);
}

Result<Entry> MirrorFs::MkNod(const Context& ctx, NodeId parent, std::string_view name,
                                   uint32_t mode, uint32_t rdev, uint32_t umask) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  PTFS_TRY(ApplyUmask(dont_mask_, umask));
  CName cname(name);
  PTFS_TRY(AsCaller(ctx, [&] {
    return CheckSys(::mknodat(dir.fd->get(), cname.c_str(), mode, DecodeRdev(rdev)));
  }));
  return LookupAt(dir.fd->get(), name, 1);
}

Result<Entry> MirrorFs::MkDir(const Context& ctx, NodeId parent, std::string_view name,
                                   uint32_t mode, uint32_t umask) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  PTFS_TRY(ApplyUmask(dont_mask_, umask));
  CName cname(name);
  PTFS_TRY(AsCaller(ctx, [&] { return CheckSys(::mkdirat(dir.fd->get(), cname.c_str(), mode)); }));
  return LookupAt(dir.fd->get(), name, 1);
}

Errno MirrorFs::Unlink(const Context& ctx, NodeId parent, std::string_view name) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  CName cname(name);
  return AsCaller(ctx, [&] { return CheckSys(::unlinkat(dir.fd->get(), cname.c_str(), 0)); });
}

Errno MirrorFs::RmDir(const Context& ctx, NodeId parent, std::string_view name) {
  PTFS_ASSIGN_OR_RETURN(DirFd dir, DirOf(parent));
  CName cname(name);
  const Errno e = AsCaller(ctx, [&] {
    return CheckSys(::unlinkat(dir.fd->get(), cname.c_str(), AT_REMOVEDIR));
  });
  if (e.ok()) path_epoch_.fetch_add(1, std::memory_order_acq_rel);  // PathOfRecent
  return e;
}

Errno MirrorFs::Rename(const Context& ctx, NodeId parent, std::string_view name,
                            NodeId new_parent, std::string_view new_name, RenameFlags flags) {
  PTFS_ASSIGN_OR_RETURN(DirFd from, DirOf(parent));
  PTFS_ASSIGN_OR_RETURN(DirFd to, DirOf(new_parent));
  CName cname(name), cnew(new_name);
  const Errno e = AsCaller(ctx, [&] {
    return CheckSys(
        ::renameat2(from.fd->get(), cname.c_str(), to.fd->get(), cnew.c_str(), flags.bits));
  });
  // After the rename: a path read before it and cached with the old epoch
  // is then out of date (PathOfRecent).
  if (e.ok()) path_epoch_.fetch_add(1, std::memory_order_acq_rel);
  return e;
}

Result<Entry> MirrorFs::Link(const Context& ctx, NodeId node, NodeId new_parent,
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

Result<struct statvfs> MirrorFs::StatFs(const Context&, NodeId node) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  struct statvfs st;
  if (::fstatvfs(fd->get(), &st) < 0) return Errno::Last();
  return st;
}

// Only sent without default_permissions (the kernel answers access(2) itself
// otherwise). AT_EACCESS: check with the thread's (the caller's) fs ids; the
// kernel already put the caller's real ids into the request for access(2).
Errno MirrorFs::Access(const Context& ctx, NodeId node, uint32_t mask) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd fd, inodes_->PathFd(*inode));
  const sys::ProcFd proc(fd->get());
  return AsCaller(ctx, [&] {
    return CheckSys(::faccessat(proc.dir(), proc.name(), static_cast<int>(mask), AT_EACCESS));
  });
}

Errno MirrorFs::SyncFs(const Context&, NodeId) {
  return CheckSys(::syncfs(root_dir_fd_.get()));
}

}  // namespace ptfs::mirror
