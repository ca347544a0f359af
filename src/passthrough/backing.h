// BackingManager: one kernel backing id per inode, shared by all its opens.
//
// An inode's data path is decided when it goes from zero to one open file and
// kept until the last release: the kernel refuses to mix passthrough opens and
// cached (served) opens of one inode, and all passthrough opens of an inode
// must share one backing. So:
//   - the first Acquire registers the backing (or records that this inode is
//     served, after a failed registration),
//   - later Acquires reuse that decision,
//   - the last Release closes the backing id.
// Acquire and Release of one inode serialize on the manager's lock, so an open
// racing with the last release either shares the still-registered id (and
// keeps it alive) or registers a fresh one: it can never get a closed id.
//
// Registration failures fall back to the served path for that inode; each
// distinct errno is logged once, not once per open.
#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <unordered_map>

#include "ptfs/backing.h"
#include "ptfs/types.h"
#include "util/result.h"
#include "util/thread_annotations.h"

namespace ptfs::passthrough {

struct DataPathCounters {
  std::atomic<uint64_t> opens_passthrough{0};
  std::atomic<uint64_t> opens_served{0};
  std::atomic<uint64_t> backing_registered{0};  // registrations ever made
  std::atomic<uint64_t> backing_failed{0};
  std::atomic<int64_t> backing_open_now{0};     // ids registered and not yet closed
  std::atomic<uint64_t> inode_backings{0};      // registered with inode ops (draft)
};

class BackingManager {
 public:
  // Without a registrar every open is served.
  BackingManager() = default;
  // Turns passthrough on. Called once, at INIT, before any open.
  void Enable(BackingRegistrar* registrar) { registrar_ = registrar; }

  // One more open file on `node`; `fd` is that open's host fd. Returns the
  // backing to put in the OPEN reply, or BackingId{0} if this open is served.
  BackingId Acquire(NodeId node, int fd);
  // The open taken by Acquire is released.
  void Release(NodeId node);

  // Inode passthrough (draft protocol): the long-lived backing of `node`,
  // registered with `inode_ops` on its first use and shared with every open
  // of the inode. `*held` is the inode object's own flag: each inode object
  // takes one reference, however often it is looked up, and gives it back
  // with Release(node) when it leaves the table. `path_fd` is an O_PATH fd.
  BackingId HoldForInode(NodeId node, std::atomic<bool>* held, int path_fd, uint32_t inode_ops);

  bool enabled() const { return registrar_ != nullptr; }
  const DataPathCounters& counters() const { return counters_; }

 private:
  struct State {
    BackingId id;       // 0: served
    uint64_t opens = 0;  // open files + inode objects holding it
  };
  // Registers a fresh O_RDONLY open of `fd` for `node`; logs failures once per errno.
  BackingId Register(int fd, uint32_t inode_ops) REQUIRES(mu_);
  BackingRegistrar* registrar_ = nullptr;
  DataPathCounters counters_;
  Mutex mu_;
  std::unordered_map<uint64_t, State> inodes_ GUARDED_BY(mu_);
  std::set<int> logged_errors_ GUARDED_BY(mu_);
};

}  // namespace ptfs::passthrough
