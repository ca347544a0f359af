// The shipped policy modules' own decisions, over an in-memory filesystem
// (no kernel, no SOURCE): which names --hide hides and what it answers
// without asking below, which paths --read-only freezes, and how
// --map-owner translates owners and callers both ways. The fake-kernel
// (policy_vetoes_test) and mount tests (hide, read_only_subtree,
// map_owner, audit) check the same modules end to end.
#include <sys/stat.h>

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "modules/hide.h"
#include "modules/map_owner.h"
#include "modules/paths.h"
#include "modules/read_only.h"

namespace ptfs::modules {
namespace {

// Directories 2 ("build/a") and 3 ("build/a/b") and the root (1, "");
// every name looked up is a file owned by 1000:1000, node 100 + its first
// character. Records what reached it.
class PathFs : public FileSystem {
 public:
  std::atomic<int> lookups{0}, creates{0}, setattrs{0};
  SetAttrIn last_setattr{};
  Context last_ctx{};
  std::vector<uint32_t> last_groups;

  Result<std::string> PathOf(NodeId node) override {
    static const std::map<uint64_t, std::string> paths{{1, ""}, {2, "build/a"}, {3, "build/a/b"}};
    auto it = paths.find(node.value);
    if (it == paths.end()) return Errno(ENOENT);
    return it->second;
  }
  Result<Entry> Lookup(const Context& ctx, NodeId, std::string_view name) override {
    ++lookups;
    Remember(ctx);
    return FileEntry(name);
  }
  Result<Entry> MkDir(const Context& ctx, NodeId, std::string_view name, uint32_t,
                      uint32_t) override {
    Remember(ctx);
    Entry e = FileEntry(name);
    e.attr.stx_mode = S_IFDIR | 0755;
    return e;
  }
  Result<Created> Create(const Context& ctx, NodeId, std::string_view name, OpenFlags, uint32_t,
                         uint32_t) override {
    ++creates;
    Remember(ctx);
    Created c;
    c.entry = FileEntry(name);
    return c;
  }
  Result<Attr> SetAttr(const Context& ctx, NodeId, const SetAttrIn& in) override {
    ++setattrs;
    Remember(ctx);
    last_setattr = in;
    Attr a;
    a.attr.stx_uid = (in.valid & SetAttrIn::kUid) ? in.uid : 1000;
    a.attr.stx_gid = (in.valid & SetAttrIn::kGid) ? in.gid : 1000;
    return a;
  }
  void Forget(NodeId, uint64_t) override {}

 private:
  static Entry FileEntry(std::string_view name) {
    Entry e;
    e.node = NodeId{100u + static_cast<unsigned char>(name[0])};
    e.attr.stx_mode = S_IFREG | 0644;
    e.attr.stx_uid = 1000;
    e.attr.stx_gid = 1000;
    e.inode_passthrough_ops = kInodeOpsAll;
    return e;
  }
  void Remember(const Context& ctx) {
    last_ctx = ctx;
    last_groups.assign(ctx.groups.begin(), ctx.groups.end());
  }
};

const Context kCaller{};
constexpr NodeId kRoot{1}, kBuildA{2}, kBuildAB{3};

TEST(HideRules, NameGlobsMatchTheFinalComponentAnywhere) {
  PathFs fs;
  HideModule hide(&fs, {"*.key", ".git"});
  EXPECT_TRUE(hide.Hidden(kRoot, "id.key"));
  EXPECT_TRUE(hide.Hidden(kBuildAB, ".git"));
  EXPECT_FALSE(hide.Hidden(kRoot, "id.key.pub"));
  EXPECT_FALSE(hide.Hidden(kRoot, ".gitignore"));
  EXPECT_FALSE(hide.Hidden(kRoot, ".")) << "never '.' or '..'";
  EXPECT_FALSE(hide.Hidden(kRoot, ".."));
}

TEST(HideRules, PathGlobsMatchTheWholePathComponentByComponent) {
  PathFs fs;
  HideModule hide(&fs, {"build/*/cache"});
  EXPECT_TRUE(hide.Hidden(kBuildA, "cache")) << "build/a/cache";
  EXPECT_FALSE(hide.Hidden(kBuildAB, "cache")) << "build/a/b/cache: '*' stops at '/'";
  EXPECT_FALSE(hide.Hidden(kRoot, "cache")) << "a path glob is not a name glob";
  EXPECT_FALSE(hide.Hidden(kBuildA, "cachet"));
  EXPECT_FALSE(hide.Hidden(NodeId{99}, "cache")) << "a directory with no path: the call fails below";
}

TEST(HideRules, RefusesWithoutAskingBelow) {
  PathFs fs;
  HideModule hide(&fs, {"*.key"});
  EXPECT_EQ(hide.Lookup(kCaller, kRoot, "x.key").error().value(), ENOENT);
  EXPECT_EQ(fs.lookups, 0) << "the hidden name is never looked up in SOURCE";
  EXPECT_EQ(hide.Create(kCaller, kRoot, "y.key", OpenFlags{}, 0644, 0).error().value(), EACCES);
  EXPECT_EQ(hide.MkDir(kCaller, kRoot, "d.key", 0755, 0).error().value(), EACCES);
  EXPECT_EQ(hide.Rename(kCaller, kRoot, "plain", kRoot, "z.key", RenameFlags{}).value(), EACCES);
  EXPECT_EQ(hide.Rename(kCaller, kRoot, "x.key", kRoot, "plain", RenameFlags{}).value(), ENOENT);
  EXPECT_EQ(hide.Unlink(kCaller, kRoot, "x.key").value(), ENOENT);
  EXPECT_EQ(fs.creates, 0);
  // A visible name goes through; a directory entry loses readdir passthrough.
  auto plain = hide.Lookup(kCaller, kRoot, "plain");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->inode_passthrough_ops, kInodeOpsAll) << "files keep every shortcut";
  auto dir = hide.MkDir(kCaller, kRoot, "dir", 0755, 0);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->inode_passthrough_ops, kInodeOpsAll & ~kInodeOpReaddir);
}

