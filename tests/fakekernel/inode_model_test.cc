// The server's own model of inode passthrough, independent of any kernel
// ABI: entries carry the InodeOps the policy allows, readdir only for
// directories. (The kernel adapter for the proposed protocol is not built
// yet; see docs/inode-passthrough.md.)
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

TEST(InodePassthroughModel, EntriesCarryThePolicyMask) {
  FakeKernelOptions o;
  o.fs.inode_passthrough_ops = kInodeOpGetattr | kInodeOpReaddir;
  FakeKernel k(o);
  { std::ofstream(k.source() + "/file") << "x"; }
  ASSERT_EQ(::mkdir((k.source() + "/dir").c_str(), 0755), 0);
  Context ctx;
  auto file = k.fs().Lookup(ctx, kRootNode, "file");
  auto dir = k.fs().Lookup(ctx, kRootNode, "dir");
  ASSERT_TRUE(file.ok() && dir.ok());
  EXPECT_EQ(file->inode_passthrough_ops, static_cast<uint32_t>(kInodeOpGetattr));
  EXPECT_EQ(dir->inode_passthrough_ops,
            static_cast<uint32_t>(kInodeOpGetattr | kInodeOpReaddir));
  k.fs().Forget(file->node, 1);
  k.fs().Forget(dir->node, 1);
}

TEST(InodePassthroughModel, NoneByDefault) {
  FakeKernel k;
  Context ctx;
  auto root_child = k.fs().MkDir(ctx, kRootNode, "d", 0755, 022);
  ASSERT_TRUE(root_child.ok());
  EXPECT_EQ(root_child->inode_passthrough_ops, 0u);
  k.fs().Forget(root_child->node, 1);
}

}  // namespace
}  // namespace ptfs::testing
