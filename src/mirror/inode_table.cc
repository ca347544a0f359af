#include "mirror/inode_table.h"

#include <fcntl.h>
#include <sys/sysmacros.h>

#include <cassert>
#include <limits>

#include "mirror/node_table.h"
#include "util/log.h"

namespace ptfs::mirror {

FdCache::FdCache(size_t slots) : slots_(std::max<size_t>(slots, 1)) {}

SharedFd FdCache::Get(NodeId id) {
  const size_t i = Index(id);
  MutexLock lock(&stripes_[i % kStripes]);
  return slots_[i].id == id ? slots_[i].fd : nullptr;
}

void FdCache::Put(NodeId id, SharedFd fd) {
  const size_t i = Index(id);
  SharedFd evicted;  // closed after unlocking
  MutexLock lock(&stripes_[i % kStripes]);
  evicted = std::move(slots_[i].fd);
  slots_[i] = Slot{id, std::move(fd)};
}

void FdCache::Drop(NodeId id) {
  const size_t i = Index(id);
  SharedFd evicted;
  MutexLock lock(&stripes_[i % kStripes]);
  if (slots_[i].id == id) {
    evicted = std::move(slots_[i].fd);
    slots_[i].id = NodeId{};
  }
}

size_t FdCache::Shed(std::vector<NodeId>* shed) {
  std::vector<SharedFd> evicted;  // closed after unlocking
  size_t occupied = 0;
  for (size_t stripe = 0; stripe < kStripes; ++stripe) {
    MutexLock lock(&stripes_[stripe]);
    // Slot i is guarded by stripe i % kStripes. Every other occupied slot
    // goes, so repeated sheds keep halving what is left.
    for (size_t i = stripe; i < slots_.size(); i += kStripes) {
      if (!slots_[i].fd || occupied++ % 2 != 0) continue;
      evicted.push_back(std::move(slots_[i].fd));
      if (shed != nullptr) shed->push_back(slots_[i].id);
      slots_[i].id = NodeId{};
    }
  }
  return evicted.size();
}

InodeTable::Shard& InodeTable::ShardOf(const InodeKey& key) const {
  // The root's nodeid is fixed (1), so its key must live in that id's shard.
  if (key == root_key_) return ShardOf(kRootNode);
  // Derived nodeids keep the inode number's low bits (handle_identity.h).
  if (ino_is_nodeid() || (handle_node_ids() && options_.node_ids != HandleLayout::kTable)) {
    return ShardOf(NodeId{key.ino});
  }
  return shards_[(InodeKeyHash()(key) >> 32) & (kShards - 1)];
}

InodeTable::InodeTable(sys::UniqueFd root_fd, const struct statx& root_stat,
                       InodeTableOptions options)
    : options_(options),
      root_fd_(std::make_shared<const sys::UniqueFd>(std::move(root_fd))),
      root_key_{makedev(root_stat.stx_dev_major, root_stat.stx_dev_minor), root_stat.stx_ino},
      cache_(options.fd_cache_slots) {
  const InodeKey key = root_key_;
  auto root = std::make_shared<Inode>(kRootNode, key, S_IFDIR);
  root->pinned_fd_ = root_fd_;
  root->nlookup_ = std::numeric_limits<uint64_t>::max() / 2;  // never forgotten
  if (options_.use_handles) {
    int mount_id;
    if (sys::NameToHandle(root_fd_->get(), "", &mount_id).ok() &&
        MountFd(mount_id, root_fd_->get()).ok()) {
      root_mount_id_ = mount_id;
    }
  }
  Shard& shard = ShardOf(kRootNode);
  MutexLock lock(&shard.mu);
  shard.by_id[kRootNode.value] = root;
  shard.by_key[key] = kRootNode;
}

Result<InodePtr> InodeTable::Get(NodeId id) const {
  Result<InodePtr> found = Find(id);
  if (found.ok() || !adopter_) return found;
  return adopter_(id);
}

Result<InodePtr> InodeTable::Find(NodeId id) const {
  Shard& shard = ShardOf(id);
  ReaderLock lock(&shard.mu);
  auto it = shard.by_id.find(id.value);
  if (it == shard.by_id.end()) return Errno(ESTALE);
  return it->second;
}

Result<sys::HandleBlob> InodeTable::HandleFor(int fd, int* mount_id) {
  return sys::NameToHandle(fd, "", mount_id);
}

Result<int> InodeTable::MountFd(int mount_id, int fd_on_mount) {
  MutexLock lock(&mounts_mu_);
  auto it = mount_fds_.find(mount_id);
  if (it != mount_fds_.end()) return it->second.get();
  // open_by_handle_at() wants a real (not O_PATH) fd on the mount. The first
  // inode we meet on a mount is normally its root directory (the lookup
  // that crosses the mountpoint), so open that; a mount whose first inode is
  // not a directory (a bind-mounted file) gets no handles: its inodes pin fds.
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd,
                        sys::Reopen(fd_on_mount, O_RDONLY | O_DIRECTORY | O_NONBLOCK));
  const int raw = fd.get();
  mount_fds_.emplace(mount_id, std::move(fd));
  return raw;
}

