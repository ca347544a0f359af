// Server: runs N worker threads, each reading requests from its own channel
// (a cloned /dev/fuse fd when the device allows it) and handing them to the
// Session. With an io_uring transport it also starts the ring's queue threads
// once INIT has negotiated FUSE_OVER_IO_URING; INIT itself, FORGET and
// INTERRUPT always come through /dev/fuse, so the readers stay. Returns when
// the connection ends (unmount, DESTROY, or the peer closing the channel).
#pragma once

#include <pthread.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "session/blocking_ops.h"
#include "session/session.h"
#include "transport/channel.h"
#include "transport/uring.h"

namespace ptfs::session {

struct TransportPlan {
  // Rings ready to be registered when INIT negotiates FUSE_OVER_IO_URING;
  // nullptr to serve over /dev/fuse only.
  transport::UringTransport* uring = nullptr;
  // Why io_uring is (or is not) asked for, for the one start-up log line.
  std::string why;
  // --transport=uring: not getting io_uring at INIT is an error, not a fallback.
  bool required = false;
  // Called once, after INIT has been answered and the transport decided
  // (whether the rings serve): the mount is then live as it will be served.
  std::function<void(bool uring_in_use)> initialized;
  // Every reader thread reads the main fd instead of a clone of its own
  // (--restartable): requests a reader has taken and not answered sit in
  // the processing queue of the fd they were read from. A clone's queue is
  // failed (ECONNABORTED) when a killed server's clone closes; the main fd's
  // description is shared with the supervisor, so it lives on and
  // FUSE_NOTIFY_RESEND hands its requests to the next server.
  bool share_device_fd = false;
};

class Server {
 public:
  Server(Session* session, transport::DeviceControl* control,
         std::unique_ptr<transport::Channel> main_channel, int threads, TransportPlan plan = {});
  // Blocks until every worker has stopped. Ok when the connection ended
  // normally (or was handed over: drained()); otherwise the errno that
  // stopped it.
  Errno Run();
  // Live upgrade (--restartable): the readers stop reading, each after
  // answering what it holds, and Run returns with the connection left to
  // the next server. Requests made meanwhile wait in the kernel's queue.
  // /dev/fuse transport only. Thread-safe; returns at once.
  void Drain();
  bool drained() const { return draining_.load(std::memory_order_acquire); }

  // Messages read from /dev/fuse (INIT, FORGET, INTERRUPT, and everything
  // when the rings are not in use).
  uint64_t dev_requests() const { return dev_requests_.load(std::memory_order_relaxed); }
  // Requests that came through the io_uring queues.
  uint64_t uring_requests() const { return plan_.uring ? plan_.uring->requests() : 0; }
  // Whether the rings serve this connection (decided after INIT).
  bool uring_in_use() const { return uring_in_use_.load(std::memory_order_acquire); }
  // Ring requests handed to the BlockingOps threads (fsync, fallocate, ...).
  uint64_t offloaded_requests() const {
    return offloaded_.load(std::memory_order_relaxed);
  }

 private:
  Errno WorkerLoop(transport::Channel* channel);
  // After INIT: log which transport is in force and start the rings if INIT
  // negotiated them. Runs once.
  void DecideTransport();
  Session* session_;
  transport::DeviceControl* control_;
  std::unique_ptr<transport::Channel> main_;
  int threads_;
  TransportPlan plan_;
  std::once_flag decided_;
  std::atomic<bool> decided_flag_{false};
  std::atomic<bool> uring_in_use_{false};
  std::atomic<uint64_t> dev_requests_{0};
  // Scratch for reply payloads, one per ring queue (its thread's WorkerBuffers).
  std::vector<std::unique_ptr<WorkerBuffers>> uring_scratch_;
  // With the rings: where requests that may block for long go.
  std::unique_ptr<BlockingOps> blocking_;
  std::atomic<uint64_t> offloaded_{0};
  // Drain: the flag, and the reader threads to wake from read(2).
  std::atomic<bool> draining_{false};
  std::mutex readers_mu_;
  std::vector<pthread_t> readers_;  // GUARDED_BY(readers_mu_)
  int readers_running_ = 0;         // GUARDED_BY(readers_mu_)
  bool stopped_ = false;            // GUARDED_BY(readers_mu_): Run is done
  std::thread waker_;               // GUARDED_BY(readers_mu_)
};

}  // namespace ptfs::session
