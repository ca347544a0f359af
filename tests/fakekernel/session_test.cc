// Fake-kernel tests: the real server, driven over a socket by a harness that
// plays the kernel. No mount and no root needed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "ptfs/forwarding_filesystem.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path) << data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Dirent {
  std::string name;
  uint64_t ino, off, nodeid;
  uint32_t type;
};

std::vector<Dirent> ParseDirents(const std::vector<char>& p, bool plus) {
  std::vector<Dirent> out;
  size_t off = 0;
  const size_t head = plus ? sizeof(fuse_direntplus) : sizeof(fuse_dirent);
  while (off + head <= p.size()) {
    fuse_dirent d;
    uint64_t nodeid = 0;
    if (plus) {
      fuse_direntplus dp;
      std::memcpy(&dp, p.data() + off, sizeof(dp));
      d = dp.dirent;
      nodeid = dp.entry_out.nodeid;
    } else {
      std::memcpy(&d, p.data() + off, sizeof(d));
    }
    out.push_back({std::string(p.data() + off + head, d.namelen), d.ino, d.off, nodeid, d.type});
    off += (head + d.namelen + 7) & ~size_t{7};
  }
  EXPECT_EQ(off, p.size()) << "dirent records must tile the reply exactly";
  return out;
}

// Lists a whole directory with replies of `size` bytes, continuing from the
// offset of the last entry of each reply, as the kernel does.
std::vector<Dirent> ListAll(FakeKernel& k, uint64_t dir, uint32_t opcode, uint32_t size) {
  KernelReply o = k.OpenDir(dir);
  EXPECT_EQ(o.error(), 0);
  const uint64_t fh = o.As<fuse_open_out>().fh;
  std::vector<Dirent> all;
  uint64_t off = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    KernelReply r = k.ReadDir(opcode, dir, fh, off, size);
    EXPECT_EQ(r.error(), 0);
    auto batch = ParseDirents(r.payload, opcode == FUSE_READDIRPLUS);
    if (batch.empty()) break;
    off = batch.back().off;
    all.insert(all.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(k.Release(dir, fh, FUSE_RELEASEDIR).error(), 0);
  return all;
}

TEST(FakeKernelSession, ScriptedSessionAndBalancedLookups) {
  FakeKernel k;
  EXPECT_EQ(k.Lookup(kRootId, "missing").error(), ENOENT);

  KernelReply d = k.MkDir(kRootId, "dir");
  ASSERT_EQ(d.error(), 0);
  const auto dir = d.As<fuse_entry_out>();
  EXPECT_TRUE(S_ISDIR(dir.attr.mode));
  struct stat st;
  ASSERT_EQ(::stat((k.source() + "/dir").c_str(), &st), 0);
  EXPECT_EQ(dir.attr.ino, st.st_ino);

  KernelReply c = k.Create(dir.nodeid, "file", O_RDWR | O_CREAT);
  ASSERT_EQ(c.error(), 0);
  fuse_entry_out file;
  fuse_open_out fopen;
  std::memcpy(&file, c.payload.data(), sizeof(file));
  std::memcpy(&fopen, c.payload.data() + sizeof(file), sizeof(fopen));

  KernelReply w = k.Write(file.nodeid, fopen.fh, 0, "hello, world");
  ASSERT_EQ(w.error(), 0);
  EXPECT_EQ(w.As<fuse_write_out>().size, 12u);
  EXPECT_EQ(ReadFile(k.source() + "/dir/file"), "hello, world");

  KernelReply r = k.Read(file.nodeid, fopen.fh, 7, 100);
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), "world");

  KernelReply a = k.GetAttr(file.nodeid);
  ASSERT_EQ(a.error(), 0);
  EXPECT_EQ(a.As<fuse_attr_out>().attr.size, 12u);

  fuse_setattr_in sa{};
  sa.valid = FATTR_SIZE | FATTR_MODE;
  sa.size = 5;
  sa.mode = S_IFREG | 0600;
  KernelReply s = k.Call(RequestBuilder{FUSE_SETATTR, file.nodeid}.Arg(sa));
  ASSERT_EQ(s.error(), 0);
  EXPECT_EQ(s.As<fuse_attr_out>().attr.size, 5u);
  EXPECT_EQ(s.As<fuse_attr_out>().attr.mode & 07777, 0600u);

  auto listing = ListAll(k, dir.nodeid, FUSE_READDIRPLUS, 4096);
  std::set<std::string> names;
  for (const auto& e : listing) names.insert(e.name);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "file"}));
  for (const auto& e : listing) {
    if (e.name == "file") {
      EXPECT_EQ(e.nodeid, file.nodeid) << "same inode, same nodeid";
    }
    if (e.name == "." || e.name == "..") {
      EXPECT_EQ(e.nodeid, 0u) << "no reference for . and ..";
    }
  }

  KernelReply rn = k.Call(RequestBuilder{FUSE_RENAME, dir.nodeid}
                              .Arg(fuse_rename_in{kRootId})
                              .Name("file")
                              .Name("moved"));
  ASSERT_EQ(rn.error(), 0);
  EXPECT_EQ(ReadFile(k.source() + "/moved"), "hello");
  KernelReply lk = k.Lookup(kRootId, "moved");
  ASSERT_EQ(lk.error(), 0);
  EXPECT_EQ(lk.As<fuse_entry_out>().nodeid, file.nodeid) << "rename keeps the inode";

  EXPECT_EQ(k.Release(file.nodeid, fopen.fh).error(), 0);
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_UNLINK, kRootId}.Name("moved")).error(), 0);
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_RMDIR, kRootId}.Name("dir")).error(), 0);

  // Every reference handed out goes back; the table holds only the root.
  EXPECT_GT(k.fs().inode_count(), 1u);
  k.ForgetAll();
  EXPECT_TRUE(Eventually([&] { return k.fs().inode_count() == 1; }))
      << "inodes left: " << k.fs().inode_count();
  EXPECT_EQ(k.fs().open_file_count(), 0u);
  EXPECT_TRUE(k.Shutdown().ok());
}

