// The DRAFT inode-passthrough protocol (abi/fuse_draft_inode_passthrough.h)
// against a model of its kernel side.
//
// KernelModel plays what the proposed series (v2) does in the kernel: once
// an entry reply attached a backing whose ops mask names GETATTR or SETATTR,
// the kernel performs those ops on the backing inode itself and never sends
// them to the server; a directory whose OPENDIR reply carries
// FOPEN_PASSTHROUGH and a backing with READDIR in its mask is listed from
// that backing. Everything else goes to the server as usual. The tests walk
// a tree through it and count, from the server's own per-opcode counters,
// what reached the server.
//
// Model assumption where the draft is silent: the root has no entry reply,
// so it gets no backing (the walk starts one level down).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "abi/fuse_draft_inode_passthrough.h"
#include "ptfs/forwarding_filesystem.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT
namespace draft = ptfs::abi::draft;

// What a stat(2) through the mount shows; compared with lstat on SOURCE.
struct Seen {
  uint64_t ino = 0;
  uint32_t mode = 0, nlink = 0, uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  friend bool operator==(const Seen&, const Seen&) = default;
};

Seen FromStat(const struct stat& sb) {
  return Seen{sb.st_ino,
              sb.st_mode,
              static_cast<uint32_t>(sb.st_nlink),
              sb.st_uid,
              sb.st_gid,
              static_cast<uint64_t>(sb.st_size),
              sb.st_mtim.tv_sec,
              static_cast<uint32_t>(sb.st_mtim.tv_nsec)};
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Names in a directory fd, without "." and "..".
std::vector<std::string> ListFd(int dir_fd) {
  std::vector<std::string> names;
  DIR* d = ::fdopendir(dir_fd);
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return Sorted(names);
}

std::vector<std::string> ListSource(const std::string& path) {
  return ListFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

class KernelModel {
 public:
  explicit KernelModel(FakeKernel& k) : k_(k) {}

  // The backing fd if `node` has a backing whose mask has `op`, else -1.
  int BackingFor(uint64_t node, uint64_t op) {
    const int32_t id = k_.BackingOf(node);
    if (id == 0) return -1;
    auto [fd, mask] = k_.control().Backing(id);
    return (mask & op) != 0 ? fd : -1;
  }

  Seen Stat(uint64_t node) {
    if (int fd = BackingFor(node, draft::kOpGetattr); fd >= 0) {
      struct stat sb;
      EXPECT_EQ(::fstat(fd, &sb), 0);
      return FromStat(sb);
    }
    KernelReply r = k_.GetAttr(node);
    EXPECT_EQ(r.error(), 0);
    const auto a = r.As<fuse_attr_out>().attr;
    return Seen{a.ino,      a.mode, a.nlink, a.uid, a.gid, a.size, static_cast<int64_t>(a.mtime),
                a.mtimensec};
  }

  std::vector<std::string> List(uint64_t node) {
    KernelReply o = k_.OpenDir(node);
    EXPECT_EQ(o.error(), 0);
    const auto open = o.As<fuse_open_out>();
    const uint64_t fh = open.fh;
    std::vector<std::string> names;
    if ((open.open_flags & FOPEN_PASSTHROUGH) != 0) {
      EXPECT_EQ(open.open_flags & FOPEN_CACHE_DIR, 0u) << "passthrough and the listing cache";
      auto [fd, mask] = k_.control().Backing(open.backing_id);
      EXPECT_GE(fd, 0) << "OPENDIR named backing id " << open.backing_id << ", not registered";
      EXPECT_NE(mask & draft::kOpReaddir, 0u) << "OPENDIR named a backing without READDIR";
      if (fd >= 0 && (mask & draft::kOpReaddir) != 0) {
        // A fresh open of the backing directory: its own offset.
        names = ListFd(::open(("/proc/self/fd/" + std::to_string(fd)).c_str(),
                              O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        ++listed_from_backing;
        k_.Release(node, fh, FUSE_RELEASEDIR);
        return names;
      }
    }
    uint64_t off = 0;
    for (;;) {
      KernelReply r = k_.ReadDir(FUSE_READDIR, node, fh, off, 64 * 1024);
      EXPECT_EQ(r.error(), 0);
      if (r.payload.empty() || r.error() != 0) break;
      size_t pos = 0;
      while (pos + sizeof(fuse_dirent) <= r.payload.size()) {
        fuse_dirent d;
        std::memcpy(&d, r.payload.data() + pos, sizeof(d));
        std::string n(r.payload.data() + pos + sizeof(d), d.namelen);
        if (n != "." && n != "..") names.push_back(n);
        off = d.off;
        pos += (sizeof(fuse_dirent) + d.namelen + 7) & ~size_t{7};
      }
    }
    k_.Release(node, fh, FUSE_RELEASEDIR);
    return Sorted(names);
  }

  int listed_from_backing = 0;

  void Chmod(uint64_t node, uint32_t mode) {
    if (int fd = BackingFor(node, draft::kOpSetattr); fd >= 0) {
      EXPECT_EQ(::fchmod(fd, mode), 0);
      return;
    }
    fuse_setattr_in in{};
    in.valid = FATTR_MODE;
    in.mode = mode;
    RequestBuilder req{FUSE_SETATTR, node};
    req.Arg(in);
    EXPECT_EQ(k_.Call(req).error(), 0);
  }

 private:
  FakeKernel& k_;
};

// A small tree with nested directories and a hard link, under "top".
void MakeTree(const std::string& src) {
  for (const char* d : {"top", "top/d1", "top/d1/d2", "top/d3"}) {
    ASSERT_EQ(::mkdir((src + "/" + d).c_str(), 0755), 0);
  }
  int n = 0;
  for (const char* f : {"top/f4", "top/d1/f1", "top/d1/f2", "top/d1/d2/f3"}) {
    std::ofstream(src + "/" + f) << std::string(100 * ++n, 'x');
  }
  ASSERT_EQ(::link((src + "/top/f4").c_str(), (src + "/top/f4link").c_str()), 0);
}

struct Walk {
  size_t entries = 0;                      // names looked up (hard links twice)
  std::set<uint64_t> inodes;               // distinct st_ino
  std::map<uint64_t, uint64_t> node_of;    // st_ino -> nodeid the server gave
  std::map<uint64_t, int32_t> backing_of;  // st_ino -> backing id attached
  std::set<uint64_t> dir_inos;
};

// Lookup every entry, stat each 10 times, list each directory 3 times;
// everything compared with SOURCE.
void WalkTree(FakeKernel& k, KernelModel& m, uint64_t dir, const std::string& path, Walk& w) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(m.List(dir), ListSource(path)) << path;
  for (const std::string& name : ListSource(path)) {
    const std::string p = path + "/" + name;
    KernelReply r = k.Lookup(dir, name);
    ASSERT_EQ(r.error(), 0) << p;
    const uint64_t node = r.As<fuse_entry_out>().nodeid;
    struct stat sb;
    ASSERT_EQ(::lstat(p.c_str(), &sb), 0);
    ++w.entries;
    w.inodes.insert(sb.st_ino);
    auto [it, fresh] = w.node_of.emplace(sb.st_ino, node);
    EXPECT_EQ(it->second, node) << "hard links share one nodeid: " << p;
    if (k.BackingOf(node) != 0) {
      auto [bit, bfresh] = w.backing_of.emplace(sb.st_ino, k.BackingOf(node));
      EXPECT_EQ(bit->second, k.BackingOf(node)) << "hard links share one backing: " << p;
    }
    for (int i = 0; i < 10; ++i) EXPECT_EQ(m.Stat(node), FromStat(sb)) << p;
    if (S_ISDIR(sb.st_mode)) {
      w.dir_inos.insert(sb.st_ino);
      WalkTree(k, m, node, p, w);
    }
  }
}

struct Counts {
  uint64_t lookup, getattr, statx, setattr, readdir, readdirplus, opendir;
};
Counts CountsOf(FakeKernel& k) {
  auto c = [&](uint32_t op) { return k.session().RequestCount(op); };
  return Counts{c(FUSE_LOOKUP),  c(FUSE_GETATTR),     c(FUSE_STATX),  c(FUSE_SETATTR),
                c(FUSE_READDIR), c(FUSE_READDIRPLUS), c(FUSE_OPENDIR)};
}
Counts Minus(const Counts& a, const Counts& b) {
  return Counts{a.lookup - b.lookup,   a.getattr - b.getattr, a.statx - b.statx,
                a.setattr - b.setattr, a.readdir - b.readdir, a.readdirplus - b.readdirplus,
                a.opendir - b.opendir};
}

// Looks up "top", walks the tree under it; returns the requests it cost.
Counts RunWalk(FakeKernel& k, Walk& w) {
  KernelModel m(k);
  const Counts before = CountsOf(k);
  KernelReply top = k.Lookup(kRootId, "top");
  EXPECT_EQ(top.error(), 0);
  const uint64_t top_node = top.As<fuse_entry_out>().nodeid;
  ++w.entries;
  struct stat sb;
  EXPECT_EQ(::lstat((k.source() + "/top").c_str(), &sb), 0);
  w.inodes.insert(sb.st_ino);
  w.dir_inos.insert(sb.st_ino);
  w.node_of[sb.st_ino] = top_node;
  if (k.BackingOf(top_node) != 0) w.backing_of[sb.st_ino] = k.BackingOf(top_node);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(m.Stat(top_node), FromStat(sb));
  WalkTree(k, m, top_node, k.source() + "/top", w);
  return Minus(CountsOf(k), before);
}

void PrintCounts(const char* label, const Walk& w, const Counts& c) {
  std::printf(
      "[walk] %-34s entries=%zu inodes=%zu | server saw LOOKUP=%llu GETATTR=%llu "
      "STATX=%llu READDIR=%llu READDIRPLUS=%llu OPENDIR=%llu\n",
      label, w.entries, w.inodes.size(), static_cast<unsigned long long>(c.lookup),
      static_cast<unsigned long long>(c.getattr), static_cast<unsigned long long>(c.statx),
      static_cast<unsigned long long>(c.readdir), static_cast<unsigned long long>(c.readdirplus),
      static_cast<unsigned long long>(c.opendir));
}

FakeKernelOptions DraftOptions(uint32_t ops) {
  FakeKernelOptions o;
  o.passthrough = true;
  o.draft_inode_passthrough = true;
  o.fs.inode_passthrough_ops = ops;
  return o;
}

TEST(DraftInodePassthrough, TreeWalkReachesTheServerOnlyForLookupsAndOpendirs) {
  FakeKernel k(DraftOptions(kInodeOpsAll));
  MakeTree(k.source());
  ASSERT_TRUE(k.entry2()) << "the server accepts FUSE_PASSTHROUGH_INO when offered and asked";
  EXPECT_TRUE(k.fs().inode_passthrough_enabled());
  Walk w;
  const Counts c = RunWalk(k, w);
  PrintCounts("draft offered, --inode-passthrough=all", w, c);

  EXPECT_EQ(c.lookup, w.entries) << "one LOOKUP per entry";
  EXPECT_EQ(c.getattr, 0u);
  EXPECT_EQ(c.statx, 0u);
  EXPECT_EQ(c.readdir, 0u);
  EXPECT_EQ(c.readdirplus, 0u);
  // The series lists a directory from its backing when OPENDIR names it:
  // OPENDIR (and RELEASEDIR) still reach the server, READDIR never.
  EXPECT_EQ(c.opendir, 3 * w.dir_inos.size()) << "each listing opens its directory";

  // nodeid == st_ino, one backing per inode with the requested mask.
  for (const auto& [ino, node] : w.node_of) EXPECT_EQ(node, ino);
  EXPECT_EQ(w.backing_of.size(), w.inodes.size()) << "every file and directory has a backing";
  {
    std::lock_guard<std::mutex> lock(k.control().mu);
    EXPECT_EQ(static_cast<size_t>(k.control().backing_opens), w.inodes.size())
        << "one registration per inode, hard links and repeated lookups included";
    for (const auto& [ino, id] : w.backing_of) {
      // As the draft's server: a file's backing also carries its reads and
      // writes; a directory's, its listing.
      const uint64_t want =
          draft::kOpGetattr | draft::kOpSetattr |
          (w.dir_inos.count(ino) ? draft::kOpReaddir : draft::kOpRead | draft::kOpWrite);
      EXPECT_EQ(k.control().backing_ops[id], want) << "ino " << ino;
    }
  }

  // SETATTR through the backing: SOURCE changes, the server sees nothing.
  KernelModel m(k);
  const uint64_t f4 = w.node_of.begin()->second;  // any inode
  m.Chmod(f4, S_IFREG | 0600);
  EXPECT_EQ(k.session().RequestCount(FUSE_SETATTR), 0u);

  // FORGET of the last lookup closes every backing; the table is back to the root.
  k.ForgetAll();
  std::lock_guard<std::mutex> lock(k.control().mu);
  EXPECT_TRUE(k.control().open_backings.empty());
  EXPECT_EQ(k.control().backing_closes, k.control().backing_opens);
  EXPECT_EQ(k.fs().inode_count(), 1u);
}

TEST(DraftInodePassthrough, BackingClosedWhenForgetDropsTheLastLookup) {
  FakeKernel k(DraftOptions(kInodeOpGetattr));
  { std::ofstream(k.source() + "/f") << "data"; }
  ASSERT_EQ(::link((k.source() + "/f").c_str(), (k.source() + "/g").c_str()), 0);
  KernelReply a = k.Lookup(kRootId, "f");
  KernelReply b = k.Lookup(kRootId, "f");
  KernelReply c = k.Lookup(kRootId, "g");  // a hard link: same inode, same backing
  const uint64_t node = a.As<fuse_entry_out>().nodeid;
  const int32_t id = a.As<draft::fuse_entry2_out>().backing_id;
  ASSERT_NE(id, 0);
  EXPECT_EQ(b.As<draft::fuse_entry2_out>().backing_id, id);
  EXPECT_EQ(c.As<fuse_entry_out>().nodeid, node);
  EXPECT_EQ(c.As<draft::fuse_entry2_out>().backing_id, id);
  struct stat sb;
  ASSERT_EQ(::stat((k.source() + "/f").c_str(), &sb), 0);
  EXPECT_EQ(node, sb.st_ino);
  auto open_ids = [&] {
    std::lock_guard<std::mutex> lock(k.control().mu);
    return k.control().open_backings.size();
  };
  k.Forget(node, 2);  // returns once processed
  EXPECT_EQ(open_ids(), 1u) << "one lookup still held";
  k.Forget(node, 1);
  EXPECT_EQ(open_ids(), 0u) << "closed when FORGET dropped the last lookup";
  std::lock_guard<std::mutex> lock(k.control().mu);
  EXPECT_EQ(k.control().backing_opens, 1);
}

TEST(DraftInodePassthrough, OpensShareTheInodeBacking) {
  FakeKernel k(DraftOptions(kInodeOpGetattr));
  KernelReply cr = k.Create(kRootId, "new", O_RDWR);
  ASSERT_EQ(cr.error(), 0);
  draft::fuse_entry2_out e{};
  fuse_open_out o{};
  std::memcpy(&e, cr.payload.data(), sizeof(e));
  std::memcpy(&o, cr.payload.data() + sizeof(e), sizeof(o));
  ASSERT_NE(e.backing_id, 0);
  EXPECT_EQ(o.backing_id, e.backing_id) << "the open passes through the inode's own backing";
  EXPECT_TRUE(o.open_flags & FOPEN_PASSTHROUGH);
  KernelReply op = k.Open(e.nodeid, O_RDONLY);
  EXPECT_EQ(op.As<fuse_open_out>().backing_id, e.backing_id);
  k.Release(e.nodeid, o.fh);
  k.Release(e.nodeid, op.As<fuse_open_out>().fh);
  {
    std::lock_guard<std::mutex> lock(k.control().mu);
    EXPECT_EQ(k.control().open_backings.size(), 1u) << "released opens leave the inode's backing";
  }
  k.ForgetAll();
  std::lock_guard<std::mutex> lock(k.control().mu);
  EXPECT_TRUE(k.control().open_backings.empty());
  EXPECT_EQ(k.control().backing_opens, 1);
}

TEST(DraftInodePassthrough, ReaddirPassthroughOnlyLeavesSetattrToTheServer) {
  // --readdirpassthrough = getattr + readdir.
  FakeKernel k(DraftOptions(kInodeOpGetattr | kInodeOpReaddir));
  MakeTree(k.source());
  Walk w;
  const Counts c = RunWalk(k, w);
  EXPECT_EQ(c.getattr + c.readdir + c.readdirplus, 0u);
  KernelModel m(k);
  m.Chmod(w.node_of.begin()->second, 0700);
  EXPECT_EQ(k.session().RequestCount(FUSE_SETATTR), 1u) << "SETATTR is not in the mask";
  k.ForgetAll();
}

// Without the draft in force the server sends none of its fields, and the
// same walk is still right (served by the daemon).
void ExpectNoDraftOnTheWire(FakeKernelOptions o, const char* label) {
  FakeKernel k(o);
  MakeTree(k.source());
  EXPECT_FALSE(k.entry2());
  EXPECT_FALSE(k.fs().inode_passthrough_enabled());
  KernelReply r = k.Lookup(kRootId, "top");
  EXPECT_EQ(r.payload.size(), sizeof(fuse_entry_out)) << "plain fuse_entry_out";
  k.Forget(r.As<fuse_entry_out>().nodeid, 1);
  Walk w;
  const Counts c = RunWalk(k, w);
  PrintCounts(label, w, c);
  EXPECT_EQ(c.lookup, w.entries);
  EXPECT_EQ(c.getattr, 10 * w.entries) << "every stat is served";
  EXPECT_GE(c.readdir, 3 * w.dir_inos.size()) << "every listing is served";
  std::lock_guard<std::mutex> lock(k.control().mu);
  EXPECT_EQ(k.control().nonzero_ops_masks, 0) << "no draft ops mask in any BACKING_OPEN";
  EXPECT_EQ(k.control().backing_opens, 0) << "no backing for lookups";
}

TEST(DraftInodePassthrough, OptionOffSendsNoDraftField) {
  FakeKernelOptions o = DraftOptions(0);
  ExpectNoDraftOnTheWire(o, "draft offered, option off");
}

TEST(DraftInodePassthrough, NotOfferedSendsNoDraftField) {
  FakeKernelOptions o = DraftOptions(kInodeOpsAll);
  o.draft_inode_passthrough = false;
  ExpectNoDraftOnTheWire(o, "draft not offered, option all");
}

TEST(DraftInodePassthrough, NoKernelPassthroughSendsNoDraftField) {
  FakeKernelOptions o = DraftOptions(kInodeOpsAll);
  o.passthrough = false;  // e.g. no CAP_SYS_ADMIN: nothing can be registered
  ExpectNoDraftOnTheWire(o, "draft offered, no passthrough");
}

TEST(DraftInodePassthrough, InitReplyBytesCarryTheFlagOnlyWhenAsked) {
  for (bool asked : {false, true}) {
    FakeKernelOptions o = DraftOptions(asked ? static_cast<uint32_t>(kInodeOpsAll) : 0U);
    o.init = false;
    FakeKernel k(o);
    KernelReply r =
        k.Init(kKernelVersion, kKernelMinorVersion, o.offered_flags | draft::FUSE_PASSTHROUGH_INO);
    ASSERT_EQ(r.error(), 0);
    const auto out = r.As<fuse_init_out>();
    // Bit 43 travels as bit 11 of flags2.
    EXPECT_EQ((out.flags2 >> 11) & 1, asked ? 1u : 0u) << "asked=" << asked;
  }
}

TEST(DraftInodePassthrough, RegistrationFailureFallsBackToServedOps) {
  FakeKernelOptions o = DraftOptions(kInodeOpsAll);
  FakeKernel k(o);
  k.control().backing_open_error = Errno(EPERM);
  MakeTree(k.source());
  Walk w;
  const Counts c = RunWalk(k, w);
  EXPECT_TRUE(w.backing_of.empty()) << "entries carry backing id 0";
  EXPECT_EQ(c.getattr, 10 * w.entries) << "the daemon serves what the kernel cannot";
  k.ForgetAll();
}

// A policy layer that must see every getattr of files named "audited": it
// vetoes inode passthrough for them and passes everything else through.
class AuditAttrs final : public ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override {
    auto e = ForwardingFileSystem::Lookup(ctx, parent, name);
    if (e.ok() && name == "audited") e->inode_passthrough_ops = 0;
    return e;
  }
  Result<Attr> GetAttr(const Context& ctx, NodeId node, const FileHandle* fh) override {
    ++getattrs;
    return ForwardingFileSystem::GetAttr(ctx, node, fh);
  }
  std::atomic<int> getattrs{0};
};

TEST(DraftInodePassthrough, PolicyLayerVetoesPerInode) {
  FakeKernelOptions o = DraftOptions(kInodeOpsAll);
  AuditAttrs* audit = nullptr;
  o.decorate = [&](FileSystem* inner) {
    auto d = std::make_unique<AuditAttrs>(inner);
    audit = d.get();
    return d;
  };
  FakeKernel k(o);
  MakeTree(k.source());
  { std::ofstream(k.source() + "/top/d1/audited") << "watched"; }
  Walk w;
  const Counts c = RunWalk(k, w);
  struct stat sb;
  ASSERT_EQ(::lstat((k.source() + "/top/d1/audited").c_str(), &sb), 0);
  EXPECT_EQ(w.backing_of.count(sb.st_ino), 0u) << "vetoed: no backing";
  EXPECT_EQ(w.backing_of.size(), w.inodes.size() - 1) << "every other inode has one";
  EXPECT_EQ(c.getattr, 10u) << "only the audited file's stats reach the server";
  EXPECT_EQ(audit->getattrs.load(), 10) << "and the policy layer sees each of them";
  k.ForgetAll();
}

// The entry reply's bytes, offset by offset, as the series' kernel reads
// them (include/fuse_kernel.h of extended_passthrough_v2, 40c61f8). Built
// from distinct values so that any two swapped fields show.
uint64_t LoadLe(const std::vector<char>& bytes, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes.at(at + i))) << (8 * i);
  }
  return v;
}

