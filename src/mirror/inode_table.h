// InodeTable: the server's inodes, keyed two ways.
//
//  - by NodeId, the id the kernel uses. NodeIds come from a 64-bit counter and
//    are never reused, so a stale or forged nodeid can never alias a live
//    inode: an unknown id is simply ESTALE. (This is the "generation check"
//    of the design, with the generation folded into the id itself.)
//  - by {st_dev, st_ino}, so hard links and repeated lookups share one inode.
//
// How an inode reaches its host file without holding an fd forever: where the
// source filesystem supports file handles (and we may open them: needs
// CAP_DAC_READ_SEARCH) an inode stores its handle, and O_PATH fds live in a
// bounded cache (FdCache) that reopens by handle on a miss. Otherwise the
// inode pins an O_PATH fd for its whole life. This keeps the server far
// below RLIMIT_NOFILE on trees of any size.
//
// Locking: the table is split into kShards independent shards, so that no
// lock is shared across inodes on the hot path. An inode lives in the shard
// its {dev, ino} hashes to, and its NodeId carries that shard in its low
// bits: lookups by key and by id, inserts and forgets each touch exactly one
// shard's mutex, which guards that shard's maps and its inodes' lookup counts.
// Cache slots have their own striped locks and never call back into the
// table. No Inode is destroyed while a shard lock is held (erased entries are
// released after unlocking).
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mirror/handle_identity.h"
#include "ptfs/result.h"
#include "ptfs/types.h"
#include "sys/fd.h"
#include "sys/syscalls.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

class NodeTable;

struct InodeKey {
  uint64_t dev = 0;
  uint64_t ino = 0;
  friend bool operator==(const InodeKey&, const InodeKey&) = default;
};
struct InodeKeyHash {
  size_t operator()(const InodeKey& k) const { return k.ino * 0x9E3779B97F4A7C15ULL ^ k.dev; }
};

using SharedFd = std::shared_ptr<const sys::UniqueFd>;

// What a file's data looked like when the kernel last had it cached: if SOURCE
// still shows the same version at the next open, the kernel's page cache is
// still right and may be kept (FOPEN_KEEP_CACHE).
struct DataVersion {
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t size = 0;
  friend bool operator==(const DataVersion&, const DataVersion&) = default;
};

class Inode {
 public:
  Inode(NodeId id, InodeKey key, uint32_t type) : id_(id), key_(key), type_(type) {}
  NodeId id() const { return id_; }
  uint64_t generation() const { return generation_; }
  const InodeKey& key() const { return key_; }
  uint32_t type() const { return type_; }  // S_IFMT bits
  bool is_dir() const { return type_ == S_IFDIR; }

  // Page-cache bookkeeping of the served data path (MirrorFs::Open).
  Mutex cache_mu;
  std::optional<DataVersion> cached_version GUARDED_BY(cache_mu);

  // Inode passthrough: whether this inode object holds a reference on its
  // inode's long-lived backing (BackingManager::HoldForInode), given back when
  // the inode leaves the table.
  std::atomic<bool> inode_backing_held{false};

  // Open files of this inode writing through kernel passthrough
  // (MirrorFs::AttachBacking / Release).
  std::atomic<int> passthrough_writers{0};
  // Of those, the ones opened O_RDWR: only they can map the file shared and
  // writable, which changes it with no request and no event (AttrTimeoutFor).
  std::atomic<int> mappable_writers{0};

  // A directory whose files were just listed without attributes, until a
  // LOOKUP in it arrives or the probe is judged (ListingAdvisor).
  std::atomic<bool> bare_listing_pending{false};

  // Whether the host inode has extended attributes at all, as last learned
  // (MirrorFs::GetXattr; only where the source watch reports outside
  // changes). The low 2 bits are an XattrPresence; the rest a generation
  // that every possible change bumps, so that a finding made before a change
  // is never stored after it.
  std::atomic<uint32_t> xattr_presence{0};

  // A directory: the epoch in which it was last proven to be under SOURCE
  // (Confinement; 0: never).
  std::atomic<uint64_t> proven_epoch{0};

 private:
  friend class InodeTable;
  const NodeId id_;
  const InodeKey key_;
  const uint32_t type_;
  // Distinguishes successive host inodes behind one nodeid; only changes in
  // the ino-as-nodeid mode, where a reused inode number keeps its nodeid.
  uint64_t generation_ = 0;
  // Exactly one of these identifies the host inode: a handle (+ the mount it
  // lives on), or a pinned O_PATH fd. Both are set before the inode is
  // published and never change afterwards.
  sys::HandleBlob handle_;
  int mount_id_ = -1;
  SharedFd pinned_fd_;
  // Open file handles on this inode; while > 0 the inode pins a fd so an
  // unlinked-but-open file stays reachable even when its handle goes stale.
  std::atomic<int> open_count_{0};
  SharedFd open_pin_;     // guarded by its InodeTable shard's mutex
  uint64_t nlookup_ = 0;  // guarded by its InodeTable shard's mutex
};

