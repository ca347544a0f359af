// Tables of open file and directory handles (the kernel's fh). Handles come
// from a counter and are never reused, so a forged or stale fh is EBADF.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "passthrough/inode_table.h"
#include "ptfs/types.h"
#include "sys/fd.h"
#include "util/result.h"
#include "util/thread_annotations.h"

namespace ptfs::passthrough {

// A file the kernel opened.
struct FileState {
  InodePtr inode;
  sys::UniqueFd fd;
  int access_mode = 0;  // O_RDONLY / O_WRONLY / O_RDWR
};

// An open directory: the host fd plus the unconsumed tail of the last
// getdents64 batch, so a listing continues where the previous reply stopped.
struct DirState {
  InodePtr inode;
  sys::UniqueFd fd;
  Mutex mu;
  std::vector<char> buf GUARDED_BY(mu);
  size_t buf_pos GUARDED_BY(mu) = 0;
  size_t buf_len GUARDED_BY(mu) = 0;
  uint64_t offset GUARDED_BY(mu) = 0;  // host offset of the next entry in buf
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

}  // namespace ptfs::passthrough
