#include "mirror/backing.h"

#include <fcntl.h>

#include <cstring>

#include "mirror/open_journal.h"
#include "sys/syscalls.h"
#include "util/log.h"

namespace ptfs::mirror {

namespace {
const char* WhyServed(int err) {
  switch (err) {
    case EPERM:
      return "registering backing files needs CAP_SYS_ADMIN";
    case ELOOP:
      return "SOURCE is stacked deeper than --max-stack-depth allows";
    case EOPNOTSUPP:
    case EINVAL:
      return "SOURCE's filesystem does not support passthrough";
    default:
      return "the kernel refused the backing file";
  }
}
}  // namespace

BackingId BackingManager::Register(int fd, uint32_t inode_ops) {
  // Register a fresh open of the file, never the caller's own fd: the
  // kernel keeps a reference to the registered open file description for
  // as long as the backing lives, which would keep that caller's flock()
  // locks alive past its close.
  auto own = sys::Reopen(fd, O_RDONLY);
  auto id = own.ok() ? registrar_->Open(own->get(), inode_ops) : Result<BackingId>(own.error());
  if (id.ok()) {
    counters_.backing_registered.fetch_add(1, std::memory_order_relaxed);
    counters_.backing_open_now.fetch_add(1, std::memory_order_relaxed);
    if (inode_ops != 0) counters_.inode_backings.fetch_add(1, std::memory_order_relaxed);
    return *id;
  }
  counters_.backing_failed.fetch_add(1, std::memory_order_relaxed);
  const int e = id.error().value();
  if (logged_errors_.insert(e).second) {
    LOG_WARN("kernel passthrough refused (%s: %s); such files are served by the daemon",
             strerror(e), WhyServed(e));
  }
  return BackingId{};
}

void BackingManager::Unidle(State& s) {
  if (!s.idle) return;
  idle_.erase(s.idle_pos);
  s.idle = false;
  counters_.backing_idle_now.fetch_sub(1, std::memory_order_relaxed);
}

void BackingManager::Close(std::unordered_map<uint64_t, State>::iterator it) {
  Unidle(it->second);
  const BackingId id = it->second.id;
  const NodeId node{it->first};
  inodes_.erase(it);
  if (id.value == 0) return;
  if (journal_ != nullptr) journal_->BackingClosed(node);
  // Closed under the lock, so a concurrent Acquire of this inode registers
  // afresh only after the old id is gone.
  if (Errno e = registrar_->Close(id)) {
    LOG_WARN("closing backing id %d failed: %s", id.value, strerror(e.value()));
  }
  counters_.backing_open_now.fetch_sub(1, std::memory_order_relaxed);
}

void BackingManager::FirstUse(NodeId node, State& s, int fd, uint32_t inode_ops) {
  if (s.idle) {
    Unidle(s);
    counters_.backing_reused.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  s.id = Register(fd, inode_ops);
  s.inode_ops = inode_ops;
  if (s.id.value != 0 && journal_ != nullptr) journal_->BackingRegistered(node, s.id);
}

void BackingManager::Restore(NodeId node, BackingId id, uint64_t opens) {
  if (registrar_ == nullptr) {
    LOG_WARN(
        "restart: backing id %d cannot be taken over without passthrough; it stays "
        "registered until the mount ends",
        id.value);
    return;
  }
  MutexLock lock(&mu_);
  State& s = inodes_[node.value];
  s.id = id;
  s.opens = opens;
  counters_.backing_open_now.fetch_add(1, std::memory_order_relaxed);
  if (opens == 0) {
    // Kept idle, as the last release would have: reused by the next open,
    // closed by Forget or when the idle list is full.
    s.idle_pos = idle_.insert(idle_.end(), node.value);
    s.idle = true;
    counters_.backing_idle_now.fetch_add(1, std::memory_order_relaxed);
    if (idle_.size() > max_idle_) Close(inodes_.find(idle_.front()));
  }
}

BackingId BackingManager::Acquire(NodeId node, int fd) {
  if (registrar_ == nullptr) {
    counters_.opens_served.fetch_add(1, std::memory_order_relaxed);
    return BackingId{};
  }
  // Registration happens under the lock: it is one ioctl, and holding the
  // lock is what keeps a racing Release from closing the id we hand out.
  MutexLock lock(&mu_);
  State& s = inodes_[node.value];
  if (s.opens++ == 0) FirstUse(node, s, fd, 0);
  if (s.id.value != 0) {
    counters_.opens_passthrough.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.opens_served.fetch_add(1, std::memory_order_relaxed);
  }
  return s.id;
}

BackingId BackingManager::HoldForInode(NodeId node, std::atomic<bool>* held, int path_fd,
                                       uint32_t inode_ops) {
  if (registrar_ == nullptr) return BackingId{};
  MutexLock lock(&mu_);
  auto it = inodes_.find(node.value);
  if (it != inodes_.end() && it->second.idle && it->second.inode_ops != inode_ops) {
    // Kept from plain opens, without the inode ops the kernel should now
    // serve from it: register afresh.
    Close(it);
  }
  State& s = inodes_[node.value];
  if (!held->load(std::memory_order_relaxed)) {
    held->store(true, std::memory_order_relaxed);
    // An inode is looked up before it is opened, so the hold normally
    // registers the backing; should an open have registered it first
    // (without inode ops), the kernel gets that id and serves no inode op
    // from it, which is still correct.
    if (s.opens++ == 0) FirstUse(node, s, path_fd, inode_ops);
  }
  return s.id;
}

BackingId BackingManager::InodeBackingWith(NodeId node, uint32_t ops) {
  if (registrar_ == nullptr || ops == 0) return BackingId{};
  MutexLock lock(&mu_);
  auto it = inodes_.find(node.value);
  if (it == inodes_.end() || it->second.opens == 0) return BackingId{};
  return (it->second.inode_ops & ops) == ops ? it->second.id : BackingId{};
}

void BackingManager::Release(NodeId node) {
  if (registrar_ == nullptr) return;
  MutexLock lock(&mu_);
  auto it = inodes_.find(node.value);
  if (it == inodes_.end() || it->second.opens == 0) return;
  State& s = it->second;
  if (--s.opens > 0) return;
  if (s.id.value == 0 || max_idle_ == 0) {
    Close(it);
    return;
  }
  s.idle_pos = idle_.insert(idle_.end(), node.value);
  s.idle = true;
  counters_.backing_idle_now.fetch_add(1, std::memory_order_relaxed);
  if (idle_.size() > max_idle_) Close(inodes_.find(idle_.front()));
}

void BackingManager::Forget(NodeId node) {
  if (registrar_ == nullptr) return;
  MutexLock lock(&mu_);
  auto it = inodes_.find(node.value);
  if (it != inodes_.end() && it->second.idle) Close(it);
}

}  // namespace ptfs::mirror
