// LockWaiters: SETLKW requests that could not be granted at once, parked
// without holding a worker thread.
//
// A waiting lock must never pin a worker: with as many waiters as workers,
// nothing would be left to process the unlock that would release them (a
// deadlock the mount tests reproduce). So the session answers SETLKW by trying
// the lock without waiting; on a conflict it parks the request (with its
// Reply) here. One thread retries parked locks in arrival order, with a short
// back-off while nothing changes, and answers each when it is granted, fails
// otherwise, or is interrupted (EINTR), as a blocking fcntl(F_SETLKW) would.
//
// Thread-safety: Park and Interrupt may be called from any worker. Replies
// are sent from the retry thread, outside the lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ptfs/filesystem.h"
#include "session/reply.h"
#include "util/thread_annotations.h"

namespace ptfs::session {

class LockWaiters {
 public:
  struct Request {
    Context ctx;                  // its `groups` is re-pointed at `groups` below
    std::vector<uint32_t> groups;
    NodeId node;
    FileHandle fh;
    uint64_t owner = 0;
    LockIn lock;
    LockKind kind = LockKind::kPosix;
  };

  explicit LockWaiters(FileSystem* fs);
  ~LockWaiters();
  LockWaiters(const LockWaiters&) = delete;
  LockWaiters& operator=(const LockWaiters&) = delete;

  // Takes over `reply`; it is answered when the lock is granted or fails.
  void Park(Request request, Reply reply);
  // The kernel interrupted `unique`: if it is parked, it is answered EINTR.
  void Interrupt(uint64_t unique);
  // The connection is gone: drops every parked request without answering.
  void Abandon();
  size_t parked() const;

 private:
  struct Parked {
    Request request;
    Reply reply;
    std::shared_ptr<std::atomic<bool>> interrupted;
  };
  void Loop();
  // Tries one parked lock; true when it has been answered.
  bool Attempt(Parked& p);

  FileSystem* fs_;
  mutable Mutex mu_;
  std::condition_variable_any cv_;
  std::list<Parked> parked_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, std::shared_ptr<std::atomic<bool>>> by_unique_ GUARDED_BY(mu_);
  bool wake_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ptfs::session
