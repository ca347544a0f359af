#include "sys/io_uring.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace ptfs::sys {

namespace {

int SysSetup(unsigned entries, struct io_uring_params* p) {
  return static_cast<int>(::syscall(__NR_io_uring_setup, entries, p));
}

int SysEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return static_cast<int>(
      ::syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}

template <typename T>
T* At(void* base, uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

int SysRegister(int fd, unsigned opcode, void* arg, unsigned nr_args) {
  return static_cast<int>(::syscall(__NR_io_uring_register, fd, opcode, arg, nr_args));
}

}  // namespace

Result<std::unique_ptr<IoUring>> IoUring::Create(unsigned entries, unsigned cq_entries,
                                                 uint32_t flags) {
  struct io_uring_params p;
  std::memset(&p, 0, sizeof(p));
  p.flags = flags;
  if (cq_entries > 0) {
    p.flags |= IORING_SETUP_CQSIZE;
    p.cq_entries = cq_entries;
  }
  std::unique_ptr<IoUring> r(new IoUring());
  r->fd_ = SysSetup(entries, &p);
  if (r->fd_ < 0) return Errno::Last();
  r->flags_ = p.flags;
  r->sqe_size_ = (p.flags & IORING_SETUP_SQE128) ? 128 : 64;
  r->sq_ring_size_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_ring_size_ = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  const bool single_mmap = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single_mmap) {
    r->sq_ring_size_ = r->cq_ring_size_ = std::max(r->sq_ring_size_, r->cq_ring_size_);
  }
  r->sq_ring_ = ::mmap(nullptr, r->sq_ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                       r->fd_, IORING_OFF_SQ_RING);
  if (r->sq_ring_ == MAP_FAILED) {
    r->sq_ring_ = nullptr;
    return Errno::Last();
  }
  if (single_mmap) {
    r->cq_ring_ = r->sq_ring_;
  } else {
    r->cq_ring_ = ::mmap(nullptr, r->cq_ring_size_, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, r->fd_, IORING_OFF_CQ_RING);
    if (r->cq_ring_ == MAP_FAILED) {
      r->cq_ring_ = nullptr;
      return Errno::Last();
    }
  }
  r->sqes_size_ = p.sq_entries * r->sqe_size_;
  r->sqes_ = ::mmap(nullptr, r->sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                    r->fd_, IORING_OFF_SQES);
  if (r->sqes_ == MAP_FAILED) {
    r->sqes_ = nullptr;
    return Errno::Last();
  }
  r->sq_head_ = At<unsigned>(r->sq_ring_, p.sq_off.head);
  r->sq_tail_ = At<unsigned>(r->sq_ring_, p.sq_off.tail);
  r->sq_array_ = At<unsigned>(r->sq_ring_, p.sq_off.array);
  r->sq_mask_ = *At<unsigned>(r->sq_ring_, p.sq_off.ring_mask);
  r->sq_entries_ = p.sq_entries;
  r->sqe_tail_ = *r->sq_tail_;
  r->cq_head_ = At<unsigned>(r->cq_ring_, p.cq_off.head);
  r->cq_tail_ = At<unsigned>(r->cq_ring_, p.cq_off.tail);
  r->cqes_ = At<struct io_uring_cqe>(r->cq_ring_, p.cq_off.cqes);
  r->cq_mask_ = *At<unsigned>(r->cq_ring_, p.cq_off.ring_mask);
  r->cq_entries_ = p.cq_entries;
  return r;
}

IoUring::~IoUring() {
  if (sqes_ != nullptr) ::munmap(sqes_, sqes_size_);
  if (cq_ring_ != nullptr && cq_ring_ != sq_ring_) ::munmap(cq_ring_, cq_ring_size_);
  if (sq_ring_ != nullptr) ::munmap(sq_ring_, sq_ring_size_);
  if (fd_ >= 0) ::close(fd_);
}

struct io_uring_sqe* IoUring::GetSqe() {
  const unsigned head = std::atomic_ref<unsigned>(*sq_head_).load(std::memory_order_acquire);
  if (sqe_tail_ - head >= sq_entries_) return nullptr;
  const unsigned index = sqe_tail_ & sq_mask_;
  auto* sqe = reinterpret_cast<struct io_uring_sqe*>(static_cast<char*>(sqes_) + index * sqe_size_);
  std::memset(sqe, 0, sqe_size_);
  sq_array_[index] = index;
  ++sqe_tail_;
  return sqe;
}

Errno IoUring::EnableForThisThread() {
  if ((flags_ & IORING_SETUP_R_DISABLED) == 0) return Errno::Ok();
  if (SysRegister(fd_, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) < 0) return Errno::Last();
  flags_ &= ~IORING_SETUP_R_DISABLED;
  return Errno::Ok();
}

unsigned IoUring::PublishSqes() {
  std::atomic_ref<unsigned>(*sq_tail_).store(sqe_tail_, std::memory_order_release);
  // Everything between the kernel's head and our tail, including SQEs an
  // earlier call left unconsumed.
  return sqe_tail_ - std::atomic_ref<unsigned>(*sq_head_).load(std::memory_order_acquire);
}

Errno IoUring::Submit(bool wait) {
  const unsigned pending = PublishSqes();
  if (pending == 0 && !wait) return Errno::Ok();
  const int rc = SysEnter(fd_, pending, wait ? 1 : 0, wait ? IORING_ENTER_GETEVENTS : 0);
  if (rc < 0) return Errno::Last();
  return Errno::Ok();
}

Errno IoUring::Poll() {
  if (SysEnter(fd_, PublishSqes(), 0, IORING_ENTER_GETEVENTS) < 0) return Errno::Last();
  return Errno::Ok();
}

}  // namespace ptfs::sys