sys::HandleBlob InodeTable::ReopenableHandle(int path_fd, int* mount_id) {
  if (!options_.use_handles) return {};
  auto h = HandleFor(path_fd, mount_id);
  if (!h.ok() || !MountFd(*mount_id, path_fd).ok()) return {};
  return std::move(*h);
}

Result<NodeId> InodeTable::NewNodeId(Shard& shard, const InodeKey& key) {
  if (!ino_is_nodeid()) return NodeId{shard.next_seq++ << kShardBits | (&shard - shards_.data())};
  const NodeId id{key.ino};
  if (id == kRootNode || shard.by_id.contains(id.value)) {
    LOG_WARN(
        "inode %llu on device %u:%u has the same number as another inode in the mount; "
        "inode passthrough needs nodeid == st_ino, so it is not accessible",
        static_cast<unsigned long long>(key.ino), major(key.dev), minor(key.dev));
    return Errno(EXDEV);
  }
  return id;
}

Result<HandleIdentity> InodeTable::IdentityFor(const InodeKey& key, const sys::HandleBlob& handle) {
  std::optional<HandleIdentity> id;
  if (key.dev == root_key_.dev && options_.node_ids == HandleLayout::kTable) {
    // The shard the key hashes to, in the nodeid's low bits (ShardOf).
    const unsigned shard = static_cast<unsigned>(&ShardOf(key) - shards_.data());
    PTFS_ASSIGN_OR_RETURN(NodeId node, options_.node_table->IdFor(handle, shard, kShardBits));
    return HandleIdentity{node, 0};
  }
  if (key.dev == root_key_.dev) id = IdentityOfHandle(handle, options_.node_ids);
  if (id) return *id;
  if (!warned_not_exportable_.exchange(true)) {
    LOG_WARN(
        "inode %llu on device %u:%u cannot be exported (%s): with --export only SOURCE's "
        "own filesystem is served; it answers EXDEV",
        static_cast<unsigned long long>(key.ino), major(key.dev), minor(key.dev),
        key.dev != root_key_.dev ? "a mount inside SOURCE" : "its file handle does not fit");
  }
  return Errno(EXDEV);
}

Result<sys::UniqueFd> InodeTable::OpenNode(NodeId id) {
  std::optional<sys::HandleBlob> handle = options_.node_ids == HandleLayout::kTable
                                              ? options_.node_table->HandleOf(id)
                                              : HandleOfNode(id, options_.node_ids);
  if (!handle || id == kRootNode) return Errno(ESTALE);
  int mount_fd;
  {
    MutexLock lock(&mounts_mu_);
    auto it = mount_fds_.find(root_mount_id_);
    if (it == mount_fds_.end()) return Errno(ESTALE);
    mount_fd = it->second.get();
  }
  auto fd = sys::OpenByHandle(mount_fd, *handle, O_PATH | O_NOFOLLOW);
  if (fd.ok()) return fd;
  // Gone (ESTALE), never was (ENOENT, EINVAL from the filesystem's decoder):
  // to the kernel all of them are a stale handle.
  const int e = fd.error().value();
  return Errno(e == ENOMEM || e == EMFILE || e == ENFILE ? e : ESTALE);
}

