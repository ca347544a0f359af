// Policy modules against the model of the draft inode-passthrough kernel:
// each clears the kernel's shortcuts for exactly the inodes its policy must
// see, and every other inode keeps them.
//  - --hide: a directory's listing must be filtered, so no directory is
//    listed by the kernel (READDIR bit cleared); files keep GETATTR/SETATTR.
//  - --read-only: an inode inside a read-only subtree must not be changed by
//    the kernel itself (SETATTR bit cleared); outside, nothing changes.
//  - --map-owner: every inode's owners are shown mapped, so the kernel may
//    neither stat nor chown any inode itself (GETATTR and SETATTR cleared);
//    readdir and data stay with the kernel.
//  - --audit: changes are logged at the server, data is not: opens keep
//    kernel passthrough, and the inodes keep every shortcut.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "abi/fuse_draft_inode_passthrough.h"
#include "modules/audit.h"
#include "modules/audit_log.h"
#include "modules/hide.h"
#include "modules/map_owner.h"
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

// A regular file's backing also carries its reads and writes (the draft
// server's mask, READ|WRITE|GETATTR|SETATTR).
constexpr uint64_t kFileData = draft::kOpRead | draft::kOpWrite;

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
  EXPECT_EQ(OpsOf(k, f), draft::kOpGetattr | draft::kOpSetattr | kFileData)
      << "a file keeps its shortcuts";
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
  EXPECT_EQ(OpsOf(k, inside), draft::kOpGetattr | kFileData) << "reading stays with the kernel";
  EXPECT_EQ(OpsOf(k, free_dir), all | draft::kOpReaddir);
  EXPECT_EQ(OpsOf(k, outside), all | kFileData);
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

