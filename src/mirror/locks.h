// LockTable: the host open file descriptions that hold the kernel's POSIX
// record locks on SOURCE.
//
// POSIX record locks are held on one open file description per
// {inode, lock owner} (OFD locks): descriptions of different owners
// conflict exactly as processes do natively, and closing any fd of the file
// (FLUSH with the owner) drops all of that owner's locks on it, as close(2)
// does for a process.
//
// The table also keeps which owners locked through which handle, and through
// how many live handles each {inode, owner} has locked. An OFD lock's owner is
// its open file description, whose close the kernel never reports as an
// unlock (no FLUSH carries that owner): the RELEASE of the last handle an
// owner locked through is what drops its locks. For a process (POSIX) owner
// this is a no-op, as closing any of its fds already dropped them with FLUSH.
//
// A description is dropped by closing it, which releases its locks; every
// close happens after the table's lock is let go.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "mirror/inode_table.h"
#include "ptfs/types.h"
#include "ptfs/result.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

class LockTable {
 public:
  // The description holding `owner`'s locks on `node`, which the owner now
  // uses through handle `fh`: the one it already has, or a new one reopened
  // from `file_fd` (read-write if SOURCE allows, else with `access_mode`).
  Result<SharedFd> FdFor(NodeId node, FileHandle fh, uint64_t owner, int file_fd, int access_mode);
  // `owner` closed a file of `node` (FLUSH, or RELEASE with RELEASE_FLUSH):
  // close(2) drops the closing process's POSIX locks on the file.
  void DropOwner(NodeId node, uint64_t owner);
  // Handle `fh` of `node` is gone (RELEASE): owners that locked through no
  // other live handle hold nothing any more. This is where OFD locks end.
  void HandleReleased(NodeId node, FileHandle fh);
  // The last open file of `node` is gone: no owner can hold locks on it.
  void InodeClosed(NodeId node);

  // {inode, owner} pairs with a description (for tests).
  size_t size() const;

  // Live upgrade: the table as it stands, to be rebuilt in the next server
  // (restart.cc), whose handles keep their values. `handles`: how many live
  // handles the owner locked through; `by_handle`: those handles.
  struct Held {
    NodeId node;
    uint64_t owner = 0;
    SharedFd fd;
    int handles = 0;
  };
  std::vector<Held> Export() const;
  std::vector<std::pair<uint64_t, uint64_t>> ExportHandles() const;  // {fh, owner}
  void Import(const Held& held);
  void ImportHandle(FileHandle fh, uint64_t owner);

 private:
  struct LockKey {
    uint64_t node;
    uint64_t owner;
    friend auto operator<=>(const LockKey&, const LockKey&) = default;
  };
  mutable Mutex mu_;
  std::map<LockKey, SharedFd> fds_ GUARDED_BY(mu_);
  std::map<uint64_t, std::set<uint64_t>> owners_by_handle_ GUARDED_BY(mu_);
  std::map<LockKey, int> handle_count_ GUARDED_BY(mu_);
};

}  // namespace ptfs::mirror