using InodePtr = std::shared_ptr<Inode>;

// A bounded, direct-mapped cache of O_PATH fds keyed by NodeId, with striped
// locks. A miss reopens the inode by handle.
class FdCache {
 public:
  explicit FdCache(size_t slots);
  SharedFd Get(NodeId id);
  void Put(NodeId id, SharedFd fd);
  void Drop(NodeId id);
  // Closes (drops) half the cached fds, for an open that hit the process's
  // fd limit; returns how many it dropped, and adds their nodes to `shed`.
  size_t Shed(std::vector<NodeId>* shed = nullptr);
  size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    NodeId id;
    SharedFd fd;
  };
  static constexpr size_t kStripes = 64;
  // Plain modulo, not a hash: inodes met together get nearby nodeids, so a
  // working set of up to `slots` recent inodes maps to distinct slots
  // (a hash would make about a third of them collide at that size).
  size_t Index(NodeId id) const { return id.value % slots_.size(); }
  std::vector<Slot> slots_;
  std::array<Mutex, kStripes> stripes_;
};

struct InodeTableOptions {
  size_t fd_cache_slots = 8192;
  bool use_handles = true;  // false: every inode pins an O_PATH fd
  // Export mode (--export): every nodeid is derived from its inode's file
  // handle (handle_identity.h), so it can be opened again from the nodeid
  // alone (OpenNode), after a FORGET or in another process. Needs
  // use_handles. kNone: nodeids from a counter.
  HandleLayout node_ids = HandleLayout::kNone;
  // Export mode: remember every non-directory nodeid handed out
  // (HeldFileBefore), for a SOURCE that is not its filesystem's root.
  bool remember_files = false;
  // node_ids == kTable: the table (owned by the MirrorFs; outlives this).
  NodeTable* node_table = nullptr;
};

class InodeTable {
 public:
  // `root_fd` is an O_PATH fd on SOURCE; the root inode is NodeId 1 forever.
  InodeTable(sys::UniqueFd root_fd, const struct statx& root_stat, InodeTableOptions options);

  // The inode for a live nodeid, or ESTALE. After a restart (SetAdopter) a
  // nodeid this process never handed out is taken over from its handle.
  Result<InodePtr> Get(NodeId id) const;
  // Get without taking anything over: only what this process holds.
  Result<InodePtr> Find(NodeId id) const;
  // Restart: how Get takes over an unknown nodeid (MirrorFs::AdoptNode).
  // The kernel holds the nodeids it sends, which the previous process handed
  // out, so they are served as that process would; their lookup counts are
  // unknown, so such an inode starts at zero and leaves the table at the
  // first FORGET (taken over again if the kernel still names it). Set once,
  // before serving.
  void SetAdopter(std::function<Result<InodePtr>(NodeId)> adopter) {
    adopter_ = std::move(adopter);
  }

  // Finds or creates the inode for the host file behind `path_fd` (an O_PATH
  // fd) with attributes `stx`, and takes `refs` lookup references. In the
  // ino-as-nodeid mode a new host inode may take over the nodeid of a gone
  // one; the gone inode is then stored in `*replaced` (if given).
  Result<InodePtr> Insert(sys::UniqueFd path_fd, const struct statx& stx, uint64_t refs,
                          InodePtr* replaced = nullptr);

  // The fast path of a lookup: if the inode with attributes `stx` is in the
  // table AND we hold an open fd on it (pinned or cached), takes `refs`
  // references and returns it; otherwise nullptr (use Insert). An open fd
  // keeps the host inode alive, so its {dev, ino} cannot have been reused
  // since `stx` was read: no handle comparison is needed.
  InodePtr TakeIfHeld(const struct statx& stx, uint64_t refs);

  // The nodeid of the host inode `key` if it is in the table (no reference
  // taken), else NodeId 0.
  NodeId NodeOf(const InodeKey& key) const;

  // Drops `n` lookup references; the inode leaves the table at zero and is
  // returned then (nullptr otherwise).
  InodePtr Forget(NodeId id, uint64_t n);