TEST(PolicyVetoes, MapOwnerShowsMappedOwnersAndKeepsStatAndChownAtTheServer) {
  FakeKernel k(DraftWith([](FileSystem* in) {
    return std::make_unique<modules::MapOwnerModule>(in, std::vector<modules::IdMap>{{1000, 2000}},
                                                     std::vector<modules::IdMap>{{1000, 2000}});
  }));
  ASSERT_TRUE(k.entry2());
  ASSERT_EQ(::mkdir((k.source() + "/d").c_str(), 0755), 0);
  std::ofstream(k.source() + "/d/f") << "data";
  ASSERT_EQ(::chown((k.source() + "/d/f").c_str(), 1000, 1000), 0);
  KernelReply d = k.Lookup(kRootId, "d");
  KernelReply f = k.Lookup(NodeOf(d), "f");
  ASSERT_EQ(f.error(), 0);
  EXPECT_EQ(f.As<draft::fuse_entry2_out>().statx.uid, 2000u);
  EXPECT_EQ(f.As<draft::fuse_entry2_out>().statx.gid, 2000u);
  EXPECT_EQ(OpsOf(k, d), draft::kOpReaddir) << "listing stays with the kernel";
  EXPECT_EQ(OpsOf(k, f), 0u);
  // chown to the shown owner stores the real one.
  ASSERT_EQ(::chown((k.source() + "/d/f").c_str(), 0, 0), 0);
  fuse_setattr_in in{};
  in.valid = FATTR_UID | FATTR_GID;
  in.uid = 2000;
  in.gid = 2000;
  RequestBuilder req{FUSE_SETATTR, NodeOf(f)};
  req.Arg(in);
  KernelReply r = k.Call(req);
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_attr_out>().attr.uid, 2000u) << "answered as shown";
  struct stat st;
  ASSERT_EQ(::stat((k.source() + "/d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u) << "stored as FROM";
  EXPECT_EQ(st.st_gid, 1000u);
  k.ForgetAll();
}

// A temporary audit file for one test.
class AuditFile {
 public:
  AuditFile() {
    char dir[] = "/tmp/ptfs-audit-fk-XXXXXX";
    if (::mkdtemp(dir) != nullptr) dir_ = dir;
    path_ = dir_ + "/audit.jsonl";
  }
  ~AuditFile() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

TEST(PolicyVetoes, AuditKeepsEveryKernelShortcut) {
  AuditFile file;
  modules::AuditLog log(file.path(), modules::AuditLog::OnFailure::kRefuse,
                        [](const std::string&) {});
  ASSERT_TRUE(log.Open().ok());
  FakeKernel k(DraftWith([&log](FileSystem* in) {
    return std::make_unique<modules::AuditModule>(in, &log, /*reads=*/false);
  }));
  ASSERT_TRUE(k.entry2());
  ASSERT_EQ(::mkdir((k.source() + "/d").c_str(), 0755), 0);
  std::ofstream(k.source() + "/f") << "data";
  EXPECT_EQ(OpsOf(k, k.Lookup(kRootId, "d")),
            draft::kOpGetattr | draft::kOpSetattr | draft::kOpReaddir);
  KernelReply f = k.Lookup(kRootId, "f");
  EXPECT_EQ(OpsOf(k, f), draft::kOpGetattr | draft::kOpSetattr | kFileData);
  KernelReply o = k.Open(NodeOf(f), O_RDWR);
  ASSERT_EQ(o.error(), 0);
  EXPECT_TRUE(o.As<fuse_open_out>().open_flags & FOPEN_PASSTHROUGH)
      << "the audited open still passes its data through";
  EXPECT_NE(o.As<fuse_open_out>().backing_id, 0);
  k.Release(NodeOf(f), o.As<fuse_open_out>().fh);
  KernelReply c = k.Create(kRootId, "g", O_WRONLY);
  ASSERT_EQ(c.error(), 0);
  fuse_open_out co{};
  std::memcpy(&co, c.payload.data() + sizeof(draft::fuse_entry2_out), sizeof(co));
  EXPECT_TRUE(co.open_flags & FOPEN_PASSTHROUGH);
  k.Release(c.As<fuse_entry_out>().nodeid, co.fh);
  EXPECT_EQ(log.counters().lines_written, 2u) << "open f, create g";
  k.ForgetAll();
}

TEST(PolicyVetoes, AuditReadsKeepsListingsAtTheServer) {
  AuditFile file;
  modules::AuditLog log(file.path(), modules::AuditLog::OnFailure::kRefuse,
                        [](const std::string&) {});
  ASSERT_TRUE(log.Open().ok());
  FakeKernel k(DraftWith([&log](FileSystem* in) {
    return std::make_unique<modules::AuditModule>(in, &log, /*reads=*/true);
  }));
  ASSERT_TRUE(k.entry2());
  ASSERT_EQ(::mkdir((k.source() + "/d").c_str(), 0755), 0);
  std::ofstream(k.source() + "/d/f") << "data";
  KernelReply d = k.Lookup(kRootId, "d");
  EXPECT_EQ(OpsOf(k, d), draft::kOpGetattr | draft::kOpSetattr)
      << "a listing the kernel did alone would not be logged";
  KernelReply f = k.Lookup(NodeOf(d), "f");
  EXPECT_EQ(OpsOf(k, f), draft::kOpGetattr | draft::kOpSetattr | kFileData) << "files keep theirs";
  KernelReply made = k.MkDir(kRootId, "e", 0755);
  ASSERT_EQ(made.error(), 0);
  EXPECT_EQ(OpsOf(k, made), draft::kOpGetattr | draft::kOpSetattr);
  // The listing reaches the server (READDIRPLUS entries carry no backing
  // in the draft; the module clears the bit on them too, for when they do).
  KernelReply dir = k.OpenDir(kRootId);
  ASSERT_EQ(dir.error(), 0);
  KernelReply plus = k.ReadDir(FUSE_READDIRPLUS, kRootId, dir.As<fuse_open_out>().fh, 0, 8192);
  ASSERT_EQ(plus.error(), 0);
  EXPECT_GT(plus.payload.size(), 0u);
  k.Release(kRootId, dir.As<fuse_open_out>().fh, FUSE_RELEASEDIR);
  KernelReply o = k.Open(NodeOf(f), O_RDONLY);
  ASSERT_EQ(o.error(), 0);
  EXPECT_TRUE(o.As<fuse_open_out>().open_flags & FOPEN_PASSTHROUGH) << "reads stay in the kernel";
  k.Release(NodeOf(f), o.As<fuse_open_out>().fh);
  EXPECT_EQ(log.counters().lines_written, 3u) << "mkdir e, list /, open d/f";
  k.ForgetAll();
}

}  // namespace
}  // namespace ptfs::testing