// A filesystem whose creating ops return "no node": an entry with node 0
// is a negative entry, which only LOOKUP may send.
class NoNodes final : public ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  Result<Entry> Lookup(const Context&, NodeId, std::string_view) override {
    Entry negative;
    negative.entry_timeout = Timeout::Seconds(5);
    return negative;
  }
  Result<Entry> MkDir(const Context&, NodeId, std::string_view, uint32_t, uint32_t) override {
    return Entry{};
  }
};

TEST(FakeKernelSession, NegativeEntriesAnswerLookupOnly) {
  FakeKernelOptions o;
  o.decorate = [](FileSystem* inner) { return std::make_unique<NoNodes>(inner); };
  FakeKernel k(o);
  const KernelReply lookup = k.Lookup(1, "absent");
  ASSERT_EQ(lookup.error(), 0);
  const auto out = lookup.As<fuse_entry_out>();
  EXPECT_EQ(out.nodeid, 0u);
  EXPECT_EQ(out.entry_valid, 5u) << "the kernel may remember the absence";
  EXPECT_EQ(k.MkDir(1, "d").error(), EIO) << "never a nodeid-0 entry for MKDIR";
}

TEST(FakeKernelSession, HardLinksShareOneInode) {
  FakeKernel k;
  WriteFile(k.source() + "/a", "x");
  ASSERT_EQ(::link((k.source() + "/a").c_str(), (k.source() + "/b").c_str()), 0);
  const uint64_t a = k.Lookup(kRootId, "a").As<fuse_entry_out>().nodeid;
  const uint64_t b = k.Lookup(kRootId, "b").As<fuse_entry_out>().nodeid;
  EXPECT_EQ(a, b);
  KernelReply l = k.Call(RequestBuilder{FUSE_LINK, kRootId}.Arg(fuse_link_in{a}).Name("c"));
  ASSERT_EQ(l.error(), 0);
  EXPECT_EQ(l.As<fuse_entry_out>().nodeid, a);
  EXPECT_EQ(l.As<fuse_entry_out>().attr.nlink, 3u);
  EXPECT_EQ(k.outstanding().at(a), 3u);
  // Two of three references back: still alive; the last one frees it.
  k.Forget(a, 2);
  EXPECT_EQ(k.GetAttr(a).error(), 0);
  k.Forget(a, 1);
  EXPECT_TRUE(Eventually([&] { return k.fs().inode_count() == 1; }));
  EXPECT_EQ(k.GetAttr(a).error(), ESTALE) << "a forgotten nodeid is stale";
}

