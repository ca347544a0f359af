// sys::IoUring on the real kernel (no FUSE): a ring made with DEFER_TASKRUN
// starts disabled and belongs to the thread that enables it, which is how the
// io_uring transport creates its rings on the main thread and hands each to
// its queue thread.
#include <linux/io_uring.h>

#include <cerrno>
#include <thread>

#include <gtest/gtest.h>

#include "sys/io_uring.h"

namespace ptfs::sys {
namespace {

constexpr uint32_t kDeferred =
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;

// Queues a NOP tagged `tag`, submits, waits and returns the completion's tag
// (0 when none came).
uint64_t NopRoundTrip(IoUring& ring, uint64_t tag, Errno* submit) {
  struct io_uring_sqe* sqe = ring.GetSqe();
  if (sqe == nullptr) return 0;
  sqe->opcode = IORING_OP_NOP;
  sqe->user_data = tag;
  *submit = ring.Submit(/*wait=*/true);
  uint64_t seen = 0;
  ring.DrainCompletions([&](const struct io_uring_cqe& c) { seen = c.user_data; });
  return seen;
}

TEST(IoUringTest, ADeferredRingServesTheThreadThatEnabledIt) {
  auto made = IoUring::Create(8, 0, kDeferred);
  ASSERT_TRUE(made.ok()) << made.error().value();
  IoUring& ring = **made;
  EXPECT_TRUE(ring.flags() & IORING_SETUP_R_DISABLED);
  Errno enabled = Errno(EINVAL), submitted = Errno(EINVAL);
  uint64_t tag = 0;
  std::thread owner([&] {
    enabled = ring.EnableForThisThread();
    tag = NopRoundTrip(ring, 42, &submitted);
  });
  owner.join();
  EXPECT_FALSE(enabled) << enabled.value();
  EXPECT_FALSE(submitted) << submitted.value();
  EXPECT_EQ(tag, 42u);
  EXPECT_FALSE(ring.flags() & IORING_SETUP_R_DISABLED);
  EXPECT_FALSE(ring.EnableForThisThread()) << "enabling again is a no-op";
}

TEST(IoUringTest, ADeferredRingRefusesOtherThreads) {
  auto made = IoUring::Create(8, 0, kDeferred);
  ASSERT_TRUE(made.ok()) << made.error().value();
  IoUring& ring = **made;
  Errno before = Errno::Ok();
  NopRoundTrip(ring, 1, &before);
  EXPECT_EQ(before.value(), EBADFD) << "a disabled ring takes no submissions";
  std::thread owner([&] { ASSERT_FALSE(ring.EnableForThisThread()); });
  owner.join();
  Errno other = Errno::Ok();
  EXPECT_EQ(NopRoundTrip(ring, 2, &other), 0u);
  EXPECT_EQ(other.value(), EEXIST) << "SINGLE_ISSUER: only the enabling thread submits";
}

}  // namespace
}  // namespace ptfs::sys
