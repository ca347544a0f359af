// IoUring: a minimal io_uring instance over the raw syscalls (no liburing),
// with 128-byte SQEs when asked (IORING_SETUP_SQE128, which FUSE's
// IORING_OP_URING_CMD needs for its 80-byte command area).
//
// Thread-safety: none. One thread owns an IoUring: it takes SQEs, submits and
// reaps completions. Other threads hand work to that thread instead (see
// transport/uring.h), which keeps every submission on the owning task: the
// kernel ties an io_uring request to the task that submitted it (task work runs
// there, and its requests are cancelled when that task exits).
#pragma once

#include <linux/io_uring.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "ptfs/result.h"

namespace ptfs::sys {

class IoUring {
 public:
  // `entries` SQEs (rounded up to a power of two by the kernel), a completion
  // queue of `cq_entries` (0: the kernel's default, twice `entries`), and
  // IORING_SETUP_* `flags` (IORING_SETUP_CQSIZE is added when cq_entries > 0).
  static Result<std::unique_ptr<IoUring>> Create(unsigned entries, unsigned cq_entries,
                                                 uint32_t flags);
  ~IoUring();
  IoUring(const IoUring&) = delete;
  IoUring& operator=(const IoUring&) = delete;

  // A zeroed SQE to fill (128 bytes with SQE128), or nullptr when the
  // submission queue is full. It is handed to the kernel by the next Submit.
  struct io_uring_sqe* GetSqe();
  // Submits every SQE taken so far and, with wait, blocks until at least one
  // completion is available. EINTR is returned to the caller.
  Errno Submit(bool wait);
  // Submits every SQE taken so far and runs the ring's pending task work
  // (which posts completions under DEFER_TASKRUN), without waiting.
  Errno Poll();
  // Calls fn(const io_uring_cqe&) for every available completion, then
  // releases them to the kernel. Returns how many there were.
  template <typename Fn>
  unsigned DrainCompletions(Fn&& fn) {
    unsigned head = std::atomic_ref<unsigned>(*cq_head_).load(std::memory_order_relaxed);
    const unsigned tail = std::atomic_ref<unsigned>(*cq_tail_).load(std::memory_order_acquire);
    const unsigned n = tail - head;
    for (; head != tail; ++head) fn(cqes_[head & cq_mask_]);
    std::atomic_ref<unsigned>(*cq_head_).store(tail, std::memory_order_release);
    return n;
  }
  // For a ring created with IORING_SETUP_R_DISABLED: enables it, and with
  // IORING_SETUP_SINGLE_ISSUER makes the calling thread its only submitter
  // (IORING_REGISTER_ENABLE_RINGS). A no-op for a ring already enabled.
  Errno EnableForThisThread();
  uint32_t flags() const { return flags_; }
  int fd() const { return fd_; }
  unsigned sq_entries() const { return sq_entries_; }
  unsigned cq_entries() const { return cq_entries_; }

 private:
  // Hands the SQEs taken so far to the kernel's view of the queue; returns
  // how many it has not consumed yet.
  unsigned PublishSqes();
  IoUring() = default;
  int fd_ = -1;
  uint32_t flags_ = 0;
  size_t sqe_size_ = 64;
  // Mappings.
  void* sq_ring_ = nullptr;
  size_t sq_ring_size_ = 0;
  void* cq_ring_ = nullptr;  // == sq_ring_ with IORING_FEAT_SINGLE_MMAP
  size_t cq_ring_size_ = 0;
  void* sqes_ = nullptr;
  size_t sqes_size_ = 0;
  // Submission queue (head, tail: shared with the kernel, accessed atomically).
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_entries_ = 0;
  unsigned sqe_tail_ = 0;  // ours: SQEs taken, published to sq_tail_ by Submit
  // Completion queue.
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  struct io_uring_cqe* cqes_ = nullptr;
  unsigned cq_mask_ = 0;
  unsigned cq_entries_ = 0;
};

}  // namespace ptfs::sys
