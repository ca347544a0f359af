// Session: the protocol state of one FUSE connection (INIT outcome, in-flight
// lock waits) and the dispatcher that hands each validated request to the
// handler of its opcode (session/ops.h), which makes one FileSystem call and
// sends one reply.
//
// Thread-safety: HandleMessage runs concurrently on every worker. Before INIT
// is answered the kernel sends nothing else, so the INIT outcome is written
// once and then only read (published through an atomic flag).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "proto/init.h"
#include "proto/request.h"
#include "ptfs/filesystem.h"
#include "session/lock_order.h"
#include "session/lock_waiters.h"
#include "session/reply.h"
#include "transport/channel.h"
#include "util/thread_annotations.h"

namespace ptfs::session {

struct SessionOptions {
  proto::InitConfig init;
  bool debug = false;  // log every request and its outcome
  // Called after each FORGET or BATCH_FORGET with the number of nodeids it
  // named, on the worker that processed it: the memory the file system freed
  // for them may be given back to the OS (cmd/passthroughfs passes
  // MemoryReleaser::Freed). Unset: nothing is called.
  std::function<void(uint64_t nodeids)> forgotten;
  // Called once INIT is accepted, before it is answered (so before any
  // other request can come): the restart state keeps the outcome.
  std::function<void(const proto::InitOutcome&)> init_accepted;
};

// Per-worker scratch memory for reply payloads (READ data, directory
// listings, xattr values). Sized for the largest reply.
struct WorkerBuffers {
  // `populate_in`: the request buffer's pages are made present now. The
  // kernel copies a request into it as it reads; a page fault there, in a
  // process being killed, fails the copy and the kernel ends the request
  // with EIO instead of leaving it for the next server (--restartable).
  explicit WorkerBuffers(size_t size, bool populate_in = false);
  // A view of memory owned elsewhere (a ring entry's payload buffer as `out`).
  WorkerBuffers(std::span<char> in_view, std::span<char> out_view)
      : in(in_view), out(out_view), in_mem_(nullptr), out_mem_(nullptr) {}
  ~WorkerBuffers();
  WorkerBuffers(const WorkerBuffers&) = delete;
  WorkerBuffers& operator=(const WorkerBuffers&) = delete;
  std::span<char> in;   // request messages
  std::span<char> out;  // reply payloads (page aligned)

 private:
  char* in_mem_;
  char* out_mem_;
};

// Bytes a worker's request buffer needs: max_write plus the largest header.
inline constexpr size_t kMaxWriteSupported = 1 << 20;
inline constexpr size_t kRequestBufferSize = kMaxWriteSupported + 4096;

class Session {
 public:
  Session(FileSystem* fs, SessionOptions options);

  // Handles one message exactly as received from `channel`.
  void HandleMessage(std::span<const char> msg, transport::Channel& channel, WorkerBuffers& bufs);

  // Requests of `opcode` that reached the server (decoded successfully).
  uint64_t RequestCount(uint32_t opcode) const {
    return opcode < request_counts_.size() ? request_counts_[opcode].load(std::memory_order_relaxed)
                                           : 0;
  }
  // FORGET and BATCH_FORGET messages whose forgets are done. They get no
  // reply, so this is how a caller (the fake-kernel harness) knows.
  uint64_t ForgetsProcessed() const { return forgets_processed_.load(std::memory_order_acquire); }
  // Messages rejected as malformed (answered with an error where they could
  // be, and logged as a warning).
  uint64_t RejectedRequests() const { return rejected_.load(std::memory_order_relaxed); }
  // Requests the kernel sent again after FUSE_NOTIFY_RESEND (a restarted
  // server: those the dead one had read and not answered).
  uint64_t ResentRequests() const { return resent_.load(std::memory_order_relaxed); }
  // Nodeids named by the FORGETs and BATCH_FORGETs processed so far.
  uint64_t NodeidsForgotten() const { return nodeids_forgotten_.load(std::memory_order_relaxed); }

  // The connection is gone: drop parked requests without answering them.
  // Called by the Server before it destroys its channels.
  void AbandonParked() { lock_waiters_.Abandon(); }
  size_t parked_locks() const { return lock_waiters_.parked(); }
  // How lock requests wait for earlier closes on other queues (lock_order.h):
  // the transport sets its settle function before serving.
  LockOrder& lock_order() { return lock_order_; }
  const LockOrder& lock_order() const { return lock_order_; }

  // Takes over a connection whose INIT was answered elsewhere with
  // `outcome`: by another process (restart; kept in the restart state), or
  // during mount(2) (init_during_mount.h). Instead of waiting for an INIT;
  // before any request is handled. `how` goes to the log.
  void Adopt(const proto::InitOutcome& outcome,
             const char* how = "taking over the connection");
  // INIT answered during mount(2) by this process (init_during_mount.h):
  // taken over as Adopt does, and counted (and logged under --debug) as the
  // request it was.
  void AdoptInitAnsweredDuringMount(const proto::InitOutcome& outcome);

  bool initialized() const { return initialized_.load(std::memory_order_acquire); }
  bool destroyed() const { return destroyed_.load(std::memory_order_acquire); }
  // REQUIRES: initialized().
  const proto::InitOutcome& init() const { return init_; }
  FileSystem& fs() { return *fs_; }

 private:
  void HandleInit(const proto::Request& req, Reply reply);
  // The connection's parameters take effect (INIT accepted or adopted).
  void Begin(const proto::InitOutcome& outcome);
  // Hands a request that came after INIT to the handler of its opcode.
  void Dispatch(const proto::Request& req, const Context& ctx, Reply reply, WorkerBuffers& bufs);
  void DoForget(const proto::Request& req);
  void NoteForgotten(uint64_t nodeids);
  void DoInterrupt(const proto::Request& req);

  FileSystem* fs_;
  SessionOptions options_;
  std::array<std::atomic<uint64_t>, abi::kMaxOpcode + 1> request_counts_{};
  std::atomic<uint64_t> forgets_processed_{0};
  std::atomic<uint64_t> nodeids_forgotten_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> resent_{0};
  std::atomic<bool> initialized_{false};
  std::atomic<bool> destroyed_{false};
  proto::InitOutcome init_;
  // The draft inode-passthrough protocol is in force (set with init_).
  bool inode_passthrough_ = false;
  proto::DecodeOptions decode_;

  // SETLKW requests waiting for their lock without holding a worker.
  LockWaiters lock_waiters_;
  LockOrder lock_order_;
};

}  // namespace ptfs::session
