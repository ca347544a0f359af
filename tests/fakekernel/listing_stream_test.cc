// A listing from the start never trusts where the directory stream says it
// is. A CI run once saw a mount root list as empty (every entry "Only in
// SOURCE" after a build inside the mount): a READDIR at offset 0 answered
// from a stream whose recorded offset was 0 while its host position was at
// the end gives exactly that, and the kernel then caches the empty listing
// as complete. Here the host position is moved behind the daemon's back;
// the listing from the start must still name everything, and the
// disagreement is counted.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

// Names in a READDIR reply, and the offset after the last one.
std::vector<std::string> NamesIn(const KernelReply& r, uint64_t* next_off) {
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos + sizeof(fuse_dirent) <= r.payload.size()) {
    fuse_dirent d;
    std::memcpy(&d, r.payload.data() + pos, sizeof(d));
    names.emplace_back(r.payload.data() + pos + sizeof(d), d.namelen);
    *next_off = d.off;
    pos += (sizeof(fuse_dirent) + d.namelen + 7) & ~size_t{7};
  }
  return names;
}

// Every name from offset 0 on, READDIR after READDIR.
std::vector<std::string> ListAll(FakeKernel& k, uint64_t node, uint64_t fh) {
  std::vector<std::string> all;
  uint64_t off = 0;
  for (int i = 0; i < 100; ++i) {
    KernelReply r = k.ReadDir(FUSE_READDIR, node, fh, off, 4096);
    EXPECT_EQ(r.error(), 0);
    if (r.error() != 0 || r.payload.empty()) break;
    for (auto& n : NamesIn(r, &off)) all.push_back(std::move(n));
  }
  std::sort(all.begin(), all.end());
  return all;
}

// The fds of this process open on `dir` for reading (not O_PATH): the
// daemon's directory streams on it.
std::vector<int> StreamFdsOn(const std::string& dir) {
  std::vector<int> fds;
  struct stat want;
  if (::stat(dir.c_str(), &want) != 0) return fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == ::dirfd(d)) continue;
    struct stat st;
    if (::fstat(fd, &st) != 0 || st.st_dev != want.st_dev || st.st_ino != want.st_ino) continue;
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_PATH) == 0) fds.push_back(fd);
  }
  ::closedir(d);
  return fds;
}

// SOURCE's root holds a, b and c; each test lists it through handles of
// its own and ends by releasing them.
class FakeKernelListingStream : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"a", "b", "c"}) {
      ASSERT_EQ(k.Create(kRootId, name, O_WRONLY | O_CREAT).error(), 0);
    }
  }
  // OPENDIR of the root: a fresh stream.
  void OpenRoot(uint64_t* fh) {
    KernelReply opened = k.OpenDir(kRootId);
    ASSERT_EQ(opened.error(), 0);
    *fh = opened.As<fuse_open_out>().fh;
  }
  void ReleaseAndShutDown(std::initializer_list<uint64_t> fhs) {
    for (uint64_t fh : fhs) EXPECT_EQ(k.Release(kRootId, fh, FUSE_RELEASEDIR).error(), 0);
    k.ForgetAll();
    EXPECT_TRUE(k.Shutdown().ok());
  }

  FakeKernel k;
  const std::vector<std::string> want = {".", "..", "a", "b", "c"};
};

TEST_F(FakeKernelListingStream, ListingFromTheStartRewindsAStreamMovedBehindItsBack) {
  uint64_t fh = 0;
  ASSERT_NO_FATAL_FAILURE(OpenRoot(&fh));
  // A first listing makes the stream read its directory.
  EXPECT_EQ(ListAll(k, kRootId, fh), want);
  EXPECT_EQ(k.fs().listings().misplaced_streams.load(), 0u);

  // Another open: a fresh stream, recorded at offset 0 with nothing read.
  // Its host position is then moved to the end behind the daemon's back.
  const std::vector<int> before = StreamFdsOn(k.source());
  uint64_t fh2 = 0;
  ASSERT_NO_FATAL_FAILURE(OpenRoot(&fh2));
  int stream = -1;
  for (int fd : StreamFdsOn(k.source())) {
    if (std::find(before.begin(), before.end(), fd) == before.end()) stream = fd;
  }
  ASSERT_GE(stream, 0) << "the new stream's fd was not found";
  char buf[32 * 1024];
  while (::syscall(SYS_getdents64, stream, buf, sizeof buf) > 0) {
  }

  // Without the rewind this listing was empty.
  EXPECT_EQ(ListAll(k, kRootId, fh2), want);
  EXPECT_EQ(k.fs().listings().misplaced_streams.load(), 1u);
  EXPECT_EQ(k.fs().listings().empty_starts.load(), 0u);
  ReleaseAndShutDown({fh, fh2});
}

// The cause of the CI failure above. The kernel's readdir cache continues
// a listing it holds up to the end by asking for the offset after the last
// entry; on a fresh stream (a new open, or an evicted per-inode stream) that
// is the stream's first getdents64, at the end of the directory. ext4 sets
// up its hash-order state at an fd's first read and, read at the end, leaves
// it so that a later seek to 0 lists nothing (a 6.18 bug: the state is not
// reset because its last position still reads 0). The daemon reopens such a
// stream before it lists from the start. On a filesystem without the bug
// (tmpfs) this passes either way; the fake kernel's SOURCE is under /tmp,
// ext4 on the machines this project runs on.
TEST_F(FakeKernelListingStream, StreamFirstReadAtTheEndStillListsFromTheStart) {
  uint64_t fh = 0;
  ASSERT_NO_FATAL_FAILURE(OpenRoot(&fh));
  // The offset after the last entry: what the kernel asks for next.
  uint64_t end = 0;
  KernelReply whole = k.ReadDir(FUSE_READDIR, kRootId, fh, 0, 64 * 1024);
  ASSERT_EQ(whole.error(), 0);
  std::vector<std::string> names = NamesIn(whole, &end);
  std::sort(names.begin(), names.end());
  ASSERT_EQ(names, want);

  uint64_t fh2 = 0;
  ASSERT_NO_FATAL_FAILURE(OpenRoot(&fh2));
  KernelReply at_end = k.ReadDir(FUSE_READDIR, kRootId, fh2, end, 4096);
  ASSERT_EQ(at_end.error(), 0);
  EXPECT_TRUE(at_end.payload.empty());
  // On ext4, without the reopen this listing was empty.
  EXPECT_EQ(ListAll(k, kRootId, fh2), want);
  EXPECT_EQ(k.fs().listings().reopened_streams.load(), 1u);
  EXPECT_EQ(k.fs().listings().empty_starts.load(), 0u);
  // Reopened once: the next listing from the start is a plain rewind.
  EXPECT_EQ(ListAll(k, kRootId, fh2), want);
  EXPECT_EQ(k.fs().listings().reopened_streams.load(), 1u);
  ReleaseAndShutDown({fh, fh2});
}

}  // namespace
}  // namespace ptfs::testing
