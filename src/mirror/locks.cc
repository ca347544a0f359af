#include "mirror/locks.h"

#include <vector>

#include "sys/syscalls.h"

namespace ptfs::mirror {

Result<SharedFd> LockTable::FdFor(NodeId node, FileHandle fh, uint64_t owner, int file_fd,
                                  int access_mode) {
  const LockKey key{node.value, owner};
  {
    MutexLock lock(&mu_);
    if (owners_by_handle_[fh.value].insert(owner).second) ++handle_count_[key];
    auto it = fds_.find(key);
    if (it != fds_.end()) return it->second;
  }
  auto fd = sys::Reopen(file_fd, O_RDWR);
  if (!fd.ok()) fd = sys::Reopen(file_fd, access_mode);
  if (!fd.ok()) return fd.error();
  auto shared = std::make_shared<const sys::UniqueFd>(std::move(*fd));
  MutexLock lock(&mu_);
  auto [it, inserted] = fds_.emplace(key, shared);
  return it->second;  // another thread may have won the race: use its fd
}

void LockTable::DropOwner(NodeId node, uint64_t owner) {
  SharedFd dropped;  // closed (dropping its locks) after unlocking
  MutexLock lock(&mu_);
  auto it = fds_.find(LockKey{node.value, owner});
  if (it == fds_.end()) return;
  dropped = std::move(it->second);
  fds_.erase(it);
}

void LockTable::HandleReleased(NodeId node, FileHandle fh) {
  std::vector<SharedFd> dropped;  // closed after unlocking
  MutexLock lock(&mu_);
  auto owners = owners_by_handle_.find(fh.value);
  if (owners == owners_by_handle_.end()) return;
  for (uint64_t owner : owners->second) {
    const LockKey key{node.value, owner};
    auto count = handle_count_.find(key);
    if (count == handle_count_.end() || --count->second > 0) continue;
    handle_count_.erase(count);
    auto it = fds_.find(key);
    if (it == fds_.end()) continue;
    dropped.push_back(std::move(it->second));
    fds_.erase(it);
  }
  owners_by_handle_.erase(owners);
}

void LockTable::InodeClosed(NodeId node) {
  std::vector<SharedFd> dropped;  // closed after unlocking
  MutexLock lock(&mu_);
  for (auto it = fds_.lower_bound(LockKey{node.value, 0});
       it != fds_.end() && it->first.node == node.value;) {
    dropped.push_back(std::move(it->second));
    it = fds_.erase(it);
  }
}

size_t LockTable::size() const {
  MutexLock lock(&mu_);
  return fds_.size();
}

std::vector<LockTable::Held> LockTable::Export() const {
  std::vector<Held> out;
  MutexLock lock(&mu_);
  for (const auto& [key, fd] : fds_) {
    auto count = handle_count_.find(key);
    out.push_back(Held{NodeId{key.node}, key.owner, fd,
                       count == handle_count_.end() ? 0 : count->second});
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> LockTable::ExportHandles() const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  MutexLock lock(&mu_);
  for (const auto& [fh, owners] : owners_by_handle_) {
    for (uint64_t owner : owners) out.emplace_back(fh, owner);
  }
  return out;
}

void LockTable::Import(const Held& held) {
  const LockKey key{held.node.value, held.owner};
  MutexLock lock(&mu_);
  fds_[key] = held.fd;
  if (held.handles > 0) handle_count_[key] = held.handles;
}

void LockTable::ImportHandle(FileHandle fh, uint64_t owner) {
  MutexLock lock(&mu_);
  owners_by_handle_[fh.value].insert(owner);
}

}  // namespace ptfs::mirror