TEST(HideRules, APathIsHiddenIfAnyComponentIs) {
  PathFs fs;
  HideModule hide(&fs, {"*.key", "build/*/cache"});
  EXPECT_FALSE(hide.HiddenPath("")) << "SOURCE itself";
  EXPECT_FALSE(hide.HiddenPath("build/a/b"));
  EXPECT_TRUE(hide.HiddenPath("id.key"));
  EXPECT_TRUE(hide.HiddenPath("keys.key/inner/deeper")) << "below a hidden directory";
  EXPECT_TRUE(hide.HiddenPath("build/a/cache"));
  EXPECT_TRUE(hide.HiddenPath("build/a/cache/x")) << "below a path glob's match";
  EXPECT_FALSE(hide.HiddenPath("build/a/b/cache")) << "'*' stops at '/'";
  EXPECT_FALSE(hide.HiddenPath("id.key.pub/x"));
}

// Answers LOOKUP "." and ".." (export) with the node named in `found`.
class ByNodeFs : public PathFs {
 public:
  uint64_t found = 0;
  std::vector<uint64_t> forgotten;
  Result<std::string> PathOf(NodeId node) override {
    if (node.value == 7) return std::string("keys.key/inner");
    if (node.value == 8) return std::string("build/a/plain");
    return PathFs::PathOf(node);
  }
  Result<Entry> Lookup(const Context&, NodeId, std::string_view) override {
    Entry e;
    e.node = NodeId{found};
    e.attr.stx_mode = S_IFREG | 0644;
    return e;
  }
  void Forget(NodeId node, uint64_t) override { forgotten.push_back(node.value); }
};

TEST(HideRules, InodesFoundByNodeAreJudgedByWhereTheyAre) {
  ByNodeFs fs;
  HideModule hide(&fs, {"*.key"});
  fs.found = 7;  // keys.key/inner
  EXPECT_EQ(hide.Lookup(kCaller, NodeId{7}, ".").error().value(), ESTALE);
  EXPECT_EQ(fs.forgotten, std::vector<uint64_t>{7}) << "the reference taken below is given back";
  fs.found = 8;  // build/a/plain
  ASSERT_TRUE(hide.Lookup(kCaller, NodeId{8}, ".").ok());
  fs.found = 99;  // no path under SOURCE: cannot be judged, so refused
  EXPECT_EQ(hide.Lookup(kCaller, NodeId{99}, ".").error().value(), ESTALE);
  fs.found = 1;  // ".." of a top-level directory: SOURCE
  ASSERT_TRUE(hide.Lookup(kCaller, kBuildA, "..").ok());
  EXPECT_EQ(fs.forgotten, (std::vector<uint64_t>{7, 99}));
}

TEST(ReadOnlyRules, AtOrUnderARootByWholeComponents) {
  PathFs fs;
  ReadOnlyModule ro(&fs, {"etc", "releases/v1"});
  EXPECT_TRUE(ro.Frozen("etc"));
  EXPECT_TRUE(ro.Frozen("etc/x/y"));
  EXPECT_FALSE(ro.Frozen("etcetera")) << "a prefix of a name is not a parent";
  EXPECT_FALSE(ro.Frozen(""));
  EXPECT_FALSE(ro.Frozen("releases"));
  EXPECT_TRUE(ro.Frozen("releases/v1/bin"));
  EXPECT_FALSE(ro.Frozen("releases/v10"));
  EXPECT_TRUE(ro.LeadsToRoot("releases")) << "moving it would move releases/v1";
  EXPECT_TRUE(ro.LeadsToRoot(""));
  EXPECT_FALSE(ro.LeadsToRoot("releases/v1"));
  EXPECT_FALSE(ro.LeadsToRoot("etc/x"));
}

