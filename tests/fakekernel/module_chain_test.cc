// Modules in front of the real mirror, through the session and the fake
// kernel: a module that must see one file's data vetoes kernel passthrough
// for that open only; the mirror then serves its reads and writes, every
// other file keeps its backing, and nothing is left registered.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

#include "modules/hide.h"
#include "ptfs/module.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

// Sees the data of files named "watched*" (an audit of writes would).
class WatchesData : public Module {
 public:
  using Module::Module;
  std::atomic<int> writes{0};

  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                         OpenFlags flags, uint32_t mode, uint32_t umask) override {
    auto c = Module::Create(ctx, parent, name, flags, mode, umask);
    if (c.ok() && name.starts_with("watched")) {
      c->open.ServeData();
      *watched_.Get(c->open.fh) = true;
    }
    return c;
  }
  Result<size_t> Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                       std::span<const char> data, WriteFlags flags) override {
    if (watched_.Find(fh) != nullptr) ++writes;
    return Module::Write(ctx, node, fh, offset, data, flags);
  }
  size_t open_watched() const { return watched_.size(); }

 private:
  OpenState<bool> watched_{this, OpenKind::kFile};
};


TEST(FakeKernelModules, DataVetoIsPerOpenAndTheMirrorServesIt) {
  FakeKernelOptions o;
  o.passthrough = true;
  WatchesData* module = nullptr;
  o.decorate = [&](FileSystem* mirror) -> std::unique_ptr<FileSystem> {
    auto chain = std::make_unique<ModuleChain>(
        mirror, std::vector<ModuleChain::Factory>{[&](FileSystem* in) {
          auto m = std::make_unique<WatchesData>(in);
          module = m.get();
          return m;
        }});
    return chain;
  };
  FakeKernel k(o);
  ASSERT_NE(module, nullptr);

  CreatedFile watched = Unpack(k.Create(kRootId, "watched.log", O_RDWR | O_CREAT));
  CreatedFile plain = Unpack(k.Create(kRootId, "plain", O_RDWR | O_CREAT));
  EXPECT_EQ(watched.open.open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_NE(watched.open.open_flags & FOPEN_DIRECT_IO, 0u) << "may sit beside passthrough opens";
  EXPECT_EQ(watched.open.backing_id, 0);
  EXPECT_NE(plain.open.open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_GT(plain.open.backing_id, 0);

  // The vetoed open's data goes through the server, and the module sees it.
  ASSERT_EQ(k.Write(watched.entry.nodeid, watched.open.fh, 0, "seen").error(), 0);
  EXPECT_EQ(module->writes.load(), 1);
  KernelReply r = k.Read(watched.entry.nodeid, watched.open.fh, 0, 16);
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), "seen");
  EXPECT_EQ(module->open_watched(), 1u);

  EXPECT_EQ(k.Release(watched.entry.nodeid, watched.open.fh).error(), 0);
  EXPECT_EQ(k.Release(plain.entry.nodeid, plain.open.fh).error(), 0);
  EXPECT_EQ(module->open_watched(), 0u) << "per-open state ends with the release";
  k.ForgetAll();
  EXPECT_TRUE(k.control().open_backings.empty()) << "the vetoed open leaked no backing";
  EXPECT_EQ(k.fs().data_path().backing_open_now.load(), 0);
}

}  // namespace
}  // namespace ptfs::testing

