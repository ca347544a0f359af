// Confinement: by-name operations happen only in directories that are still
// under SOURCE.
//
// Why: the server holds a directory by file handle (or O_PATH fd), which keeps
// naming the same directory wherever it moves. When somebody renames SRC/d to
// a place outside SOURCE, the kernel may still hold the FUSE entry for d (for
// up to the entry timeout, a day with the source watch) and a LOOKUP, CREATE,
// MKDIR, UNLINK or RENAME under it would then act on files outside SOURCE.
// (A cached entry naming the moved directory is like a process's cwd, and
// the server may still stat or read what it already handed out; it must not
// resolve or change names inside it.)
//
// How, without a walk to the root per request: a directory moves only by
// rename(2), and fsnotify queues FAN_MOVE_SELF on a filesystem mark before
// rename(2) returns. A dedicated fanotify group ("moves") watches only that
// event on SOURCE's filesystems. Every directory move seen bumps an epoch; a
// directory proven connected (walked up through ".." to SOURCE's root, or to
// an ancestor proven connected in the same epoch) records the epoch. Before a
// by-name operation the server asks the group whether anything is queued
// (one FIONREAD ioctl); only if a directory moved since the directory's proof
// does it walk again, and the walk stops at the first ancestor proven in the
// current epoch. So in steady state a by-name request costs one ioctl and an
// atomic load; after a directory rename, each directory used is re-proven
// once.
//
// Where the group cannot be had (no CAP_SYS_ADMIN, a filesystem without file
// ids) every by-name operation walks. Walk errors other than reaching a
// filesystem root without meeting SOURCE (EACCES on an ancestor the daemon
// may not search: a daemon without CAP_DAC_READ_SEARCH) let the operation
// proceed: such a daemon can only do what its own user could natively.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "mirror/device_set.h"
#include "sys/fd.h"
#include "ptfs/result.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

struct ConfinementCounters {
  std::atomic<uint64_t> walks{0};       // directories proven by walking up
  std::atomic<uint64_t> dir_moves{0};   // directory moves seen (epoch bumps)
  std::atomic<uint64_t> refused{0};     // by-name operations refused: outside SOURCE
};

class Confinement {
 public:
  // The proof record of the directory {dev, ino} if the server holds it
  // (nullptr otherwise), to read and update during a walk. The pointer stays
  // valid while `keep` is alive.
  using ProofOf = std::function<std::atomic<uint64_t>*(uint64_t dev, uint64_t ino,
                                                       std::shared_ptr<void>* keep)>;

  // `root_dev`/`root_ino`: SOURCE's root. `watch_fd`: any fd on SOURCE's
  // filesystem, whose directory moves are then watched if fanotify allows
  // (-1: never watch; every by-name operation walks).
  Confinement(uint64_t root_dev, uint64_t root_ino, int watch_fd, ProofOf proof_of);

  // Also watches moves on the filesystem of `fd` (device `dev`), a
  // filesystem mounted inside SOURCE. Tried once per device.
  void Watch(int fd, uint64_t dev);
  // Whether directory moves on device `dev` are watched.
  bool Covers(uint64_t dev) const;

  // Ok if the directory behind `dir_fd` (an fd on it, O_PATH is enough;
  // device `dev`, inode `ino`) is under SOURCE; ENOENT if it is not (it was
  // moved out: to the caller it no longer exists). `*proven_epoch` is the
  // directory's record of its last proof, updated here.
  Errno Check(int dir_fd, uint64_t dev, uint64_t ino, std::atomic<uint64_t>* proven_epoch);

  const ConfinementCounters& counters() const { return counters_; }
  bool watching() const { return group_.get() >= 0; }

 private:
  // Reads what the group queued; a directory move bumps `epoch_`. Returns the
  // epoch to prove against.
  uint64_t CurrentEpoch();
  // Walks up from `dir_fd` (device `dev`, inode `ino`) through "..": true if
  // SOURCE's root, or an ancestor proven in `epoch` (0: use no proofs), is
  // met before a filesystem root; ancestors held by the server are then
  // recorded as proven in `epoch`.
  Result<bool> WalkUp(int dir_fd, uint64_t dev, uint64_t ino, uint64_t epoch);

  const uint64_t root_dev_;
  const uint64_t root_ino_;
  ProofOf proof_of_;
  sys::UniqueFd group_;  // fanotify, FAN_MOVE_SELF on SOURCE's filesystems
  // Starts at 1 so that a directory never proven (0) is never current.
  std::atomic<uint64_t> epoch_{1};
  Mutex drain_mu_;  // one thread reads the group at a time
  // Set while a thread reads the group, before its read: a thread that finds
  // the queue empty then knows whether an epoch bump may still be coming.
  std::atomic<int> draining_{0};
  DeviceSet devs_;  // watched devices, filled under devs_mu_
  Mutex devs_mu_;  // serializes Watch
  std::map<uint64_t, bool> tried_ GUARDED_BY(devs_mu_);
  // Proofs are only trusted while every filesystem met inside SOURCE is
  // watched: a move on an unwatched one could disconnect a watched
  // directory below it without bumping the epoch.
  std::atomic<bool> all_watched_{false};
  ConfinementCounters counters_;
};

}  // namespace ptfs::mirror
