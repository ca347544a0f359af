// SourceWatcher: learns of every change made to SOURCE by anyone but the
// daemon itself, so the kernel may cache entries and attributes for a long
// time and still see outside changes within milliseconds.
//
// Why: with FUSE's usual 1 s timeouts the kernel asks again for everything it
// touched a second ago, which makes "warm" stats, finds and git status cost a
// round trip per file. A fanotify group in FID mode with a filesystem mark on
// SOURCE's filesystem reports each change as {directory handle, name} for
// directory entries and as the object's handle for attribute and data
// changes. The watcher maps handles to the server's nodes and sends
// FUSE_NOTIFY_INVAL_ENTRY / _INVAL_INODE for the ones the kernel may cache.
//
// What it skips: events caused by the daemon itself (the kernel already
// knows: it sent the request and got the new attributes in the reply).
// Passthrough writes happen in the writer's context, so their FAN_MODIFY
// carries the writer's pid, yet the kernel updated its own view after each.
// When the daemon reaches SOURCE through mounts of its own (a detached clone,
// sys::OpenTreeClone), the group ignores FAN_MODIFY on those mounts: the
// events are not even generated, while writes through any other mount still
// are. Without such mounts, see WriterClosed.
//
// Races: a reply prepared before a change but delivered after its
// invalidation would re-cache stale data for the long timeout. Every
// invalidation is therefore sent twice, the second time one batch interval
// later, after any reply racing with the first has reached the kernel.
//
// Needs CAP_SYS_ADMIN (filesystem marks) and a filesystem that reports file
// ids (ext4, xfs, btrfs, tmpfs, ...). Where it cannot watch, Covers() is false
// and the caller keeps short timeouts.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "mirror/device_set.h"
#include "ptfs/notifier.h"
#include "ptfs/result.h"
#include "ptfs/types.h"
#include "sys/fd.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

// One fanotify event, as parsed from the group's buffer.
struct SourceEvent {
  uint64_t mask = 0;
  int32_t pid = 0;
  bool overflow = false;  // FAN_Q_OVERFLOW: events were lost
  // struct file_handle bytes (header + f_handle) of the directory the event
  // names an entry in, and the entry's name ("" or "." for the directory
  // itself); and of the object the event is about, when reported.
  std::string dir_handle;
  std::string name;
  std::string object_handle;
  uint64_t fsid = 0;  // of the handles' filesystem
};

// Parses a buffer read from a fanotify group in FID mode. Malformed records
// are skipped (never read past `buf`).
std::vector<SourceEvent> ParseFanotifyEvents(std::span<const char> buf);

// The invalidations one batch of events calls for, deduplicated.
struct Invalidations {
  std::set<std::pair<uint64_t, std::string>> entries;  // {parent, name}
  std::map<uint64_t, bool> inodes;                     // node -> also drop cached data
  bool empty() const { return entries.empty() && inodes.empty(); }
};

struct WatcherCounters {
  std::atomic<uint64_t> events{0};       // events read
  std::atomic<uint64_t> own_events{0};   // skipped: caused by the daemon
  std::atomic<uint64_t> unknown{0};      // objects the kernel cannot cache
  std::atomic<uint64_t> inval_entry{0};  // notifications sent (incl. repeats)
  std::atomic<uint64_t> inval_inode{0};
  std::atomic<uint64_t> overflows{0};
  std::atomic<uint64_t> entry_epochs{0};    // FUSE_NOTIFY_INC_EPOCH sent and taken
  std::atomic<uint64_t> modify_ignored{0};  // FAN_MODIFY ignore marks added
  std::atomic<uint64_t> own_mounts{0};      // the daemon's mounts whose writes go unreported
  // Handles of changed objects (and of directories whose entries changed)
  // that started to be resolved to a node, counted before the node table is
  // asked (ResolutionsStarted).
  std::atomic<uint64_t> resolutions{0};
  // Entry replies whose attributes were not cached because an outside
  // change was being resolved while the node was made (NoteRacedEntry).
  std::atomic<uint64_t> raced_entries{0};
};

class SourceWatcher {
 public:
  // Maps a host inode {st_dev, st_ino} to the node the kernel knows it by
  // (0: none).
  using NodeOf = std::function<uint64_t(uint64_t dev, uint64_t ino)>;
  // Whether the mount has `node` open for writing with kernel passthrough.
  using WritesTracked = std::function<bool(uint64_t node)>;
  // Told of every outside attribute change (FAN_ATTRIB: mode, owner, times,
  // extended attributes and ACLs) to a node, before the kernel is.
  using AttributesChanged = std::function<void(uint64_t node)>;

  // A fanotify group watching the filesystem of `source_fd` (any fd on it).
  // `own_mounts`: the daemon reaches SOURCE only through mounts no one else
  // uses (source_fd is on one), so data changes made through them are the
  // mount's own and are not reported (a FAN_MODIFY ignore mask on each such
  // mount). Fails (with the reason) where fanotify cannot watch it.
  static Result<std::unique_ptr<SourceWatcher>> Create(int source_fd, bool own_mounts);
  ~SourceWatcher();

