// Policy modules against the model of the draft inode-passthrough kernel:
// each clears the kernel's shortcuts for exactly the inodes its policy must
// see, and every other inode keeps them.
//  - --hide: a directory's listing must be filtered, so no directory is
//    listed by the kernel (READDIR bit cleared); files keep GETATTR/SETATTR.
//  - --read-only: an inode inside a read-only subtree must not be changed by
//    the kernel itself (SETATTR bit cleared); outside, nothing changes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "abi/fuse_draft_inode_passthrough.h"
#include "modules/hide.h"
#include "modules/read_only.h"
#include "ptfs/module.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT
namespace draft = ptfs::abi::draft;

FakeKernelOptions DraftWith(ModuleChain::Factory module) {
  FakeKernelOptions o;
  o.passthrough = true;
  o.draft_inode_passthrough = true;
  o.fs.inode_passthrough_ops = kInodeOpsAll;
  o.decorate = [module](FileSystem* mirror) -> std::unique_ptr<FileSystem> {
    return std::make_unique<ModuleChain>(mirror, std::vector<ModuleChain::Factory>{module});
  };
  return o;
}

// The ops mask the kernel was given for the entry `r` answered.
uint64_t OpsOf(FakeKernel& k, const KernelReply& r) {
  const int32_t id = r.As<draft::fuse_entry2_out>().backing_id;
  if (id == 0) return 0;
  std::lock_guard<std::mutex> lock(k.control().mu);
  return k.control().backing_ops[id];
}

uint64_t NodeOf(const KernelReply& r) { return r.As<fuse_entry_out>().nodeid; }

TEST(PolicyVetoes, HideKeepsDirectoryListingsAtTheServer) {
  FakeKernel k(DraftWith([](FileSystem* in) {
    return std::make_unique<modules::HideModule>(in, std::vector<std::string>{"*.key"});
  }));
  ASSERT_TRUE(k.entry2());
  ASSERT_EQ(::mkdir((k.source() + "/d").c_str(), 0755), 0);
  std::ofstream(k.source() + "/d/x.key") << "secret";
  std::ofstream(k.source() + "/d/plain") << "plain";
  KernelReply d = k.Lookup(kRootId, "d");
  ASSERT_EQ(d.error(), 0);
  EXPECT_EQ(OpsOf(k, d), draft::kOpGetattr | draft::kOpSetattr) << "no READDIR for a directory";
  KernelReply f = k.Lookup(NodeOf(d), "plain");
  ASSERT_EQ(f.error(), 0);
  EXPECT_EQ(OpsOf(k, f), draft::kOpGetattr | draft::kOpSetattr) << "a file keeps its shortcuts";
  EXPECT_EQ(k.Lookup(NodeOf(d), "x.key").error(), ENOENT);
  // The listing therefore reaches the server, which leaves x.key out.
  KernelReply dir = k.OpenDir(NodeOf(d));
  ASSERT_EQ(dir.error(), 0);
  const uint64_t fh = dir.As<fuse_open_out>().fh;
  KernelReply r = k.ReadDir(FUSE_READDIR, NodeOf(d), fh, 0, 4096);
  ASSERT_EQ(r.error(), 0);
  std::vector<std::string> names;
  for (size_t pos = 0; pos + sizeof(fuse_dirent) <= r.payload.size();) {
    fuse_dirent e;
    std::memcpy(&e, r.payload.data() + pos, sizeof(e));
    names.emplace_back(r.payload.data() + pos + sizeof(e), e.namelen);
    pos += (sizeof(fuse_dirent) + e.namelen + 7) & ~size_t{7};
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "plain"}));
  k.Release(NodeOf(d), fh, FUSE_RELEASEDIR);
  k.ForgetAll();
}

TEST(PolicyVetoes, ReadOnlyKeepsSetattrOfInodesInsideAtTheServer) {
  FakeKernel k(DraftWith([](FileSystem* in) {
    return std::make_unique<modules::ReadOnlyModule>(in, std::vector<std::string>{"frozen"});
  }));
  ASSERT_TRUE(k.entry2());
  for (const char* d : {"frozen", "frozen/sub", "free"}) {
    ASSERT_EQ(::mkdir((k.source() + "/" + d).c_str(), 0755), 0);
  }
  std::ofstream(k.source() + "/frozen/sub/f") << "kept";
  std::ofstream(k.source() + "/free/f") << "free";
  const uint64_t all = draft::kOpGetattr | draft::kOpSetattr;
  KernelReply frozen = k.Lookup(kRootId, "frozen");
  KernelReply sub = k.Lookup(NodeOf(frozen), "sub");
  KernelReply inside = k.Lookup(NodeOf(sub), "f");
  KernelReply free_dir = k.Lookup(kRootId, "free");
  KernelReply outside = k.Lookup(NodeOf(free_dir), "f");
  EXPECT_EQ(OpsOf(k, frozen), draft::kOpGetattr | draft::kOpReaddir);
  EXPECT_EQ(OpsOf(k, sub), draft::kOpGetattr | draft::kOpReaddir);
  EXPECT_EQ(OpsOf(k, inside), draft::kOpGetattr) << "reading stays with the kernel";
  EXPECT_EQ(OpsOf(k, free_dir), all | draft::kOpReaddir);
  EXPECT_EQ(OpsOf(k, outside), all);
  // So a chmod of the file inside reaches the server, which refuses it.
  fuse_setattr_in in{};
  in.valid = FATTR_MODE;
  in.mode = S_IFREG | 0600;
  RequestBuilder req{FUSE_SETATTR, NodeOf(inside)};
  req.Arg(in);
  EXPECT_EQ(k.Call(req).error(), EROFS);
  struct stat st;
  ASSERT_EQ(::stat((k.source() + "/frozen/sub/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  k.ForgetAll();
}

}  // namespace
}  // namespace ptfs::testing