TEST(ReadOnlyRules, CommandLinePathsAreNormalisedOrRefused) {
  std::string why;
  EXPECT_EQ(NormalizeRelativePath("/etc//x/", &why), "etc/x");
  EXPECT_FALSE(NormalizeRelativePath("a/../b", &why).has_value());
  EXPECT_FALSE(NormalizeRelativePath("/", &why).has_value());
  EXPECT_EQ(why, "names SOURCE itself");
}

TEST(ReadOnlyRules, ChangesInsideAreRefusedBeforeReachingSource) {
  PathFs fs;
  ReadOnlyModule ro(&fs, {"build/a"});
  EXPECT_EQ(ro.Create(kCaller, kBuildA, "new", OpenFlags{}, 0644, 0).error().value(), EROFS);
  EXPECT_TRUE(ro.Create(kCaller, kRoot, "new", OpenFlags{}, 0644, 0).ok()) << "outside";
  EXPECT_EQ(fs.creates, 1);
  EXPECT_EQ(ro.Rename(kCaller, kRoot, "build", kRoot, "moved", RenameFlags{}).value(), EROFS)
      << "a directory on the way to a root";
  auto inside = ro.Lookup(kCaller, kBuildA, "f");
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(inside->inode_passthrough_ops, kInodeOpsAll & ~kInodeOpSetattr)
      << "the kernel must not change it itself";
  auto outside = ro.Lookup(kCaller, kRoot, "f");
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(outside->inode_passthrough_ops, kInodeOpsAll);
}

TEST(MapOwnerRules, OwnersTranslateBothWaysAndOthersPass) {
  PathFs fs;
  MapOwnerModule m(&fs, {{1000, 2000}, {5, 6}}, {{1000, 3000}});
  EXPECT_EQ(m.ShownUid(1000), 2000u);
  EXPECT_EQ(m.StoredUid(2000), 1000u);
  EXPECT_EQ(m.ShownUid(42), 42u);
  EXPECT_EQ(m.StoredUid(42), 42u);
  EXPECT_EQ(m.ShownUid(2000), 2000u) << "TO's own files are shown as TO (bindfs)";
  EXPECT_EQ(m.ShownGid(1000), 3000u);
  EXPECT_EQ(m.StoredGid(3000), 1000u);
  MapOwnerModule swap(&fs, {{1, 2}, {2, 1}}, {});
  EXPECT_EQ(swap.ShownUid(1), 2u);
  EXPECT_EQ(swap.ShownUid(2), 1u);
  EXPECT_EQ(swap.StoredUid(1), 2u);
}

TEST(MapOwnerRules, CallersActAsTheStoredOwnerAndSeeTheShownOne) {
  PathFs fs;
  MapOwnerModule m(&fs, {{1000, 2000}}, {{1000, 3000}});
  const uint32_t groups[] = {3000, 7};
  Context ctx;
  ctx.uid = 2000;
  ctx.gid = 3000;
  ctx.groups = groups;
  auto e = m.Lookup(ctx, kRoot, "f");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(fs.last_ctx.uid, 1000u) << "SOURCE checks TO's access as FROM's";
  EXPECT_EQ(fs.last_ctx.gid, 1000u);
  EXPECT_EQ(fs.last_groups, (std::vector<uint32_t>{1000, 7}));
  EXPECT_EQ(e->attr.stx_uid, 2000u);
  EXPECT_EQ(e->attr.stx_gid, 3000u);
  EXPECT_EQ(e->inode_passthrough_ops, kInodeOpReaddir) << "stat and chown stay at the server";
  SetAttrIn chown{};
  chown.valid = SetAttrIn::kUid | SetAttrIn::kGid;
  chown.uid = 2000;
  chown.gid = 3000;
  auto a = m.SetAttr(kCaller, NodeId{100 + 'f'}, chown);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(fs.last_setattr.uid, 1000u) << "chown to TO stores FROM";
  EXPECT_EQ(fs.last_setattr.gid, 1000u);
  EXPECT_EQ(a->attr.stx_uid, 2000u) << "and answers as shown";
  EXPECT_EQ(a->attr.stx_gid, 3000u);
}

}  // namespace
}  // namespace ptfs::modules