  // Whether changes to inodes on device `dev` are reported.
  bool Covers(uint64_t dev) const;
  // Adds the filesystem of `fd` (on device `dev`) if not yet watched. Tried
  // once per device; returns Covers(dev).
  bool Watch(int fd, uint64_t dev);

  // Files the mount writes with kernel passthrough: the kernel updates its
  // own view after each of those writes, and an event per write(2) costs the
  // writer a quarter of its speed (fanotify allocates and encodes an event
  // before merging it). So when data-change events arrive for a node that
  // `writes_tracked` says the mount has open for passthrough writing, the
  // watch adds an ignore mark for FAN_MODIFY on that inode. The last such
  // writer's RELEASE calls WriterClosed, which removes the mark and drops
  // the kernel's cached attributes (outside writes meanwhile went unreported).
  void WriterClosed(int fd, uint64_t node);

  // Starts the thread that turns events into notifications; Stop() ends it.
  // `names_changed`: called when an outside change removed or moved a name
  // (so paths under it may have changed), as the events are read.
  using NamesChanged = std::function<void()>;
  void Start(KernelNotifier* notifier, NodeOf node_of, WritesTracked writes_tracked,
             AttributesChanged attributes_changed = nullptr, NamesChanged names_changed = nullptr);
  void Stop();

  // The watch cannot vouch for the kernel's cached names (events were lost:
  // a queue overflow, or no server watched for a while): every name the
  // kernel caches is looked up again at its next use, in one notification
  // (FUSE_NOTIFY_INC_EPOCH, Linux 6.16+). `why` goes to the log. After
  // Start; callable from any thread.
  void StartNewEntryEpoch(const char* why);

  const WatcherCounters& counters() const { return counters_; }

  // The race this closes: a LOOKUP reads an inode's attributes, an outside
  // change follows (chmod of the file, or a name made in the directory),
  // the watch resolves its event before the LOOKUP has put the new node in
  // the table, finds no node and drops it; the reply then hands the kernel
  // the old attributes for the long timeout, and the kernel never hears of
  // the change (none is sent, and the kernel has no inode to apply one to
  // yet). A node that is made reads this before its statx and again after
  // it is in the table: if it moved, a change may have been dropped, so its
  // attributes must not be cached. A resolution that starts after the
  // insertion finds the node and is sent; one counted before the first
  // read belongs to a change made before the statx, which saw it. The count
  // is taken before the node table is asked, which is what makes "equal" a
  // proof.
  uint64_t ResolutionsStarted() const { return counters_.resolutions.load(); }
  void NoteRacedEntry() { counters_.raced_entries.fetch_add(1, std::memory_order_relaxed); }

  // How long a burst of changes gathers before it is sent, and when each
  // invalidation is sent again (after any racing reply reached the kernel).
  static constexpr int kBatchMillis = 5;
  static constexpr int kRepeatMillis = 20;

 private:
  SourceWatcher(sys::UniqueFd group, bool own_mounts);
  void Run();
  void Collect(const std::vector<SourceEvent>& events, Invalidations* out);
  // Marks the filesystem of `fd` (device `dev`) and keeps an fd on it for
  // open_by_handle_at. REQUIRES: mu_.
  Errno AddFilesystem(int fd, uint64_t dev);
  uint64_t Resolve(uint64_t fsid, const std::string& handle, std::map<std::string, uint64_t>* memo);
  // Adds the FAN_MODIFY ignore mark for `node` (see WriterClosed).
  void MaybeIgnoreModify(uint64_t fsid, const std::string& handle, uint64_t node);
  void Send(const Invalidations& inv);

  sys::UniqueFd group_;
  const bool own_mounts_;
  sys::UniqueFd wake_;  // eventfd: Stop()
  sys::UniqueFd kick_;  // eventfd: `pending_` has invalidations to send
  int32_t self_pid_ = 0;
  DeviceSet devs_;  // filled under mu_
  Mutex mu_;
  std::map<uint64_t, bool> tried_ GUARDED_BY(mu_);               // dev -> covered
  std::map<uint64_t, sys::UniqueFd> mount_fds_ GUARDED_BY(mu_);  // fsid -> fd
  Invalidations pending_ GUARDED_BY(mu_);                        // queued by WriterClosed
  std::set<uint64_t> modify_ignored_ GUARDED_BY(mu_);            // nodes with the ignore mark
  KernelNotifier* notifier_ = nullptr;
  NodeOf node_of_;
  WritesTracked writes_tracked_;
  AttributesChanged attributes_changed_;
  NamesChanged names_changed_;
  std::thread thread_;
  WatcherCounters counters_;
};

}  // namespace ptfs::mirror
