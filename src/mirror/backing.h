// BackingManager: one kernel backing id per inode, shared by all its opens.
//
// An inode's data path is decided when it goes from zero to one open file:
// the kernel refuses to mix passthrough opens and cached (served) opens of one
// inode, and all passthrough opens of an inode must share one backing. So:
//   - the first Acquire registers the backing (or records that this inode is
//     served, after a failed registration),
//   - later Acquires reuse that decision,
//   - the last Release keeps a registered backing as "idle" (up to
//     `max_idle` of them, least recently used closed first), so reopening the
//     inode costs no registration; Forget closes it when the inode leaves
//     the table.
// Keeping it is sound because the kernel never does I/O on the registered
// file itself: each passthrough open gets a fresh backing file opened from
// the registered file's path with that open's flags (backing_file_open), so
// one read-only registration serves every later open mode. The daemon's own
// open per OPEN, as the caller, still decides whether the open is allowed.
//
// Acquire, Release and Forget of one inode serialize on the manager's lock,
// so an open racing with a close either shares the still-registered id or
// registers a fresh one: it can never get a closed id.
//
// Registration failures fall back to the served path for that inode; each
// distinct errno is logged once, not once per open.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <set>
#include <unordered_map>

#include "ptfs/backing.h"
#include "ptfs/result.h"
#include "ptfs/types.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

class OpenJournal;

struct DataPathCounters {
  std::atomic<uint64_t> opens_passthrough{0};
  std::atomic<uint64_t> opens_served{0};
  std::atomic<uint64_t> backing_registered{0};  // registrations ever made
  std::atomic<uint64_t> backing_failed{0};
  std::atomic<int64_t> backing_open_now{0};  // ids registered and not yet closed
  std::atomic<int64_t> backing_idle_now{0};  // of those, kept with no open file
  std::atomic<uint64_t> backing_reused{0};   // opens that found an idle backing
  std::atomic<uint64_t> inode_backings{0};   // registered with inode ops (draft)
};

class BackingManager {
 public:
  // Without a registrar every open is served. At most `max_idle` backings
  // are kept registered with no open file (0: closed at the last release).
  explicit BackingManager(size_t max_idle = kDefaultMaxIdle) : max_idle_(max_idle) {}
  static constexpr size_t kDefaultMaxIdle = 4096;
  // Turns passthrough on. Called once, at INIT, before any open.
  void Enable(BackingRegistrar* registrar) { registrar_ = registrar; }

  // One more open file on `node`; `fd` is that open's host fd. Returns the
  // backing to put in the OPEN reply, or BackingId{0} if this open is served.
  BackingId Acquire(NodeId node, int fd);
  // The open taken by Acquire (or the hold taken by HoldForInode) is given
  // back; the backing stays registered, idle, if it was the last.
  void Release(NodeId node);
  // `node` left the inode table: closes its idle backing, if any. (An inode
  // with open files is never forgotten: the kernel holds it.)
  void Forget(NodeId node);

  // Inode passthrough (draft protocol): the long-lived backing of `node`,
  // registered with `inode_ops` on its first use and shared with every open
  // of the inode. `*held` is the inode object's own flag: each inode object
  // takes one reference, however often it is looked up, and gives it back
  // with Release(node) when it leaves the table. `path_fd` is an O_PATH fd.
  BackingId HoldForInode(NodeId node, std::atomic<bool>* held, int path_fd, uint32_t inode_ops);

  // The backing `node` holds with inode ops including all of `ops` (draft
  // protocol: a directory's OPENDIR reply names it for READDIR), or 0.
  BackingId InodeBackingWith(NodeId node, uint32_t ops);

  // Restart (OpenJournal): every registration and close is recorded there.
  // Called once, before any open.
  void SetJournal(OpenJournal* journal) { journal_ = journal; }
  // A restarted daemon takes over a backing the kernel still holds for
  // `node`, used by `opens` restored open files (idle if none).
  void Restore(NodeId node, BackingId id, uint64_t opens);

  bool enabled() const { return registrar_ != nullptr; }
  const DataPathCounters& counters() const { return counters_; }

 private:
  struct State {
    BackingId id;            // 0: served
    uint64_t opens = 0;      // open files + inode objects holding it
    uint32_t inode_ops = 0;  // what the registration offered (draft protocol)
    bool idle = false;       // registered, opens == 0, listed in idle_ at idle_pos
    std::list<uint64_t>::iterator idle_pos;
  };
  // Registers a fresh O_RDONLY open of `fd` for `node`; logs failures once per errno.
  BackingId Register(int fd, uint32_t inode_ops) REQUIRES(mu_);
  // The inode goes from no user to one: reuses its idle backing, or
  // registers `fd` (with `inode_ops`).
  void FirstUse(NodeId node, State& s, int fd, uint32_t inode_ops) REQUIRES(mu_);
  // Takes `s` off the idle list: it is in use again or closing.
  void Unidle(State& s) REQUIRES(mu_);
  // Closes the backing of `node` and forgets its state.
  void Close(std::unordered_map<uint64_t, State>::iterator it) REQUIRES(mu_);
  const size_t max_idle_;
  BackingRegistrar* registrar_ = nullptr;
  OpenJournal* journal_ = nullptr;
  DataPathCounters counters_;
  Mutex mu_;
  std::unordered_map<uint64_t, State> inodes_ GUARDED_BY(mu_);
  std::list<uint64_t> idle_ GUARDED_BY(mu_);  // idle nodes, least recently used first
  std::set<int> logged_errors_ GUARDED_BY(mu_);
};

}  // namespace ptfs::mirror
