// MirrorFs: mirrors a host directory (SOURCE). Every host access goes
// through fds and *at() calls relative to inodes we already hold; names from
// the wire are single components (validated by the decoder) opened with
// O_NOFOLLOW, so neither a planted symlink nor a concurrent rename in SOURCE
// can make the server touch a file outside SOURCE.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "mirror/backing.h"
#include "mirror/close_reports.h"
#include "mirror/confinement.h"
#include "mirror/handles.h"
#include "mirror/inode_table.h"
#include "mirror/listing_advisor.h"
#include "mirror/locks.h"
#include "mirror/node_table.h"
#include "mirror/open_journal.h"
#include "mirror/source_watcher.h"
#include "ptfs/backing.h"
#include "ptfs/filesystem.h"
#include "ptfs/notifier.h"

namespace ptfs::mirror {

struct MirrorOptions {
  std::string source;
  Timeout entry_timeout = Timeout::Seconds(1.0);
  Timeout attr_timeout = Timeout::Seconds(1.0);
  // Watch SOURCE for changes made by others (SourceWatcher) and tell the
  // kernel. Where that works, entries, attributes and negative lookups are
  // cached for `coherent_timeout` instead of the timeouts above, unless those
  // were given explicitly (`timeouts_given`).
  bool watch_source = false;
  // With the watch: reach SOURCE through a private clone of its mounts
  // (open_tree), so that fanotify leaves out the mount's own passthrough
  // writes instead of reporting each one. Mounts made inside SOURCE later are
  // then seen only where mount propagation carries them into the clone.
  bool private_mounts = true;
  // The FUSE mount's access-time rule, given to the private mounts (and so
  // to every read, passthrough included, that updates a backing file's
  // atime): the mount's noatime/relatime/strictatime, not SOURCE's.
  sys::AtimeRule atime = sys::AtimeRule::kRelatime;
  bool nodiratime = false;
  bool timeouts_given = false;
  // Learn of directory moves from fanotify (Confinement) where allowed;
  // false: prove every directory by walking up at each by-name operation
  // (the fallback, selectable for tests).
  bool confinement_watch = true;
  Timeout coherent_timeout = Timeout::Seconds(86400);
  size_t fd_cache_slots = 8192;
  // Backings kept registered after their inode's last close, so reopening it
  // costs no registration (BackingManager); 0 closes them at the last close.
  size_t idle_backings = BackingManager::kDefaultMaxIdle;
  enum class Handles { kAuto, kOff } handles = Handles::kAuto;
  // --export: nodeids derived from SOURCE's file handles, so that the kernel
  // can turn a FUSE file handle back into an inode after forgetting it
  // (LOOKUP of "." and "..", FUSE_EXPORT_SUPPORT): NFS export and
  // open_by_handle_at on the mount. Needs handles and a filesystem whose
  // handles are an inode number and generation (docs/persistent-identity.md).
  bool export_handles = false;
  // With export_handles: nodeids from a persistent table (node_table.h)
  // even where they could be derived from handles (they always are where
  // they cannot), kept in `state_dir`.
  bool export_table = false;
  std::string state_dir;
  // Why the server did not ask for FUSE_PASSTHROUGH (logged at INIT), if it
  // did not: "--passthrough=off", "--writeback", "no CAP_SYS_ADMIN", ...
  std::string no_passthrough_reason;
  // InodeOps to offer for every inode (policy: --inode-passthrough).
  uint32_t inode_passthrough_ops = 0;
  // The mount has default_permissions: the kernel checks mode bits and ACLs
  // before sending a request. Without it the server also checks, as the
  // caller, what the kernel would have: search permission for LOOKUP and
  // READDIRPLUS, read permission for GETXATTR (opening and changing run as
  // the caller either way).
  bool default_permissions = true;
  // Several users share the mount (allow_other) and the kernel does not
  // check permissions (no default_permissions): entries are never cached
  // (entry timeout 0), so every path walk reaches the daemon as LOOKUPs run
  // as the walking caller, each checking search permission on its
  // directory. A cached entry would let a second user through a directory
  // only the first may search.
  bool per_caller_lookups = false;
  // POSIX and flock locks are kept by the kernel (FUSE_POSIX_LOCKS and
  // FUSE_FLOCK_LOCKS not negotiated): nothing in the daemon needs FLUSH
  // then, so opens say FOPEN_NOFLUSH and a close costs no round trip.
  bool kernel_locks = false;
  // Which files of a new listing get attributes when the kernel asks for
  // them (READDIRPLUS at offset 0): as the ListingAdvisor learns from the
  // workload, or all of them; kOff: READDIRPLUS is not negotiated at INIT.
  enum class ListingAttributes { kAdaptive, kAll, kOff };
  ListingAttributes listing_attributes = ListingAttributes::kAdaptive;
  friend bool operator==(const MirrorOptions&, const MirrorOptions&) = default;
};

// Entries of READDIRPLUS replies, by what they carried.
struct ListingCounters {
  std::atomic<uint64_t> with_attributes{0};
  // Files left without attributes by the ListingAdvisor. On a watched
  // filesystem a file the kernel already holds is not counted, unless an
  // earlier file of the same chunk was one it did not hold (ReadDir stops
  // checking there).
  std::atomic<uint64_t> files_bare{0};
  // Streams found at a host offset other than the start they recorded (then
  // rewound), and listings from the start that came back empty even from a
  // reopened stream (a live directory always has "." and ".."). Both stay
  // 0 unless a stream went wrong; each is logged.
  std::atomic<uint64_t> empty_starts{0};
  std::atomic<uint64_t> misplaced_streams{0};
  // Streams reopened before a listing from the start: their first read was
  // elsewhere (ext4, docs/known-issues.md), or the listing came back empty.
  std::atomic<uint64_t> reopened_streams{0};
};

// What RestoreFrom took over.
struct RestoreCounts {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t backings = 0;
  uint64_t failed = 0;  // opens that could not be reopened (logged)
  uint64_t shown = 0;   // files the previous servers showed (HeldFileBefore)
  uint64_t locks = 0;   // lock owners handed over (upgrade)
};

class MirrorFs final : public FileSystem {
 public:
  // Opens SOURCE; fails with a clear errno if it is missing or not a directory.
  static Result<std::unique_ptr<MirrorFs>> Create(const MirrorOptions& options);
  ~MirrorFs() override;

