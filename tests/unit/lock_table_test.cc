// LockTable (src/mirror/locks.h): one open file description per
// {inode, lock owner}, dropped at the owner's FLUSH, at the release of the
// last handle the owner locked through, and at the inode's last close.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>

#include "mirror/locks.h"

namespace ptfs::mirror {
namespace {

constexpr NodeId kNode{7};
constexpr NodeId kOtherNode{8};
constexpr FileHandle kFh1{1};
constexpr FileHandle kFh2{2};
constexpr uint64_t kOwnerA = 0xa;
constexpr uint64_t kOwnerB = 0xb;

class LockTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = ::memfd_create("lock_table_test", MFD_CLOEXEC);
    ASSERT_GE(file_, 0);
  }
  void TearDown() override { ::close(file_); }

  std::weak_ptr<const sys::UniqueFd> Take(NodeId node, FileHandle fh, uint64_t owner) {
    auto fd = table_.FdFor(node, fh, owner, file_, O_RDWR);
    EXPECT_TRUE(fd.ok());
    return fd.ok() ? std::weak_ptr<const sys::UniqueFd>(*fd) : std::weak_ptr<const sys::UniqueFd>();
  }
  // F_OFD_SETLK of the whole file through `owner`'s description.
  int Lock(FileHandle fh, uint64_t owner, short type) {
    auto fd = table_.FdFor(kNode, fh, owner, file_, O_RDWR);
    if (!fd.ok()) return fd.error().value();
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    return ::fcntl((*fd)->get(), F_OFD_SETLK, &fl) == 0 ? 0 : errno;
  }

  int file_ = -1;
  LockTable table_;
};

TEST_F(LockTableTest, OneDescriptionPerInodeAndOwner) {
  auto a1 = Take(kNode, kFh1, kOwnerA);
  auto a2 = Take(kNode, kFh2, kOwnerA);
  auto b = Take(kNode, kFh1, kOwnerB);
  auto other = Take(kOtherNode, kFh1, kOwnerA);
  EXPECT_EQ(a1.lock(), a2.lock());
  EXPECT_NE(a1.lock(), b.lock());
  EXPECT_NE(a1.lock(), other.lock());
  EXPECT_EQ(table_.size(), 3u);
}

TEST_F(LockTableTest, OwnersConflictAsProcessesDo) {
  EXPECT_EQ(Lock(kFh1, kOwnerA, F_WRLCK), 0);
  EXPECT_EQ(Lock(kFh1, kOwnerA, F_WRLCK), 0);  // its own lock: no conflict
  EXPECT_EQ(Lock(kFh1, kOwnerB, F_RDLCK), EAGAIN);
  // FLUSH by A (close(2) in A's process) drops A's locks.
  table_.DropOwner(kNode, kOwnerA);
  EXPECT_EQ(Lock(kFh1, kOwnerB, F_RDLCK), 0);
}

TEST_F(LockTableTest, DropOwnerLeavesOtherOwnersAndInodes) {
  auto a = Take(kNode, kFh1, kOwnerA);
  auto b = Take(kNode, kFh1, kOwnerB);
  auto other = Take(kOtherNode, kFh1, kOwnerA);
  table_.DropOwner(kNode, kOwnerA);
  EXPECT_TRUE(a.expired());
  EXPECT_FALSE(b.expired());
  EXPECT_FALSE(other.expired());
  table_.DropOwner(kNode, 0x99);  // holds nothing: no effect
  EXPECT_EQ(table_.size(), 2u);
}

TEST_F(LockTableTest, ReleaseOfTheLastHandleAnOwnerLockedThroughDropsIt) {
  // An OFD owner locked through two handles: it keeps its locks until both
  // are released (no FLUSH ever carries such an owner).
  auto a = Take(kNode, kFh1, kOwnerA);
  (void)Take(kNode, kFh2, kOwnerA);
  auto b = Take(kNode, kFh2, kOwnerB);
  table_.HandleReleased(kNode, kFh1);
  EXPECT_FALSE(a.expired());
  table_.HandleReleased(kNode, kFh2);
  EXPECT_TRUE(a.expired());
  EXPECT_TRUE(b.expired());
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(LockTableTest, ReleaseCountsEachHandleOnce) {
  // Many locks of one owner through one handle count that handle once.
  auto a = Take(kNode, kFh1, kOwnerA);
  (void)Take(kNode, kFh1, kOwnerA);
  (void)Take(kNode, kFh2, kOwnerA);
  table_.HandleReleased(kNode, kFh1);
  EXPECT_FALSE(a.expired());
  table_.HandleReleased(kNode, kFh1);  // released twice: nothing more
  EXPECT_FALSE(a.expired());
  table_.HandleReleased(kNode, kFh2);
  EXPECT_TRUE(a.expired());
}

TEST_F(LockTableTest, DroppedOwnerGetsANewDescription) {
  auto first = Take(kNode, kFh1, kOwnerA);
  table_.DropOwner(kNode, kOwnerA);
  auto second = Take(kNode, kFh1, kOwnerA);
  EXPECT_TRUE(first.expired());
  EXPECT_FALSE(second.expired());
}

TEST_F(LockTableTest, InodeClosedDropsEveryOwnerOfThatInodeOnly) {
  auto a = Take(kNode, kFh1, kOwnerA);
  auto b = Take(kNode, kFh2, kOwnerB);
  auto other = Take(kOtherNode, kFh1, kOwnerA);
  table_.InodeClosed(kNode);
  EXPECT_TRUE(a.expired());
  EXPECT_TRUE(b.expired());
  EXPECT_FALSE(other.expired());
  EXPECT_EQ(table_.size(), 1u);
}

TEST_F(LockTableTest, ReopenFailureIsReported) {
  auto fd = table_.FdFor(kNode, kFh1, kOwnerA, /*file_fd=*/-1, O_RDONLY);
  EXPECT_FALSE(fd.ok());
  EXPECT_EQ(table_.size(), 0u);
}

}  // namespace
}  // namespace ptfs::mirror