TEST(DraftInodePassthrough, EntryReplyBytesMatchThePostedLayout) {
  FakeKernelOptions o = DraftOptions(kInodeOpGetattr | kInodeOpSetattr);
  o.fs.entry_timeout = Timeout{7, 500000000};
  o.fs.attr_timeout = Timeout{3, 250000000};
  o.fs.timeouts_given = true;
  FakeKernel k(o);
  { std::ofstream(k.source() + "/f") << std::string(12345, 'x'); }
  ASSERT_EQ(::chmod((k.source() + "/f").c_str(), 0640), 0);
  struct stat sb;
  ASSERT_EQ(::stat((k.source() + "/f").c_str(), &sb), 0);
  KernelReply r = k.Lookup(kRootId, "f");
  ASSERT_EQ(r.error(), 0);
  const std::vector<char>& b = r.payload;
  ASSERT_EQ(b.size(), 312u);
  EXPECT_EQ(LoadLe(b, 0, 8), sb.st_ino) << "nodeid @0 (== st_ino)";
  EXPECT_EQ(LoadLe(b, 16, 8), 7u) << "entry_valid @16";
  EXPECT_EQ(LoadLe(b, 24, 8), 3u) << "attr_valid @24";
  EXPECT_EQ(LoadLe(b, 32, 4), 500000000u) << "entry_valid_nsec @32";
  EXPECT_EQ(LoadLe(b, 36, 4), 250000000u) << "attr_valid_nsec @36";
  const int32_t backing = static_cast<int32_t>(LoadLe(b, 40, 4));
  EXPECT_GT(backing, 0) << "backing_id @40";
  EXPECT_EQ(LoadLe(b, 44, 4), 0u) << "flags @44";
  EXPECT_EQ(LoadLe(b, 48, 8), 0u) << "reserved @48";
  // struct fuse_statx at 56.
  EXPECT_NE(LoadLe(b, 56 + 0, 4) & STATX_BASIC_STATS, 0u) << "statx.mask";
  EXPECT_EQ(LoadLe(b, 56 + 16, 4), sb.st_nlink) << "statx.nlink";
  EXPECT_EQ(LoadLe(b, 56 + 20, 4), sb.st_uid) << "statx.uid";
  EXPECT_EQ(LoadLe(b, 56 + 24, 4), sb.st_gid) << "statx.gid";
  EXPECT_EQ(LoadLe(b, 56 + 28, 2), S_IFREG | 0640u) << "statx.mode";
  EXPECT_EQ(LoadLe(b, 56 + 32, 8), sb.st_ino) << "statx.ino";
  EXPECT_EQ(LoadLe(b, 56 + 40, 8), 12345u) << "statx.size";
  EXPECT_EQ(LoadLe(b, 56 + 48, 8), static_cast<uint64_t>(sb.st_blocks)) << "statx.blocks";
  EXPECT_EQ(static_cast<int64_t>(LoadLe(b, 56 + 112, 8)), sb.st_mtim.tv_sec) << "statx.mtime";
  EXPECT_EQ(LoadLe(b, 56 + 120, 4), static_cast<uint64_t>(sb.st_mtim.tv_nsec));
  EXPECT_EQ(LoadLe(b, 56 + 136, 4), major(sb.st_dev)) << "statx.dev_major";
  EXPECT_EQ(LoadLe(b, 56 + 140, 4), minor(sb.st_dev)) << "statx.dev_minor";
  for (size_t at = 56 + 144; at < 312; ++at) EXPECT_EQ(b[at], 0) << "statx spare @" << at;
  {
    std::lock_guard<std::mutex> lock(k.control().mu);
    EXPECT_EQ(k.control().backing_ops[backing],
              draft::kOpGetattr | draft::kOpSetattr | draft::kOpRead | draft::kOpWrite)
        << "ops_mask 0xC00C, the draft server's mask for a regular file";
    EXPECT_EQ(draft::kOpGetattr | draft::kOpSetattr | draft::kOpRead | draft::kOpWrite, 0xC00Cu);
    EXPECT_EQ(draft::kOpReaddir, 0x8000000u);
  }
  // CREATE: the entry, then fuse_open_out naming the same backing.
  KernelReply cr = k.Create(kRootId, "g", O_RDWR);
  ASSERT_EQ(cr.error(), 0);
  ASSERT_EQ(cr.payload.size(), 312u + sizeof(fuse_open_out));
  const int32_t created_backing = static_cast<int32_t>(LoadLe(cr.payload, 40, 4));
  EXPECT_GT(created_backing, 0);
  EXPECT_EQ(static_cast<int32_t>(LoadLe(cr.payload, 312 + 12, 4)), created_backing)
      << "fuse_open_out.backing_id @12 after the entry";
  EXPECT_NE(LoadLe(cr.payload, 312 + 8, 4) & FOPEN_PASSTHROUGH, 0u);
  k.Release(LoadLe(cr.payload, 0, 8), LoadLe(cr.payload, 312, 8));
  k.ForgetAll();
}

