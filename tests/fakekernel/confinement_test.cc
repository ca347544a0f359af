// Confinement against the fake kernel (issue 17, defect 1): a directory the
// kernel holds, moved out of SOURCE, gets no by-name operation. Run with the
// fanotify move watch (root) and with its fallback, a walk up to SOURCE per
// operation (what a daemon without CAP_SYS_ADMIN does).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

class FakeKernelMovedOut : public ::testing::TestWithParam<bool> {
 protected:
  FakeKernelOptions Options() const {
    FakeKernelOptions o;
    o.fs.confinement_watch = GetParam();
    return o;
  }
};

TEST_P(FakeKernelMovedOut, DirectoryMovedOutOfSourceGetsNoByNameOperation) {
  FakeKernel k(Options());
  ASSERT_EQ(k.MkDir(kRootId, "a").error(), 0);
  const uint64_t a = k.Lookup(kRootId, "a").As<fuse_entry_out>().nodeid;
  KernelReply made = k.MkDir(a, "d");
  ASSERT_EQ(made.error(), 0);
  const uint64_t d = made.As<fuse_entry_out>().nodeid;
  // Proven once while inside (with the watch: the proof is then reused).
  KernelReply inside = k.Create(d, "inside", O_WRONLY | O_CREAT);
  ASSERT_EQ(inside.error(), 0);
  const uint64_t inside_node = inside.As<fuse_entry_out>().nodeid;

  char tmpl[] = "/tmp/ptfs-away-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  // The parent of d moves out: d itself never moved.
  ASSERT_EQ(rename((k.source() + "/a").c_str(), (std::string(tmpl) + "/a").c_str()), 0);
  const std::string moved = std::string(tmpl) + "/a/d";
  ASSERT_EQ(close(open((moved + "/later").c_str(), O_CREAT | O_WRONLY, 0644)), 0);

  EXPECT_EQ(k.Create(d, "x", O_WRONLY | O_CREAT).error(), ENOENT);
  EXPECT_EQ(k.MkDir(d, "sub").error(), ENOENT);
  EXPECT_EQ(k.Lookup(d, "later").error(), ENOENT);
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_UNLINK, d}.Name("later")).error(), ENOENT);
  fuse_rename2_in rn{};
  rn.newdir = d;
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_RENAME2, d}.Arg(rn).Name("later").Name("y")).error(),
            ENOENT);
  KernelReply dir = k.OpenDir(d);
  ASSERT_EQ(dir.error(), 0);
  const uint64_t dir_fh = dir.As<fuse_open_out>().fh;
  EXPECT_EQ(k.ReadDir(FUSE_READDIRPLUS, d, dir_fh, 0, 4096).error(), ENOENT);
  EXPECT_EQ(k.Release(d, dir_fh, FUSE_RELEASEDIR).error(), 0);
  struct stat st;
  EXPECT_NE(stat((moved + "/x").c_str(), &st), 0);
  EXPECT_NE(stat((moved + "/sub").c_str(), &st), 0);
  EXPECT_EQ(stat((moved + "/later").c_str(), &st), 0);
  EXPECT_GE(k.fs().confinement().counters().refused.load(), 6u);
  // What the kernel already holds stays reachable, as an open fd would.
  EXPECT_EQ(k.GetAttr(inside_node).error(), 0);

  // Moved back under SOURCE (elsewhere): usable again.
  ASSERT_EQ(rename((std::string(tmpl) + "/a").c_str(), (k.source() + "/back").c_str()), 0);
  EXPECT_EQ(k.Create(d, "x", O_WRONLY | O_CREAT).error(), 0);
  EXPECT_EQ(stat((k.source() + "/back/d/x").c_str(), &st), 0);
  k.ForgetAll();
  EXPECT_TRUE(k.Shutdown().ok());
  EXPECT_EQ(rmdir(tmpl), 0);
}

INSTANTIATE_TEST_SUITE_P(, FakeKernelMovedOut, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Watch" : "Walk"; });

}  // namespace
}  // namespace ptfs::testing