void InodeTable::RememberFile(NodeId id) {
  Shard& shard = ShardOf(id);
  MutexLock lock(&shard.mu);
  shard.files_held.insert(id.value);
}

bool InodeTable::HeldFileBefore(NodeId id) const {
  // A table has a nodeid only for what a daemon showed, and keeps it.
  if (options_.node_ids == HandleLayout::kTable)
    return options_.node_table->HandleOf(id).has_value();
  Shard& shard = ShardOf(id);
  ReaderLock lock(&shard.mu);
  return shard.files_held.contains(id.value);
}

Result<InodePtr> InodeTable::Insert(sys::UniqueFd path_fd, const struct statx& stx, uint64_t refs,
                                    InodePtr* replaced_out) {
  const InodeKey key{makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino};
  int mount_id = -1;
  sys::HandleBlob handle = ReopenableHandle(path_fd.get(), &mount_id);
  Shard& shard = ShardOf(key);
  InodePtr replaced;  // released after unlocking
  MutexLock lock(&shard.mu);
  uint64_t inherited_refs = 0;
  uint64_t generation = 0;
  std::optional<NodeId> derived;
  if (handle_node_ids() && key != root_key_) {  // SOURCE stays nodeid 1
    PTFS_ASSIGN_OR_RETURN(const HandleIdentity identity, IdentityFor(key, handle));
    derived = identity.node;
    generation = identity.generation;
    // A handle names one object, and so does the nodeid made of it: if that
    // nodeid is in the table, this is its inode (even when the key now
    // points elsewhere, as after a newer file took the number and left).
    auto same = shard.by_id.find(identity.node.value);
    if (same != shard.by_id.end()) {
      shard.by_key[key] = identity.node;
      same->second->nlookup_ += refs;
      return same->second;
    }
  }
  auto kit = shard.by_key.find(key);
  if (kit != shard.by_key.end()) {
    InodePtr& existing = shard.by_id[kit->second.value];
    // With handles the old host inode may be gone and its number reused by a
    // new file: the handle (which carries the generation) tells them apart.
    // A pinned fd keeps the old inode alive, so its number cannot be reused.
    if (existing->handle_.empty() || handle.empty() || existing->handle_.bytes == handle.bytes) {
      existing->nlookup_ += refs;
      return existing;
    }
    shard.by_key.erase(kit);
    if (ino_is_nodeid()) {
      // Same number, new host inode: it keeps the nodeid, so it takes over
      // the references the kernel still holds on that nodeid (its FORGETs
      // will name this id) and a new generation tells the kernel it changed.
      inherited_refs = existing->nlookup_;
      generation = existing->generation_ + 1;
      replaced = std::move(existing);
      shard.by_id.erase(replaced->id_.value);
    }
  }
  NodeId id;
  if (derived) {
    id = *derived;
  } else {
    PTFS_ASSIGN_OR_RETURN(id, NewNodeId(shard, key));
  }
  auto inode = std::make_shared<Inode>(id, key, stx.stx_mode & S_IFMT);
  inode->generation_ = generation;
  refs += inherited_refs;
  if (replaced_out != nullptr) *replaced_out = replaced;
  auto shared_fd = std::make_shared<const sys::UniqueFd>(std::move(path_fd));
  if (!handle.empty()) {
    inode->handle_ = std::move(handle);
    inode->mount_id_ = mount_id;
    cache_.Put(id, shared_fd);
  } else {
    inode->pinned_fd_ = shared_fd;
  }
  inode->nlookup_ = refs;
  if (options_.remember_files && derived && !inode->is_dir() &&
      shard.files_held.insert(id.value).second && remembered_) {
    remembered_(id);
  }
  shard.by_id[id.value] = inode;
  shard.by_key[key] = id;
  return inode;
}