TEST(FakeKernelSession, BadInputGetsClearErrors) {
  FakeKernel k;
  // Short message: header cut at 24 bytes, unique readable -> EIO.
  {
    RequestBuilder b{FUSE_GETATTR, kRootId};
    std::vector<char> msg(24, 0);
    uint32_t len = 24, op = FUSE_GETATTR;
    uint64_t unique = 777;
    std::memcpy(msg.data(), &len, 4);
    std::memcpy(msg.data() + 4, &op, 4);
    std::memcpy(msg.data() + 8, &unique, 8);
    EXPECT_EQ(k.SendRaw(msg).error(), EIO);
  }
  // Length field disagreeing with the bytes received -> EIO.
  {
    fuse_in_header h{};
    h.len = 100;
    h.opcode = FUSE_GETATTR;
    h.unique = 778;
    h.nodeid = kRootId;
    std::vector<char> msg(sizeof(h) + sizeof(fuse_getattr_in), 0);
    std::memcpy(msg.data(), &h, sizeof(h));
    EXPECT_EQ(k.SendRaw(msg).error(), EIO);
  }
  // Fixed argument too short -> EINVAL.
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_GETATTR, kRootId}.Bytes("abc")).error(), EINVAL);
  // Unknown opcodes -> ENOSYS.
  EXPECT_EQ(k.Call(RequestBuilder{7, kRootId}).error(), ENOSYS);
  EXPECT_EQ(k.Call(RequestBuilder{9999, kRootId}).error(), ENOSYS);
  // Name without its NUL.
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_LOOKUP, kRootId}.Bytes("abc")).error(), EINVAL);
  // Name containing '/', and the dot names (which could climb out of SOURCE).
  WriteFile(k.source() + "/f", "");
  EXPECT_EQ(k.Lookup(kRootId, "a/b").error(), EINVAL);
  EXPECT_EQ(k.Lookup(kRootId, "..").error(), EINVAL);
  EXPECT_EQ(k.Lookup(kRootId, ".").error(), EINVAL);
  EXPECT_EQ(k.Lookup(kRootId, "").error(), EINVAL);
  EXPECT_EQ(k.MkDir(kRootId, "../escape").error(), EINVAL);
  // Over-long name.
  EXPECT_EQ(k.Lookup(kRootId, std::string(256, 'n')).error(), ENAMETOOLONG);
  EXPECT_EQ(k.Lookup(kRootId, std::string(255, 'n')).error(), ENOENT);
  // A nodeid never issued, and one already forgotten.
  EXPECT_EQ(k.GetAttr(123456789).error(), ESTALE);
  EXPECT_EQ(k.Lookup(987654321, "f").error(), ESTALE);
  const uint64_t f = k.Lookup(kRootId, "f").As<fuse_entry_out>().nodeid;
  k.Forget(f, 1);
  EXPECT_TRUE(Eventually([&] { return k.GetAttr(f).error() == ESTALE; }));
  // An fh never issued.
  const uint64_t f2 = k.Lookup(kRootId, "f").As<fuse_entry_out>().nodeid;
  EXPECT_EQ(k.Read(f2, 424242, 0, 10).error(), EBADF);
  EXPECT_EQ(k.Write(f2, 424242, 0, "x").error(), EBADF);
  EXPECT_EQ(k.ReadDir(FUSE_READDIR, kRootId, 424242, 0, 4096).error(), EBADF);
  // Lookup on a regular file as if it were a directory.
  EXPECT_EQ(k.Lookup(f2, "x").error(), ENOTDIR);
  // WRITE whose payload disagrees with its size field.
  {
    fuse_write_in in{};
    in.size = 10;
    EXPECT_EQ(k.Call(RequestBuilder{FUSE_WRITE, f2}.Arg(in).Bytes("abc")).error(), EINVAL);
  }
  // FORGET of unknown nodes is ignored (no reply, no crash), and the server
  // keeps answering.
  k.Forget(55555555, 3);
  EXPECT_EQ(k.GetAttr(kRootId).error(), 0);
  k.ForgetAll();
  EXPECT_TRUE(Eventually([&] { return k.fs().inode_count() == 1; }));
  EXPECT_TRUE(k.Shutdown().ok());
}