  void Init(const ConnectionInfo& info) override;
  // Stops the source watcher (idempotent); nothing is notified afterwards.
  void Destroy() override;
  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override;
  void Forget(NodeId node, uint64_t nlookup) override;
  BackingId AttachInodeBacking(NodeId node, uint32_t inode_ops) override;
  Result<std::string> PathOf(NodeId node) override;
  Result<std::string> PathOfRecent(NodeId node) override;
  Result<Attr> GetAttr(const Context& ctx, NodeId node, const FileHandle* fh) override;
  Result<Attr> Statx(const Context& ctx, NodeId node, const FileHandle* fh, uint32_t sx_flags,
                     uint32_t sx_mask) override;
  Result<Attr> SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) override;
  Result<std::string> ReadLink(const Context& ctx, NodeId node) override;
  Result<Entry> Symlink(const Context& ctx, NodeId parent, std::string_view name,
                        std::string_view target) override;
  Result<Entry> MkNod(const Context& ctx, NodeId parent, std::string_view name, uint32_t mode,
                      uint32_t rdev, uint32_t umask) override;
  Result<Entry> MkDir(const Context& ctx, NodeId parent, std::string_view name, uint32_t mode,
                      uint32_t umask) override;
  Errno Unlink(const Context& ctx, NodeId parent, std::string_view name) override;
  Errno RmDir(const Context& ctx, NodeId parent, std::string_view name) override;
  Errno Rename(const Context& ctx, NodeId parent, std::string_view name, NodeId new_parent,
               std::string_view new_name, RenameFlags flags) override;
  Result<Entry> Link(const Context& ctx, NodeId node, NodeId new_parent,
                     std::string_view new_name) override;
  Result<Opened> Open(const Context& ctx, NodeId node, OpenFlags flags) override;
  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name, OpenFlags flags,
                         uint32_t mode, uint32_t umask) override;
  Result<Created> TmpFile(const Context& ctx, NodeId parent, OpenFlags flags, uint32_t mode,
                          uint32_t umask) override;
  Result<size_t> Read(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                      std::span<char> out) override;
  Result<size_t> Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                       std::span<const char> data, WriteFlags flags) override;
  Errno Flush(const Context& ctx, NodeId node, FileHandle fh, uint64_t lock_owner) override;
  Errno Release(const Context& ctx, NodeId node, FileHandle fh, uint32_t release_flags,
                uint64_t lock_owner) override;
  Errno Fsync(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind) override;
  Result<Opened> OpenDir(const Context& ctx, NodeId node, OpenFlags flags) override;
  Errno ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                DirentSink& sink) override;
  Errno ReleaseDir(const Context& ctx, NodeId node, FileHandle fh) override;
  Errno FsyncDir(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind) override;
  Result<struct statvfs> StatFs(const Context& ctx, NodeId node) override;
  Errno SetXattr(const Context& ctx, NodeId node, std::string_view name,
                 std::span<const char> value, uint32_t flags) override;
  Result<size_t> GetXattr(const Context& ctx, NodeId node, std::string_view name,
                          std::span<char> out) override;
  Result<size_t> ListXattr(const Context& ctx, NodeId node, std::span<char> out) override;
  Errno RemoveXattr(const Context& ctx, NodeId node, std::string_view name) override;
  Errno Access(const Context& ctx, NodeId node, uint32_t mask) override;
  Result<LockIn> GetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner,
                       const LockIn& lock) override;
  Errno SetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner, const LockIn& lock,
              LockKind kind) override;
  Errno Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode, uint64_t offset,
                  uint64_t length) override;
  Result<uint64_t> Lseek(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                         uint32_t whence) override;
  Result<uint64_t> CopyFileRange(const Context& ctx, NodeId node_in, FileHandle fh_in,
                                 uint64_t off_in, NodeId node_out, FileHandle fh_out,
                                 uint64_t off_out, uint64_t len, uint64_t flags) override;
  Errno SyncFs(const Context& ctx, NodeId node) override;

  // Introspection for tests and stats.
  size_t inode_count() const { return inodes_->size(); }
  size_t open_file_count() const { return files_.size(); }
  bool dirs_without_open() const { return dirs_without_open_; }
  bool handles_enabled() const { return inodes_->handles_enabled(); }
  const DataPathCounters& data_path() const { return backing_.counters(); }
  const ListingCounters& listings() const { return listing_counters_; }
  // Cached fds closed because an open hit the process's fd limit.
  uint64_t fds_shed() const { return fds_shed_.load(std::memory_order_relaxed); }
  // Nodeids the kernel was asked to forget if unused (FUSE_NOTIFY_PRUNE).
  uint64_t prune_asked() const { return prune_asked_.load(std::memory_order_relaxed); }
  // Attribute invalidations sent because a file was opened O_RDWR through
  // kernel passthrough (AttrTimeoutFor).
  uint64_t invalidations_for_writers() const {
    return invalidations_for_writers_.load(std::memory_order_relaxed);
  }
  // GETXATTRs answered ENODATA from what the daemon knew (no host call).
  uint64_t xattr_absence_known() const {
    return xattr_absence_known_.load(std::memory_order_relaxed);
  }
  // FLUSHes answered without closing a duplicate on SOURCE, whose filesystem
  // reports nothing at close (see Flush).
  // --export: inodes found again from a nodeid alone (LOOKUP of "." for a
  // nodeid not in the table), and those refused as not in SOURCE.
  uint64_t handles_decoded() const { return handles_decoded_.load(std::memory_order_relaxed); }
  uint64_t handles_refused() const { return handles_refused_.load(std::memory_order_relaxed); }

  // ---- restart (docs/persistent-identity.md; src/mirror/restart.cc)
  // Records every open file and directory and every backing id in `fd` (the
  // state file a supervisor holds), so that another process can take over.
  // Called once, after Init, before serving.
  void KeepRestartJournal(int fd);
  // Takes over from a process that served this connection before: opens
  // again the files and directories the kernel holds handles of, takes
  // over the backing ids, serves nodeids it never handed out (derived
  // nodeids only: --export), and goes on journaling into `fd`. Called once,
  // after Init, instead of KeepRestartJournal.
  Result<RestoreCounts> RestoreFrom(int fd);
  // SOURCE's root: the identity a restarted server checks.
  const InodeKey& root_key() const { return inodes_->root_key(); }
  // Live upgrade: the POSIX locks this server holds for the kernel's lock
  // owners (each an open file description: LockTable) go to the next
  // server over the unix socket `sock` (SCM_RIGHTS), which takes them with
  // TakeOverLocks after RestoreFrom. Never blocks: a full socket fails the
  // hand-over (the locks not sent are lost, as in a crash). Returns how many
  // {inode, owner} descriptions were sent.
  Result<uint64_t> HandOverLocks(int sock);
  uint64_t TakeOverLocks(int sock);
  // What RestoreFrom took over (all 0 in a first server).
  const RestoreCounts& restored() const { return restored_; }
  // Nodeids taken over from their handle since a restart.
  uint64_t adopted_nodes() const { return adopted_nodes_.load(std::memory_order_relaxed); }
  uint64_t flush_close_skipped() const {
    return flush_close_skipped_.load(std::memory_order_relaxed);
  }
  const ListingAdvisor& listing_advisor() const { return listing_advisor_; }
  bool passthrough_enabled() const { return backing_.enabled(); }
  // Whether the source watch runs (decided at INIT).
  bool source_watched() const { return paths_watched_; }
  bool inode_passthrough_enabled() const { return inode_passthrough_; }
  // Kernel passthrough of file I/O is used when INIT puts FUSE_PASSTHROUGH in
  // force and a registrar was set. Call before mounting.
  void SetBackingRegistrar(BackingRegistrar* registrar) { registrar_ = registrar; }
  // Where outside changes to SOURCE are reported to the kernel; the source
  // watch starts at INIT if one was set. Call before mounting.
  void SetNotifier(KernelNotifier* notifier) { notifier_ = notifier; }
  // The source watch, if SOURCE's filesystem can be watched (for stats).
  const SourceWatcher* source_watcher() const { return watcher_.get(); }
  // Tests only: called while a new node is made, between the statx of its
  // attributes and its insertion in the table (the window of the race in
  // SourceWatcher::ResolutionsStarted). Set before serving.
  void SetEntryRaceHookForTesting(std::function<void()> hook) {
    entry_race_hook_ = std::move(hook);
  }
  // Outside changes may have gone unseen (a restarted server: the previous
  // one's watch is gone): the kernel looks every cached name up again.
  void CachedNamesMayBeStale(const char* why) {
    if (watcher_ != nullptr) watcher_->StartNewEntryEpoch(why);
  }
  const Confinement& confinement() const { return *confinement_; }

 private:
  MirrorFs(const MirrorOptions& options, std::unique_ptr<InodeTable> inodes,
           sys::UniqueFd root_dir_fd);

  struct DirFd {
    InodePtr inode;
    SharedFd fd;
  };
  // The directory `parent` for an operation on a name in it: ENOTDIR if it
  // is none, ENOENT if it is no longer under SOURCE (Confinement).
  Result<DirFd> DirOf(NodeId parent);
  Result<Entry> LookupAt(int dir_fd, std::string_view name, uint64_t refs);
  // LookupAt for a name whose inode is not in the table: no fast path.
  Result<Entry> LookupNew(int dir_fd, std::string_view name, uint64_t refs);
  // LOOKUP of "." (the inode `node` names, maybe forgotten: found again
  // from the nodeid) or ".." (its parent), as FUSE_EXPORT_SUPPORT asks.
  Result<Entry> LookupSelfOrParent(NodeId node, bool parent);
  // Restart (restart.cc): the flags an open is journaled with; a nodeid
  // taken over from its handle; one open file or directory reopened.
  static uint32_t JournaledFlags(uint32_t flags);
  Result<InodePtr> AdoptNode(NodeId id);
  Errno RestoreFile(NodeId node, FileHandle fh, uint32_t flags, bool passthrough);
  Errno RestoreDir(NodeId node, FileHandle fh);
  // The inode table tells the journal each file it starts to remember.
  void JournalShownFiles();
  // Whether the host inode behind `fd` (found by handle from `node`, so
  // anywhere on SOURCE's filesystem) lies in SOURCE; ESTALE if not or not
  // provably.
  Errno ConfineFoundByHandle(NodeId node, int fd, const struct statx& stx);
  // Where `fd`'s inode `key` is under SOURCE ("a/b"), as /proc/self/fd says
  // and a walk from SOURCE by that path confirms; ENOENT if it is not.
  Result<std::string> PathUnderSource(int fd, const InodeKey& key) const;
  Result<Entry> EntryFor(sys::UniqueFd path_fd, uint64_t refs);
  Entry MakeEntry(const Inode& inode, const struct statx& stx) const;
  // Cache timeouts for an inode on device `dev`: long where the source watch
  // covers it.
  Timeout EntryTimeoutFor(uint64_t dev) const;  // 0 with per_caller_lookups
  // 0 while the inode is open O_RDWR through kernel passthrough: a write
  // through a shared mapping of the backing file moves its mtime and ctime
  // with no request and no fsnotify event, so the kernel must ask.
  // Write-only opens cannot be mapped; the kernel drops what it cached
  // after each of their writes itself.
  Timeout AttrTimeoutFor(const Inode& inode, uint64_t dev) const;
  bool Coherent(uint64_t dev) const { return watcher_ != nullptr && watcher_->Covers(dev); }
  Result<std::shared_ptr<FileState>> FileOf(NodeId node, FileHandle fh);
  Result<Created> FinishCreate(sys::UniqueFd open_fd, uint32_t flags);
  int HostFlagsForOpen(uint32_t flags) const;
  // `fd` was opened as the caller with the caller's own flags; reopens it as
  // the daemon where the server needs more (HostFlagsForOpen).
  Result<sys::UniqueFd> WidenForServer(sys::UniqueFd fd, uint32_t flags) const;
  void LogInodePassthrough(const ConnectionInfo& info);
  // `gone` left the table: gives back its inode hold and closes its idle backing.
  void ReleaseInodeBacking(const InodePtr& gone);
  // Registers (or shares) the inode's backing for a new open and fills the
  // OPEN reply's passthrough fields.
  // `reply_has_attrs`: the reply (CREATE) carries the inode's attributes,
  // with AttrTimeoutFor's timeout; an OPEN does not, so the first passthrough
  // writer invalidates what the kernel caches instead.
  void AttachBacking(FileState& file, uint32_t flags, bool reply_has_attrs, Opened* opened);
  // For opens the daemon serves: whether the kernel may keep its page cache.
  // An open for writing: the next reader must not keep the kernel's cache.
  void ForgetCachedVersion(Inode& inode);
  bool MayKeepCache(Inode& inode, int fd, uint32_t open_flags);
  // The directory stream READDIR and FSYNCDIR use: the one OPENDIR made
  // (fh), or the server's own one per directory (fh 0, without OPENDIR).
  Result<std::shared_ptr<DirState>> DirStreamOf(NodeId node, FileHandle fh);
  // A stream on directory `node`, opened as the daemon.
  Result<std::shared_ptr<DirState>> NewDirStream(NodeId node);
  // ReadDir's steps (readdir.cc): what a listing chunk hands out, decided
  // once per chunk; the READDIRPLUS entry for one name; the counts kept.
  struct ListingPlan;
  struct ListingTally;
  ListingPlan PlanListing(const Context& ctx, DirState& dir, uint64_t offset,
                          const DirentSink& sink);
  Entry PlusEntry(const ListingPlan& plan, DirState& dir, std::string_view name, uint64_t ino,
                  uint8_t type, ListingTally* tally);
  void CountListing(const InodePtr& dir, const ListingTally& tally);
  // The entries from `offset` on that fit in `sink`; *any says whether one was added.
  Errno FillListing(const ListingPlan& plan, DirState& dir, uint64_t offset, DirentSink& sink,
                    ListingTally* tally, bool* any) REQUIRES(dir.mu);
  void ReportMisplacedStream(const DirState& dir, off_t host_offset);
  void ReportEmptyStart(const DirState& dir) REQUIRES(dir.mu);

  MirrorOptions options_;
  // The persistent nodeid table (--export where nodeids are not derived);
  // declared before inodes_, which points at it.
  sys::UniqueFd node_table_fd_;
  std::unique_ptr<NodeTable> node_table_;
  std::unique_ptr<InodeTable> inodes_;
  sys::UniqueFd root_dir_fd_;  // O_RDONLY, for syncfs
  // What /proc/self/fd shows for SOURCE's root: "/" through the daemon's
  // private mount, SOURCE's host path otherwise (PathOf strips it).
  std::string root_link_;
  // SOURCE is the root of its filesystem: every inode of it is in SOURCE.
  bool source_is_fs_root_ = false;
  HandleTable<FileState> files_;
  HandleTable<DirState> dirs_;
  // The kernel lists directories without opening them (no OPENDIR or
  // RELEASEDIR round trips) and caches every listing: see OpenDir.
  bool dirs_without_open_ = false;
  DirStreams dir_streams_{32};
  bool dont_mask_ = false;
  bool writeback_ = false;
  bool inode_passthrough_ = false;  // the kernel does inode ops on backings (draft)
  bool keep_cache_ = false;
  BackingManager backing_;
  ListingAdvisor listing_advisor_;
  uint64_t fd_pressure_token_ = 0;  // sys::SetFdPressureHandler
  std::atomic<uint64_t> fds_shed_{0};
  std::atomic<uint64_t> prune_asked_{0};
  std::atomic<bool> prune_supported_{true};  // until the kernel refused it
  void AskKernelToPrune(std::vector<NodeId>& nodes);
  std::atomic<uint64_t> invalidations_for_writers_{0};
  // GetXattr may answer from Inode::xattr_presence: the source watch reports
  // outside changes and the kernel checks permissions (see GetXattr).
  bool xattr_presence_usable_ = false;
  std::atomic<uint64_t> xattr_absence_known_{0};
  // Whether close(2) on a SOURCE device can report an error (see Flush).
  CloseReports close_reports_;
  std::atomic<uint64_t> flush_close_skipped_{0};
  std::atomic<uint64_t> handles_decoded_{0};
  std::atomic<uint64_t> handles_refused_{0};
  std::atomic<uint64_t> adopted_nodes_{0};
  RestoreCounts restored_;                // written before serving
  std::unique_ptr<OpenJournal> journal_;  // set before serving, then only read
  ListingCounters listing_counters_;
  std::unique_ptr<Confinement> confinement_;
  BackingRegistrar* registrar_ = nullptr;
  KernelNotifier* notifier_ = nullptr;
  // Declared after inodes_: its thread (which reads the table) stops first.
  std::unique_ptr<SourceWatcher> watcher_;
  std::function<void()> entry_race_hook_;  // SetEntryRaceHookForTesting
  // PathOfRecent's cache of paths. An entry holds while
  // path_epoch_ is unchanged: it moves after every rename and rmdir through
  // the mount (once done) and whenever the source watch reads an outside
  // removal or move. Used only while the watch runs (paths_watched_). An
  // unlink moves nothing (it would empty the cache in every rm -r): a file
  // removed may be answered with the name it had.
  struct CachedPath {
    InodeKey key;             // the node's inode and generation when cached: node ids
    uint64_t generation = 0;  // are reused
    uint64_t epoch = 0;
    std::string path;
  };
  std::atomic<bool> paths_watched_{false};
  std::atomic<uint64_t> path_epoch_{0};
  std::mutex path_cache_mu_;
  std::unordered_map<uint64_t, CachedPath> path_cache_;  // by node id
  std::string watch_status_;                             // logged at INIT

  // The descriptions holding POSIX record locks (OFD locks), per
  // {inode, lock owner}: see locks.h.
  LockTable locks_;
};

}  // namespace ptfs::mirror
