// Tables of open file and directory handles (the kernel's fh). Handles come
// from a counter and are never reused, so a forged or stale fh is EBADF.
#pragma once

#include <algorithm>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mirror/inode_table.h"
#include "ptfs/result.h"
#include "ptfs/types.h"
#include "sys/fd.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

// A file the kernel opened.
struct FileState {
  InodePtr inode;
  sys::UniqueFd fd;
  int access_mode = 0;  // O_RDONLY / O_WRONLY / O_RDWR
  // Open for writing with kernel passthrough: counted in the inode's
  // passthrough_writers (the source watch skips its data changes meanwhile).
  bool passthrough_writer = false;
  // ... and opened O_RDWR: counted in the inode's mappable_writers.
  bool mappable_writer = false;
};

// An open directory: the host fd plus the unconsumed tail of the last
// getdents64 batch, so a listing continues where the previous reply stopped.
struct DirState {
  InodePtr inode;
  sys::UniqueFd fd;
  Mutex mu;
  // getdents64 output, allocated at the first listing and not zeroed (the
  // kernel fills what it returns): kBufSize bytes.
  static constexpr size_t kBufSize = 32 * 1024;
  std::unique_ptr<char[]> buf GUARDED_BY(mu);
  size_t buf_pos GUARDED_BY(mu) = 0;
  size_t buf_len GUARDED_BY(mu) = 0;
  uint64_t offset GUARDED_BY(mu) = 0;  // host offset of the next entry in buf
  // Where the fd's first getdents64 read from. ext4 sets up its hash-order
  // position at an fd's first read, and one made at the end of the
  // directory leaves the fd listing nothing from offset 0 afterwards (a
  // kernel bug, docs/known-issues.md): such a stream is reopened before it
  // lists from the start.
  enum class FirstRead : uint8_t { kNone, kAtStart, kElsewhere };
  FirstRead first_read GUARDED_BY(mu) = FirstRead::kNone;
};

template <typename T>
class HandleTable {
 public:
  FileHandle Add(std::shared_ptr<T> value) {
    MutexLock lock(&mu_);
    const FileHandle fh{next_++};
    map_.emplace(fh.value, std::move(value));
    return fh;
  }
  // A handle given out by a previous process (restart): kept as it was;
  // later handles come after it.
  void Insert(FileHandle fh, std::shared_ptr<T> value) {
    MutexLock lock(&mu_);
    map_[fh.value] = std::move(value);
    next_ = std::max(next_, fh.value + 1);
  }
  Result<std::shared_ptr<T>> Get(FileHandle fh) const {
    ReaderLock lock(&mu_);
    auto it = map_.find(fh.value);
    if (it == map_.end()) return Errno(EBADF);
    return it->second;
  }
  // Removes and returns the handle's value (destroyed by the caller, outside the lock).
  std::shared_ptr<T> Remove(FileHandle fh) {
    MutexLock lock(&mu_);
    auto it = map_.find(fh.value);
    if (it == map_.end()) return nullptr;
    auto value = std::move(it->second);
    map_.erase(it);
    return value;
  }
  size_t size() const {
    ReaderLock lock(&mu_);
    return map_.size();
  }

 private:
  mutable Mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<T>> map_ GUARDED_BY(mu_);
  uint64_t next_ GUARDED_BY(mu_) = 1;
};

// Directory streams without a kernel handle: once the kernel stopped sending
// OPENDIR (MirrorFs::OpenDir), READDIR arrives with fh 0 and the server
// keeps one stream per directory itself, at most `capacity` of them (least
// recently used first out), since no RELEASEDIR will ever say when a
// listing is done.
class DirStreams {
 public:
  explicit DirStreams(size_t capacity) : capacity_(capacity) {}
  // The stream of `node`, or nullptr.
  std::shared_ptr<DirState> Get(NodeId node) {
    MutexLock lock(&mu_);
    auto it = index_.find(node.value);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  // Adds `dir` as the stream of `node` (replacing one added meanwhile) and
  // returns the stream now in the table; the evicted one goes to the caller
  // through `evicted` (destroyed outside the lock).
  std::shared_ptr<DirState> Put(NodeId node, std::shared_ptr<DirState> dir,
                                std::shared_ptr<DirState>* evicted) {
    MutexLock lock(&mu_);
    if (auto it = index_.find(node.value); it != index_.end()) return it->second->second;
    lru_.emplace_front(node.value, std::move(dir));
    index_[node.value] = lru_.begin();
    if (lru_.size() > capacity_) {
      *evicted = std::move(lru_.back().second);
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return lru_.front().second;
  }
  std::shared_ptr<DirState> Drop(NodeId node) {
    MutexLock lock(&mu_);
    auto it = index_.find(node.value);
    if (it == index_.end()) return nullptr;
    auto dir = std::move(it->second->second);
    lru_.erase(it->second);
    index_.erase(it);
    return dir;
  }
  size_t size() const {
    MutexLock lock(&mu_);
    return lru_.size();
  }

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::list<std::pair<uint64_t, std::shared_ptr<DirState>>> lru_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, std::list<std::pair<uint64_t, std::shared_ptr<DirState>>>::iterator>
      index_ GUARDED_BY(mu_);
};

}  // namespace ptfs::mirror