namespace ptfs::testing {
namespace {

uint64_t NodeOf(FakeKernel& k, uint64_t parent, std::string_view name) {
  KernelReply r = k.Lookup(parent, name);
  EXPECT_EQ(r.error(), 0) << name;
  return r.error() == 0 ? r.As<fuse_entry_out>().nodeid : 0;
}

std::string PathOrErrno(FakeKernel& k, uint64_t node) {
  auto p = k.fs().PathOf(NodeId{node});
  return p.ok() ? *p : "errno " + std::to_string(p.error().value());
}

// What path-based policies ask the mirror: where a node is now, checked
// against the inode itself (a removed or moved-out node has none).
// With the watch, the daemon reaches SOURCE through a private clone of its
// mounts (paths there start at "/"); without, through SOURCE's host path.
class MirrorPathOf : public ::testing::TestWithParam<bool> {};

TEST_P(MirrorPathOf, FollowsRenamesAndRefusesWhatLeftSource) {
  FakeKernelOptions o;
  o.fs.watch_source = GetParam();
  FakeKernel k(o);
  const std::string src = k.source();
  ASSERT_EQ(::mkdir((src + "/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src + "/a/b").c_str(), 0755), 0);
  { std::ofstream(src + "/a/b/f") << "x"; }
  const uint64_t a = NodeOf(k, kRootId, "a");
  const uint64_t b = NodeOf(k, a, "b");
  const uint64_t f = NodeOf(k, b, "f");
  EXPECT_EQ(PathOrErrno(k, kRootId), "");
  EXPECT_EQ(PathOrErrno(k, a), "a");
  EXPECT_EQ(PathOrErrno(k, f), "a/b/f");
  // Renamed in SOURCE behind the mount's back: the path follows.
  ASSERT_EQ(::rename((src + "/a").c_str(), (src + "/c").c_str()), 0);
  EXPECT_EQ(PathOrErrno(k, f), "c/b/f");
  // A hard link: one of the names.
  ASSERT_EQ(::link((src + "/c/b/f").c_str(), (src + "/g").c_str()), 0);
  const std::string either = PathOrErrno(k, f);
  EXPECT_TRUE(either == "c/b/f" || either == "g") << either;
  ASSERT_EQ(::unlink((src + "/g").c_str()), 0);
  // Moved out of SOURCE, or removed: no path.
  const std::string away = src + "-away";
  ASSERT_EQ(::rename((src + "/c/b").c_str(), away.c_str()), 0);
  EXPECT_EQ(PathOrErrno(k, f), "errno " + std::to_string(ENOENT));
  EXPECT_EQ(PathOrErrno(k, b), "errno " + std::to_string(ENOENT));
  ASSERT_EQ(::unlink((away + "/f").c_str()), 0);
  ASSERT_EQ(::rmdir(away.c_str()), 0);
  EXPECT_EQ(PathOrErrno(k, a), "c");
  ASSERT_EQ(::rmdir((src + "/c").c_str()), 0);
  EXPECT_EQ(PathOrErrno(k, a), "errno " + std::to_string(ENOENT));
  k.ForgetAll();
}

INSTANTIATE_TEST_SUITE_P(Watch, MirrorPathOf, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "private_mount" : "host_path"; });

}  // namespace
}  // namespace ptfs::testing

namespace ptfs::testing {
namespace {

// --hide over the real mirror: READDIRPLUS leaves hidden names out and gives
// back the references the mirror took for them, so lookup counts balance
// (the mirror's table holds only the root once the kernel forgets all).
TEST(FakeKernelHide, ListingsGiveBackTheReferencesOfHiddenEntries) {
  FakeKernelOptions o;
  o.fs.listing_attributes = mirror::MirrorOptions::ListingAttributes::kAll;
  o.decorate = [](FileSystem* mirror) -> std::unique_ptr<FileSystem> {
    return std::make_unique<ModuleChain>(
        mirror, std::vector<ModuleChain::Factory>{[](FileSystem* in) {
          return std::make_unique<modules::HideModule>(in, std::vector<std::string>{"*.key"});
        }});
  };
  FakeKernel k(o);
  for (const char* name : {"a.key", "b", "c.key", "d"}) {
    std::ofstream(k.source() + "/" + name) << name;
  }
  KernelReply dir = k.OpenDir(kRootId);
  ASSERT_EQ(dir.error(), 0);
  const uint64_t fh = dir.As<fuse_open_out>().fh;
  KernelReply r = k.ReadDir(FUSE_READDIRPLUS, kRootId, fh, 0, 4096);
  ASSERT_EQ(r.error(), 0);
  std::vector<std::string> names;
  for (size_t off = 0; off + sizeof(fuse_direntplus) <= r.payload.size();) {
    fuse_direntplus d;
    std::memcpy(&d, r.payload.data() + off, sizeof(d));
    names.emplace_back(r.payload.data() + off + sizeof(d), d.dirent.namelen);
    off += (sizeof(fuse_direntplus) + d.dirent.namelen + 7) & ~size_t{7};
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "b", "d"}));
  EXPECT_EQ(k.Lookup(kRootId, "a.key").error(), ENOENT);
  EXPECT_EQ(k.Release(kRootId, fh, FUSE_RELEASEDIR).error(), 0);
  k.ForgetAll();
  EXPECT_EQ(k.fs().inode_count(), 1u) << "a hidden entry's reference was not given back";
}

}  // namespace
}  // namespace ptfs::testing
