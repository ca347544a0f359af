// FUSE over io_uring (Linux 6.14+, CONFIG_FUSE_IO_URING, enable_uring=Y).
//
// The kernel keeps one queue per possible CPU and puts a request on the queue
// of the CPU its caller runs on. A queue is fed by ring entries: each entry is
// a header buffer and a payload buffer that the server registers with an
// IORING_OP_URING_CMD (FUSE_IO_URING_CMD_REGISTER) on the /dev/fuse fd. The
// command completes when the kernel has written a request into the entry's
// buffers; the server answers in the same buffers and hands the entry back
// with COMMIT_AND_FETCH, which both delivers the reply and waits for the next
// request. See docs/transport.md for the kernel rules this relies on.
//
// Here: one thread per queue, pinned to its CPU, with its own io_uring and a
// few entries. A request is handed to the handler with a Channel that answers
// into the entry's buffers. The reply may be sent later from another thread (a
// parked lock wait): such a reply is queued to the entry's thread and the
// thread woken through an eventfd, so only the queue's own thread ever submits
// to its ring.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ptfs/result.h"
#include "transport/channel.h"

namespace ptfs::transport {

// Whether this machine can serve FUSE over io_uring, checked before INIT.
struct UringSupport {
  bool available = false;
  std::string why_not;  // when unavailable: one line saying why
};
// Reads /sys/module/fuse/parameters/enable_uring (load the fuse module first,
// e.g. by opening /dev/fuse) and creates and closes a small SQE128 ring.
UringSupport ProbeUringSupport();
// The same decision from the parameter file's content (nullptr: the file does
// not exist) and whether an SQE128 ring could be created. Pure; unit-tested.
UringSupport DescribeUringSupport(const char* enable_uring_param, Errno ring_setup);

// The kernel's number of queues: one per possible CPU, i.e. 1 + the highest
// CPU number in /sys/devices/system/cpu/possible.
int PossibleCpus();
// 1 + the highest CPU in a kernel cpu list such as "0-3,8,10-11"; 0 if malformed.
int CpuListCount(std::string_view list);

// A request taken from a ring entry. `msg` holds the request exactly as a read
// of /dev/fuse would have returned it; `channel` answers it, once, from any
// thread. `reply_area` is the entry's own payload buffer when the request
// carried no payload: a reply built there is sent without a copy. Otherwise it
// is empty (the request's bytes still live in that buffer).
using UringHandler = std::function<void(int qid, std::span<const char> msg, Channel& channel,
                                        std::span<char> reply_area)>;

struct UringConfig {
  int dev_fd = -1;  // the session's /dev/fuse fd
  int queues = 0;   // PossibleCpus(): the kernel waits until every queue has an entry
  // Entries registered per queue at start. One thread serves a queue's
  // entries one after the other, so more entries do not add parallelism; they
  // let the kernel hand over the next request while the previous reply is on
  // its way, and cover requests whose reply is sent later from another thread.
  // When such held replies leave fewer than this many entries free, the queue
  // registers another entry (up to kMaxEntriesPerQueue), so parked lock waits
  // can never starve a queue.
  int entries_per_queue = 8;
  // Payload buffer per entry; the kernel refuses smaller than
  // max(8 KiB, max_write, max_pages * page size) of the connection.
  size_t payload_size = 0;
  // The longest a queue's thread keeps reaping its ring after its last
  // request before it sleeps (0: sleeps at once); the window itself adapts to
  // how soon requests follow one another (adaptive_poll.h).
  // docs/transport.md has what it measured.
  int poll_us = 0;
};
inline constexpr int kMaxEntriesPerQueue = 256;

class UringQueue;

class UringTransport {
 public:
  // Creates each queue's io_uring (SQE128) and eventfd. Nothing is registered
  // with the kernel yet.
  static Result<std::unique_ptr<UringTransport>> Create(const UringConfig& config);
  // Joins the queue threads if Join() was not called.
  ~UringTransport();
  UringTransport(const UringTransport&) = delete;
  UringTransport& operator=(const UringTransport&) = delete;

  // Starts one thread per queue (pinned to CPU qid where allowed) that
  // allocates and registers its entries and serves requests with `handler`
  // until the connection ends. Call once the INIT reply carrying
  // FUSE_OVER_IO_URING has been written: the kernel refuses registration
  // before (EAGAIN), and from then on holds every new request until all
  // queues have entries.
  void Start(UringHandler handler);
  // Blocks until every queue thread has returned (the connection ended, or
  // registration failed and the kernel went back to /dev/fuse).
  void Join();
  bool started() const { return !threads_.empty(); }

  int queues() const { return static_cast<int>(queues_.size()); }
  const UringConfig& config() const { return config_; }
  // Requests handed to the handler, over all queues.
  uint64_t requests() const;
  // Over all queues: batches of requests a queue thread found while polling
  // after a request (UringConfig::poll_us), and poll windows that ended
  // without one.
  uint64_t poll_hits() const;
  uint64_t poll_misses() const;
  // Entries registered with the kernel, over all queues.
  uint64_t entries() const;

  // From a request's handler on a queue's thread: returns once every other
  // queue's thread has handled the requests the kernel had handed to it
  // before this call (at most `limit` later). The kernel delivers a request
  // to a queue as task work of its ring; this sends each other ring a marker
  // (IORING_OP_MSG_RING), which the kernel queues as task work of that ring
  // behind them, so a queue's thread reaches the marker only after those
  // requests. A queue whose thread is itself settling (it waits for this one)
  // or not serving is not waited for. False if some queue did not answer in
  // time, or if the order cannot be known: called from another thread, or
  // rings without DEFER_TASKRUN (their task work is not queued on the ring).
  // Used by conflicting lock requests (session/lock_order.h).
  bool SettleOtherQueues(std::chrono::nanoseconds limit = std::chrono::milliseconds(50));
  // Settles asked, and those some queue did not answer in time.
  uint64_t settles() const { return settles_.load(std::memory_order_relaxed); }
  uint64_t settle_timeouts() const { return settle_timeouts_.load(std::memory_order_relaxed); }
  // Whether the rings defer the kernel's task work to the queue threads' waits
  // (IORING_SETUP_DEFER_TASKRUN, Linux 6.1+) rather than signalling them.
  bool defers_task_work() const { return defers_task_work_; }

 private:
  explicit UringTransport(const UringConfig& config);
  uint64_t SumOverQueues(uint64_t (UringQueue::*counter)() const) const;
  UringConfig config_;
  std::vector<std::unique_ptr<UringQueue>> queues_;
  std::vector<std::thread> threads_;
  bool defers_task_work_ = true;
  std::atomic<uint64_t> settles_{0};
  std::atomic<uint64_t> settle_timeouts_{0};
};

}  // namespace ptfs::transport