// A layer that answers "absent" with a negative entry (the kernel may
// remember the name does not exist), as MirrorFs does on a watched SOURCE.
class NegativeForAbsent final : public ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override {
    if (name != "absent") return ForwardingFileSystem::Lookup(ctx, parent, name);
    Entry negative;
    negative.entry_timeout = Timeout{9, 0};
    return negative;
  }
};

TEST(DraftInodePassthrough, NegativeEntriesAreEntry2WithNodeidZero) {
  FakeKernelOptions o = DraftOptions(kInodeOpsAll);
  o.decorate = [](FileSystem* inner) { return std::make_unique<NegativeForAbsent>(inner); };
  FakeKernel k(o);
  KernelReply r = k.Lookup(kRootId, "absent");
  ASSERT_EQ(r.error(), 0) << "a negative entry, not ENOENT, as the draft's libfuse sends it";
  ASSERT_EQ(r.payload.size(), 312u);
  EXPECT_EQ(LoadLe(r.payload, 0, 8), 0u) << "nodeid 0";
  EXPECT_EQ(LoadLe(r.payload, 16, 8), 9u) << "entry_valid";
  EXPECT_EQ(LoadLe(r.payload, 40, 4), 0u) << "no backing";
  std::lock_guard<std::mutex> lock(k.control().mu);
  EXPECT_EQ(k.control().backing_opens, 0);
}

}  // namespace
}  // namespace ptfs::testing