TEST(FakeKernelSession, RequestsBeforeInitAreRefused) {
  FakeKernelOptions o;
  o.init = false;
  FakeKernel k(o);
  EXPECT_EQ(k.GetAttr(kRootId).error(), EIO);
  EXPECT_EQ(k.Init(kKernelVersion, kKernelMinorVersion, 0).error(), 0);
  EXPECT_EQ(k.GetAttr(kRootId).error(), 0);
  // A second INIT is a protocol error.
  EXPECT_EQ(k.Init(kKernelVersion, kKernelMinorVersion, 0).error(), EIO);
}

TEST(FakeKernelSession, InitAcrossMinors) {
  for (uint32_t minor : {31u, 35u, 36u, 38u, 40u, 45u, 60u}) {
    SCOPED_TRACE("minor " + std::to_string(minor));
    FakeKernelOptions o;
    o.init = false;
    FakeKernel k(o);
    KernelReply r = k.Init(kKernelVersion, minor, FUSE_ASYNC_READ | FUSE_MAX_PAGES |
                                                      FUSE_DO_READDIRPLUS | FUSE_PASSTHROUGH);
    ASSERT_EQ(r.error(), 0);
    const auto out = r.As<fuse_init_out>();
    EXPECT_EQ(out.major, kKernelVersion);
    EXPECT_EQ(out.minor, kKernelMinorVersion);
    EXPECT_EQ(out.max_write, 1u << 20);
    EXPECT_EQ(out.max_pages, 256u);
    EXPECT_NE(out.flags & FUSE_DO_READDIRPLUS, 0u);
    // Not wanted by this server configuration: never enabled.
    EXPECT_EQ(out.flags2 & (FUSE_PASSTHROUGH >> 32), 0u);
    EXPECT_EQ(out.flags & FUSE_WRITEBACK_CACHE, 0u);
    EXPECT_EQ(k.session().init().kernel_minor, minor);
    EXPECT_EQ(k.GetAttr(kRootId).error(), 0);
  }
  {
    FakeKernelOptions o;
    o.init = false;
    FakeKernel k(o);
    EXPECT_EQ(k.Init(kKernelVersion, 30, 0).error(), EPROTO);
  }
  {
    // A newer major: the server answers with its own major and waits.
    FakeKernelOptions o;
    o.init = false;
    FakeKernel k(o);
    KernelReply r = k.Init(8, 0, 0);
    EXPECT_EQ(r.error(), 0);
    EXPECT_EQ(r.As<fuse_init_out>().major, kKernelVersion);
    EXPECT_EQ(k.Init(kKernelVersion, kKernelMinorVersion, 0).error(), 0);
  }
}