InodePtr InodeTable::TakeIfHeld(const struct statx& stx, uint64_t refs) {
  const InodeKey key{makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino};
  Shard& shard = ShardOf(key);
  MutexLock lock(&shard.mu);
  auto kit = shard.by_key.find(key);
  if (kit == shard.by_key.end()) return nullptr;
  InodePtr& inode = shard.by_id[kit->second.value];
  // Checked after `stx` was read, under the table lock: if an fd is held
  // now, it was held then, so `stx` describes this very inode.
  const bool held = inode->pinned_fd_ || inode->open_pin_ || cache_.Get(inode->id_) != nullptr;
  if (!held || (inode->type_ != (stx.stx_mode & S_IFMT))) return nullptr;
  inode->nlookup_ += refs;
  return inode;
}

NodeId InodeTable::NodeOf(const InodeKey& key) const {
  Shard& shard = ShardOf(key);
  MutexLock lock(&shard.mu);
  auto kit = shard.by_key.find(key);
  return kit == shard.by_key.end() ? NodeId{} : kit->second;
}

InodePtr InodeTable::Forget(NodeId id, uint64_t n) {
  if (id == kRootNode) return nullptr;
  InodePtr released;
  {
    Shard& shard = ShardOf(id);
    MutexLock lock(&shard.mu);
    auto it = shard.by_id.find(id.value);
    if (it == shard.by_id.end()) return nullptr;  // unknown or already forgotten: ignore
    Inode& inode = *it->second;
    if (n >= inode.nlookup_) {
      inode.nlookup_ = 0;
      auto kit = shard.by_key.find(inode.key_);
      if (kit != shard.by_key.end() && kit->second == id) shard.by_key.erase(kit);
      released = std::move(it->second);
      shard.by_id.erase(it);
    } else {
      inode.nlookup_ -= n;
    }
  }
  if (released) cache_.Drop(id);
  return released;
}

void InodeTable::UseInoAsNodeId() { ino_is_nodeid_.store(true, std::memory_order_relaxed); }

Result<SharedFd> InodeTable::PathFd(const Inode& inode) {
  if (inode.pinned_fd_) return inode.pinned_fd_;
  if (SharedFd fd = cache_.Get(inode.id_)) return fd;
  if (inode.open_count_.load(std::memory_order_acquire) > 0) {
    ReaderLock lock(&ShardOf(inode.id_).mu);
    if (inode.open_pin_) return inode.open_pin_;
  }
  int mount_fd;
  {
    MutexLock lock(&mounts_mu_);
    auto it = mount_fds_.find(inode.mount_id_);
    if (it == mount_fds_.end()) return Errno(ESTALE);
    mount_fd = it->second.get();
  }
  auto fd = sys::OpenByHandle(mount_fd, inode.handle_, O_PATH | O_NOFOLLOW);
  if (!fd.ok()) return fd.error();
  auto shared = std::make_shared<const sys::UniqueFd>(std::move(*fd));
  cache_.Put(inode.id_, shared);
  return shared;
}

void InodeTable::NoteOpened(Inode& inode, const SharedFd& path_fd) {
  MutexLock lock(&ShardOf(inode.id_).mu);
  if (inode.open_count_.fetch_add(1) == 0 && !inode.pinned_fd_) inode.open_pin_ = path_fd;
}

bool InodeTable::NoteReleased(Inode& inode) {
  SharedFd unpinned;
  MutexLock lock(&ShardOf(inode.id_).mu);
  if (inode.open_count_.fetch_sub(1) != 1) return false;
  unpinned = std::move(inode.open_pin_);
  return true;
}

size_t InodeTable::size() const {
  size_t n = 0;
  for (Shard& shard : shards_) {
    ReaderLock lock(&shard.mu);
    n += shard.by_id.size();
  }
  return n;
}

}  // namespace ptfs::mirror