  // Switches to nodeid == host st_ino (the draft inode-passthrough protocol
  // requires it). Called at INIT, while only the root (still nodeid 1) is in
  // the table. From then on an inode whose number collides with another
  // filesystem's inode already in the table (SOURCE spanning submounts), or
  // with the root's nodeid 1, is refused with EXDEV.
  void UseInoAsNodeId();
  bool ino_is_nodeid() const { return ino_is_nodeid_.load(std::memory_order_relaxed); }

  // Export mode: whether nodeids are derived from handles, and an O_PATH
  // fd (O_NOFOLLOW) on the host inode a nodeid names, found from the nodeid
  // alone (for a nodeid not in the table). ESTALE if it names no inode of
  // SOURCE's filesystem (any longer). Where that inode lies is not checked:
  // the caller confines it to SOURCE.
  bool handle_node_ids() const { return options_.node_ids != HandleLayout::kNone; }
  Result<sys::UniqueFd> OpenNode(NodeId id);
  // Export mode: whether this table ever held the non-directory `id`, which
  // was then in SOURCE (a file has no way up to prove it later: see
  // MirrorFs::ConfineFoundByHandle). Kept after the inode is forgotten;
  // 8 bytes and a hash slot per file (only when remember_files is set).
  bool HeldFileBefore(NodeId id) const;
  // Restart: `remembered` is told each nodeid HeldFileBefore starts to know
  // (for the journal; called under a table lock: must be quick), and
  // RememberFile adds one a previous process knew.
  void SetFileRemembered(std::function<void(NodeId)> remembered) {
    remembered_ = std::move(remembered);
  }
  void RememberFile(NodeId id);
  const InodeKey& root_key() const { return root_key_; }

  // An O_PATH fd for the inode: pinned, cached, or reopened by handle.
  Result<SharedFd> PathFd(const Inode& inode);

  // Open-file accounting: pins a fd while the inode has open files.
  void NoteOpened(Inode& inode, const SharedFd& path_fd);
  // Returns true when this was the inode's last open file.
  bool NoteReleased(Inode& inode);

  size_t size() const;
  // Closes half the cached fds (FdCache::Shed); returns how many, and adds
  // their nodes to `shed`.
  size_t ShedCachedFds(std::vector<NodeId>* shed = nullptr) { return cache_.Shed(shed); }
  bool handles_enabled() const { return options_.use_handles; }
  int root_fd() const { return root_fd_->get(); }

 private:
  Result<sys::HandleBlob> HandleFor(int fd, int* mount_id);
  Result<int> MountFd(int mount_id, int fd_on_mount);

  static constexpr unsigned kShardBits = 4;
  static constexpr uint64_t kShards = 1U << kShardBits;
  struct Shard {
    mutable Mutex mu;
    std::unordered_map<uint64_t, InodePtr> by_id GUARDED_BY(mu);
    std::unordered_map<InodeKey, NodeId, InodeKeyHash> by_key GUARDED_BY(mu);
    std::unordered_set<uint64_t> files_held GUARDED_BY(mu);  // remember_files
    uint64_t next_seq GUARDED_BY(mu) = 1;                    // nodeid = seq << kShardBits | shard
  };
  Shard& ShardOf(NodeId id) const { return shards_[id.value & (kShards - 1)]; }
  Shard& ShardOf(const InodeKey& key) const;
  // The handle by which `path_fd`'s inode can be reopened, with its mount
  // (`mount_id`); empty when handles are off or unavailable there.
  sys::HandleBlob ReopenableHandle(int path_fd, int* mount_id);
  // A nodeid for a new inode `key` in `shard`: st_ino under inode
  // passthrough (EXDEV if another inode already has it), else the next
  // never-reused number.
  Result<NodeId> NewNodeId(Shard& shard, const InodeKey& key) REQUIRES(shard.mu);
  // Export mode: the nodeid and generation `handle` stands for; EXDEV for
  // an inode of another filesystem than SOURCE's or a handle that does not
  // fit a nodeid (logged once).
  Result<HandleIdentity> IdentityFor(const InodeKey& key, const sys::HandleBlob& handle);

  InodeTableOptions options_;
  std::function<Result<InodePtr>(NodeId)> adopter_;
  std::function<void(NodeId)> remembered_;
  std::atomic<bool> ino_is_nodeid_{false};
  SharedFd root_fd_;
  InodeKey root_key_;
  int root_mount_id_ = -1;  // SOURCE's mount, for OpenNode
  std::atomic<bool> warned_not_exportable_{false};
  FdCache cache_;
  mutable std::array<Shard, kShards> shards_;
  Mutex mounts_mu_;
  std::unordered_map<int, sys::UniqueFd> mount_fds_ GUARDED_BY(mounts_mu_);
};

}  // namespace ptfs::mirror