TEST(FakeKernelSession, SymlinkOutsideSourceIsNeverFollowed) {
  FakeKernel k;
  ASSERT_EQ(::symlink("/etc", (k.source() + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../etc", (k.source() + "/rel").c_str()), 0);
  for (const char* name : {"abs", "rel"}) {
    KernelReply l = k.Lookup(kRootId, name);
    ASSERT_EQ(l.error(), 0);
    const auto e = l.As<fuse_entry_out>();
    EXPECT_TRUE(S_ISLNK(e.attr.mode)) << name << " must be returned as a symlink";
    // Looking up a child "through" it is ENOTDIR: the server never follows it.
    EXPECT_EQ(k.Lookup(e.nodeid, "passwd").error(), ENOTDIR);
    EXPECT_EQ(k.OpenDir(e.nodeid).error(), ENOTDIR);
    KernelReply rl = k.Call(RequestBuilder{FUSE_READLINK, e.nodeid});
    ASSERT_EQ(rl.error(), 0);
    EXPECT_EQ(std::string(rl.payload.begin(), rl.payload.end()),
              std::string(name) == "abs" ? "/etc" : "../../../../etc");
  }
  // Creating over a planted symlink must not create the target outside.
  ASSERT_EQ(::symlink("/tmp/ptfs-must-not-exist", (k.source() + "/trap").c_str()), 0);
  EXPECT_NE(k.Create(kRootId, "trap", O_RDWR | O_CREAT).error(), 0);
  EXPECT_NE(::access("/tmp/ptfs-must-not-exist", F_OK), 0);
  k.ForgetAll();
}

TEST(FakeKernelSession, DirectoryOffsetsStayValid) {
  FakeKernel k;
  constexpr int kFiles = 500;
  for (int i = 0; i < kFiles; ++i) WriteFile(k.source() + "/f" + std::to_string(i), "");
  for (uint32_t op : {FUSE_READDIR, FUSE_READDIRPLUS}) {
    // Small replies force many calls, each continuing from the last offset.
    auto all = ListAll(k, kRootId, op, 512);
    std::multiset<std::string> names;
    for (const auto& e : all) names.insert(e.name);
    EXPECT_EQ(names.size(), static_cast<size_t>(kFiles + 2));
    for (int i = 0; i < kFiles; ++i) EXPECT_EQ(names.count("f" + std::to_string(i)), 1u);
  }
  // Seeking back to a remembered offset (telldir/seekdir) resumes there.
  KernelReply o = k.OpenDir(kRootId);
  const uint64_t fh = o.As<fuse_open_out>().fh;
  auto first = ParseDirents(k.ReadDir(FUSE_READDIR, kRootId, fh, 0, 1024).payload, false);
  ASSERT_GT(first.size(), 3u);
  const uint64_t mark = first[1].off;
  auto rest1 = ParseDirents(k.ReadDir(FUSE_READDIR, kRootId, fh, mark, 1024).payload, false);
  auto rest2 = ParseDirents(k.ReadDir(FUSE_READDIR, kRootId, fh, mark, 1024).payload, false);
  ASSERT_FALSE(rest1.empty());
  EXPECT_EQ(rest1[0].name, first[2].name);
  EXPECT_EQ(rest2[0].name, first[2].name);
  // Concurrent changes: entries created and removed while listing do not
  // make the listing skip or repeat the entries that stay.
  uint64_t off = 0;
  std::multiset<std::string> seen;
  for (int round = 0;; ++round) {
    auto batch = ParseDirents(k.ReadDir(FUSE_READDIR, kRootId, fh, off, 512).payload, false);
    if (batch.empty()) break;
    for (const auto& e : batch) seen.insert(e.name);
    off = batch.back().off;
    WriteFile(k.source() + "/new" + std::to_string(round), "");
    ::unlink((k.source() + "/new" + std::to_string(round - 1)).c_str());
  }
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(seen.count("f" + std::to_string(i)), 1u);
  EXPECT_EQ(k.Release(kRootId, fh, FUSE_RELEASEDIR).error(), 0);
  k.ForgetAll();
  EXPECT_TRUE(Eventually([&] { return k.fs().inode_count() == 1; }));
}

TEST(FakeKernelSession, WorkersUseClonedChannels) {
  FakeKernelOptions o;
  o.threads = 4;
  FakeKernel k(o);
  EXPECT_EQ(k.control().clones.load(), 3);
  // Many requests in a row are all answered, whichever worker takes them.
  for (int i = 0; i < 200; ++i) ASSERT_EQ(k.GetAttr(kRootId).error(), 0);
}

TEST(FakeKernelSession, LargeWriteAndRead) {
  FakeKernel k;
  KernelReply c = k.Create(kRootId, "big", O_RDWR | O_CREAT);
  ASSERT_EQ(c.error(), 0);
  fuse_entry_out e;
  fuse_open_out op;
  std::memcpy(&e, c.payload.data(), sizeof(e));
  std::memcpy(&op, c.payload.data() + sizeof(e), sizeof(op));
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  KernelReply w = k.Write(e.nodeid, op.fh, 0, data);
  ASSERT_EQ(w.error(), 0);
  EXPECT_EQ(w.As<fuse_write_out>().size, data.size());
  KernelReply r = k.Read(e.nodeid, op.fh, 0, 1 << 20);
  ASSERT_EQ(r.error(), 0);
  EXPECT_TRUE(std::string(r.payload.begin(), r.payload.end()) == data);
  EXPECT_EQ(k.Release(e.nodeid, op.fh).error(), 0);
  k.ForgetAll();
}

}  // namespace
}  // namespace ptfs::testing
