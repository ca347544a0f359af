// "Safe to share" at the protocol level: requests carrying another user's
// credentials, names that try to climb out of SOURCE, symlinks planted in
// SOURCE that point outside, a directory renamed out of SOURCE, and nodeids
// already forgotten. A canary directory outside SOURCE must come out of
// every test exactly as it went in (listing, modes, owners, sizes, mtime and
// ctime to the nanosecond, contents, xattrs).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "sys/credentials.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

void WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  { std::ofstream(path) << data; }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Everything about a directory tree one level deep that a change would move.
std::string Snapshot(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) names.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  std::ostringstream o;
  for (const auto& n : names) {
    const std::string p = n == "." ? dir : dir + "/" + n;
    if (n == "..") continue;
    struct stat st;
    if (::lstat(p.c_str(), &st) < 0) {
      o << n << ": gone\n";
      continue;
    }
    o << n << ": mode=" << std::oct << st.st_mode << std::dec << " uid=" << st.st_uid
      << " gid=" << st.st_gid << " size=" << st.st_size << " nlink=" << st.st_nlink
      << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec
      << " ctime=" << st.st_ctim.tv_sec << "." << st.st_ctim.tv_nsec;
    if (S_ISREG(st.st_mode)) o << " data=" << ReadFile(p);
    char list[1024];
    ssize_t len = ::llistxattr(p.c_str(), list, sizeof list);
    o << " xattrs=" << (len > 0 ? std::string(list, static_cast<size_t>(len)) : "") << "\n";
  }
  return o.str();
}

class Canary {
 public:
  Canary() {
    char tmpl[] = "/tmp/ptfs-canary-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ::chmod(dir_.c_str(), 0777);
    WriteFile(dir_ + "/canary", "do not touch\n", 0666);
    ::setxattr((dir_ + "/canary").c_str(), "user.canary", "1", 1, 0);
    ::mkdir((dir_ + "/sub").c_str(), 0777);
    ::chmod((dir_ + "/sub").c_str(), 0777);
    before_ = Snapshot(dir_) + Snapshot(dir_ + "/sub");
  }
  ~Canary() {
    ::unlink((dir_ + "/canary").c_str());
    ::rmdir((dir_ + "/sub").c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& dir() const { return dir_; }
  std::string basename() const { return dir_.substr(dir_.rfind('/') + 1); }
  // Empty when untouched, else both snapshots.
  std::string Changes() const {
    const std::string now = Snapshot(dir_) + Snapshot(dir_ + "/sub");
    return now == before_ ? "" : "before:\n" + before_ + "after:\n" + now;
  }

 private:
  std::string dir_;
  std::string before_;
};

uint64_t NodeOf(FakeKernel& k, uint64_t parent, const std::string& name) {
  KernelReply r = k.Lookup(parent, name);
  EXPECT_EQ(r.error(), 0) << name;
  return r.As<fuse_entry_out>().nodeid;
}

// Every request that names something, aimed at (or through) `parent` with
// `name`. Returns the errors, one per line.
std::string TryEverything(FakeKernel& k, uint64_t parent, const std::string& name,
                          uint64_t a_file) {
  std::ostringstream o;
  auto rec = [&](const char* what, const KernelReply& r) {
    o << what << "=" << r.error() << " ";
  };
  rec("lookup", k.Lookup(parent, name));
  rec("mkdir", k.MkDir(parent, name));
  rec("create", k.Create(parent, name, O_RDWR | O_CREAT | O_TRUNC));
  rec("mknod", k.Call(RequestBuilder{FUSE_MKNOD, parent}
                          .Arg(fuse_mknod_in{S_IFREG | 0644, 0, 0, 0})
                          .Name(name)));
  rec("symlink",
      k.Call(RequestBuilder{FUSE_SYMLINK, parent}.Name(name).Name("/etc/passwd")));
  rec("unlink", k.Call(RequestBuilder{FUSE_UNLINK, parent}.Name(name)));
  rec("rmdir", k.Call(RequestBuilder{FUSE_RMDIR, parent}.Name(name)));
  rec("rename-from", k.Call(RequestBuilder{FUSE_RENAME, parent}
                                .Arg(fuse_rename_in{kRootId})
                                .Name(name)
                                .Name("stolen")));
  rec("rename-to", k.Call(RequestBuilder{FUSE_RENAME2, kRootId}
                              .Arg(fuse_rename2_in{parent, 0, 0})
                              .Name("victim")
                              .Name(name)));
  rec("exchange", k.Call(RequestBuilder{FUSE_RENAME2, kRootId}
                             .Arg(fuse_rename2_in{parent, RENAME_EXCHANGE, 0})
                             .Name("victim")
                             .Name(name)));
  rec("link", k.Call(RequestBuilder{FUSE_LINK, parent}.Arg(fuse_link_in{a_file}).Name(name)));
  return o.str();
}

// Requests on a node itself (not by name).
std::string TryOnNode(FakeKernel& k, uint64_t node) {
  std::ostringstream o;
  auto rec = [&](const char* what, const KernelReply& r) {
    o << what << "=" << r.error() << " ";
    return r;
  };
  fuse_setattr_in sa{};
  sa.valid = FATTR_MODE;
  sa.mode = 0777;
  rec("chmod", k.Call(RequestBuilder{FUSE_SETATTR, node}.Arg(sa)));
  sa.valid = FATTR_SIZE;
  sa.size = 0;
  rec("truncate", k.Call(RequestBuilder{FUSE_SETATTR, node}.Arg(sa)));
  sa.valid = FATTR_UID | FATTR_GID;
  sa.uid = 4242;
  sa.gid = 4242;
  rec("chown", k.Call(RequestBuilder{FUSE_SETATTR, node}.Arg(sa)));
  sa.valid = FATTR_ATIME | FATTR_MTIME;
  sa.atime = sa.mtime = 12345;
  rec("utimes", k.Call(RequestBuilder{FUSE_SETATTR, node}.Arg(sa)));
  rec("setxattr", k.Call(RequestBuilder{FUSE_SETXATTR, node}
                             .Arg(fuse_setxattr_in{1, 0, 0, 0})
                             .Name("user.canary")
                             .Bytes("X")));
  rec("removexattr", k.Call(RequestBuilder{FUSE_REMOVEXATTR, node}.Name("user.canary")));
  KernelReply op = rec("open", k.Open(node, O_RDWR | O_TRUNC));
  if (op.error() == 0) k.Release(node, op.As<fuse_open_out>().fh);
  KernelReply od = rec("opendir", k.OpenDir(node));
  if (od.error() == 0) k.Release(node, od.As<fuse_open_out>().fh, FUSE_RELEASEDIR);
  return o.str();
}

TEST(FakeKernelConfinement, SymlinksOutOfSourceAreNeverFollowed) {
  Canary canary;
  FakeKernel k;
  WriteFile(k.source() + "/victim", "v", 0644);
  WriteFile(k.source() + "/file", "f", 0644);
  const std::map<std::string, std::string> links = {
      {"to_root", "/"},
      {"to_canary_dir", canary.dir()},
      {"to_canary", canary.dir() + "/canary"},
      {"up", "../" + canary.basename()},
      {"up_etc", "../../etc"},
  };
  for (const auto& [name, target] : links) {
    ASSERT_EQ(::symlink(target.c_str(), (k.source() + "/" + name).c_str()), 0);
  }
  const uint64_t file = NodeOf(k, kRootId, "file");
  for (const auto& [name, target] : links) {
    SCOPED_TRACE(name + " -> " + target);
    KernelReply l = k.Lookup(kRootId, name);
    ASSERT_EQ(l.error(), 0);
    EXPECT_TRUE(S_ISLNK(l.As<fuse_entry_out>().attr.mode)) << "returned as a symlink";
    const uint64_t node = l.As<fuse_entry_out>().nodeid;
    // Through it, as if it were a directory: nothing may be reached.
    for (const char* child : {"canary", "sub", "passwd", "x"}) {
      const std::string r = TryEverything(k, node, child, file);
      EXPECT_EQ(r.find("=0 "), std::string::npos) << child << ": " << r;
    }
    // On it: whatever the host says for a symlink, the target stays as it was.
    TryOnNode(k, node);
    // Created over it (O_CREAT without O_EXCL) must not create or open the target.
    EXPECT_NE(k.Create(kRootId, name, O_RDWR | O_CREAT).error(), 0);
  }
  EXPECT_EQ(canary.Changes(), "");
  k.ForgetAll();
}

TEST(FakeKernelConfinement, NamesThatClimbAreRefusedByEveryOpcode) {
  Canary canary;
  FakeKernel k;
  WriteFile(k.source() + "/victim", "v", 0644);
  WriteFile(k.source() + "/file", "f", 0644);
  ASSERT_EQ(::mkdir((k.source() + "/d").c_str(), 0755), 0);
  const uint64_t file = NodeOf(k, kRootId, "file");
  const uint64_t d = NodeOf(k, kRootId, "d");
  const std::string up = "../" + canary.basename();
  for (uint64_t parent : {kRootId, d}) {
    for (const std::string& name :
         {std::string(".."), std::string("."), std::string(""), up, up + "/canary",
          std::string("../../../../../../etc"), std::string("sub/x"), std::string("/abs"),
          std::string(256, 'n')}) {
      SCOPED_TRACE("parent " + std::to_string(parent) + " name '" + name + "'");
      const std::string r = TryEverything(k, parent, name, file);
      const int expected = name.size() > 255 ? ENAMETOOLONG : EINVAL;
      const std::string one = "=" + std::to_string(expected) + " ";
      size_t count = 0;
      for (size_t pos = 0; (pos = r.find(one, pos)) != std::string::npos; pos += one.size()) ++count;
      EXPECT_EQ(count, 11u) << r;
    }
  }
  // An embedded NUL: the bytes after the name's NUL must not be ignored.
  using namespace std::string_literals;
  const std::string embedded = "victim\0/../"s + canary.basename() + "\0"s;
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_LOOKUP, kRootId}.Bytes(embedded)).error(), EINVAL);
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_UNLINK, kRootId}.Bytes(embedded)).error(), EINVAL);
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_MKDIR, kRootId}.Arg(fuse_mkdir_in{0755, 0}).Bytes(embedded))
                .error(),
            EINVAL);
  EXPECT_EQ(k.Call(RequestBuilder{FUSE_RENAME, kRootId}
                       .Arg(fuse_rename_in{kRootId})
                       .Name("victim")
                       .Bytes(embedded))
                .error(),
            EINVAL);
  EXPECT_EQ(ReadFile(k.source() + "/victim"), "v");
  EXPECT_EQ(canary.Changes(), "");
  k.ForgetAll();
}

// A directory the kernel holds is moved out of SOURCE and a symlink to the
// canary planted in its place. Nothing can climb from the held nodeid, no
// name inside the moved directory resolves any more (Confinement: it is
// outside SOURCE), and a fresh lookup of the name finds the symlink, not the
// canary.
TEST(FakeKernelConfinement, DirectoryRenamedOutOfSource) {
  Canary canary;
  char tmpl[] = "/tmp/ptfs-parking-XXXXXX";
  const std::string parking = ::mkdtemp(tmpl);
  const std::string parked = parking + "/parked";
  FakeKernel k;
  ASSERT_EQ(::mkdir((k.source() + "/d").c_str(), 0755), 0);
  WriteFile(k.source() + "/d/inside", "i", 0644);
  WriteFile(k.source() + "/victim", "v", 0644);
  const uint64_t file = NodeOf(k, kRootId, "victim");
  const uint64_t d = NodeOf(k, kRootId, "d");
  const std::string before = canary.Changes();
  ASSERT_EQ(before, "");
  // Out, and a symlink in its place.
  ASSERT_EQ(::rename((k.source() + "/d").c_str(), parked.c_str()), 0);
  ASSERT_EQ(::symlink(canary.dir().c_str(), (k.source() + "/d").c_str()), 0);
  for (const std::string& name : {std::string(".."), std::string("../canary"),
                                  std::string("../../canary")}) {
    const std::string r = TryEverything(k, d, name, file);
    EXPECT_EQ(r.find("=0 "), std::string::npos) << name << ": " << r;
  }
  KernelReply fresh = k.Lookup(kRootId, "d");
  ASSERT_EQ(fresh.error(), 0);
  EXPECT_TRUE(S_ISLNK(fresh.As<fuse_entry_out>().attr.mode));
  const uint64_t link = fresh.As<fuse_entry_out>().nodeid;
  const std::string r = TryEverything(k, link, "canary", file);
  EXPECT_EQ(r.find("=0 "), std::string::npos) << r;
  // The held nodeid still names the moved directory (GETATTR answers), but
  // names inside it are outside SOURCE now.
  EXPECT_EQ(k.GetAttr(d).error(), 0);
  EXPECT_EQ(k.Lookup(d, "inside").error(), ENOENT);
  // Back in, the symlink gone.
  ASSERT_EQ(::unlink((k.source() + "/d").c_str()), 0);
  ASSERT_EQ(::rename(parked.c_str(), (k.source() + "/d").c_str()), 0);
  ::rmdir(parking.c_str());
  EXPECT_EQ(canary.Changes(), "");
  k.ForgetAll();
}

TEST(FakeKernelConfinement, ForgottenNodeidsAreStaleForEveryOp) {
  Canary canary;
  FakeKernel k;
  ASSERT_EQ(::symlink(canary.dir().c_str(), (k.source() + "/to_canary_dir").c_str()), 0);
  ASSERT_EQ(::mkdir((k.source() + "/d").c_str(), 0755), 0);
  WriteFile(k.source() + "/file", "f", 0644);
  WriteFile(k.source() + "/victim", "v", 0644);
  const uint64_t file = NodeOf(k, kRootId, "file");
  const uint64_t link = NodeOf(k, kRootId, "to_canary_dir");
  const uint64_t d = NodeOf(k, kRootId, "d");
  k.Forget(link, 1);
  k.Forget(d, 1);
  ASSERT_TRUE(Eventually([&] { return k.GetAttr(d).error() == ESTALE; }));
  ASSERT_TRUE(Eventually([&] { return k.GetAttr(link).error() == ESTALE; }));
  for (uint64_t node : {d, link, uint64_t{0x7fffffff12345678}}) {
    const std::string by_name = TryEverything(k, node, "canary", file);
    const std::string on_node = TryOnNode(k, node);
    const std::string stale = "=" + std::to_string(ESTALE) + " ";
    size_t count = 0;
    for (const std::string& r : {by_name, on_node}) {
      for (size_t pos = 0; (pos = r.find(stale, pos)) != std::string::npos; pos += stale.size()) {
        ++count;
      }
    }
    // rename-to and exchange name the root as the source directory but
    // `node` as the target one: ESTALE as well. 11 by name + 8 on the node.
    EXPECT_EQ(count, 19u) << by_name << "\n" << on_node;
  }
  EXPECT_EQ(canary.Changes(), "");
  k.ForgetAll();
}

// /proc/TID/status parsing for the supplementary-group fallback.
TEST(FakeKernelSharing, StatusGroupsAreUsedOnlyForTheRequestsIds) {
  const std::string status =
      "Name:\tcat\nUmask:\t0022\nUid:\t1000\t1000\t1000\t1000\n"
      "Gid:\t1000\t1000\t1000\t1001\nFDSize:\t64\nGroups:\t1000 2000 3000 \nNStgid:\t5\n";
  auto g = sys::ParseStatusGroups(status, 1000, 1001);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, (std::vector<uint32_t>{1000, 2000, 3000}));
  // The fs ids must match the request's: a reused pid lends nothing.
  EXPECT_EQ(sys::ParseStatusGroups(status, 1000, 1000).error(), Errno(ESRCH));
  EXPECT_EQ(sys::ParseStatusGroups(status, 0, 1001).error(), Errno(ESRCH));
  EXPECT_EQ(sys::ParseStatusGroups("Uid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\n", 1, 1).error(),
            Errno(ESRCH));  // no Groups: line
  auto none = sys::ParseStatusGroups("Uid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\nGroups:\t\n", 1, 2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // This thread, for real.
  auto self = sys::ThreadGroups(static_cast<uint32_t>(::gettid()), ::getuid(), ::getgid());
  EXPECT_TRUE(self.ok());
  EXPECT_EQ(sys::ThreadGroups(0, 0, 0).error(), Errno(ESRCH));
}

// Requests carrying another user's ids. The daemon must run the host call as
// that user, so nothing is opened (and no passthrough backing, which the
// kernel would open with the daemon's credentials, is handed out) that the
// user could not open natively -- with and without default_permissions.
class FakeKernelAsUser : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!sys::FsCredentials::Supported()) {
      GTEST_SKIP() << "acting as another user needs root (CI runs this tier as root)";
    }
  }
  FakeKernelOptions Options() const {
    FakeKernelOptions o;
    o.passthrough = true;
    o.fs.default_permissions = GetParam();
    return o;
  }
  static RequestBuilder As(RequestBuilder b, uint32_t uid, uint32_t pid = 0) {
    b.uid = uid;
    b.gid = uid;
    b.pid = pid;
    return b;
  }
};

TEST_P(FakeKernelAsUser, OpenIsCheckedBeforeAnyBacking) {
  FakeKernel k(Options());
  ASSERT_TRUE(k.fs().passthrough_enabled());
  ASSERT_EQ(::chmod(k.source().c_str(), 0755), 0);
  WriteFile(k.source() + "/secret", "root only", 0600);
  WriteFile(k.source() + "/public", "public", 0644);
  const uint64_t secret = NodeOf(k, kRootId, "secret");
  const uint64_t pub = NodeOf(k, kRootId, "public");
  for (uint32_t flags : {O_RDONLY, O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC}) {
    KernelReply r = k.Call(As(RequestBuilder{FUSE_OPEN, secret}.Arg(fuse_open_in{flags, 0}), 1000));
    EXPECT_EQ(r.error(), EACCES) << "flags " << flags;
  }
  EXPECT_EQ(k.control().backing_opens, 0) << "no backing may exist for a refused open";
  EXPECT_EQ(ReadFile(k.source() + "/secret"), "root only");
  // pid 1 is init, running as root: its groups must not be lent to uid 1000.
  KernelReply viapid1 =
      k.Call(As(RequestBuilder{FUSE_OPEN, secret}.Arg(fuse_open_in{O_RDONLY, 0}), 1000, 1));
  EXPECT_EQ(viapid1.error(), EACCES);
  EXPECT_EQ(k.Call(As(RequestBuilder{FUSE_ACCESS, secret}.Arg(fuse_access_in{R_OK, 0}), 1000))
                .error(),
            EACCES);
  KernelReply ok = k.Call(As(RequestBuilder{FUSE_OPEN, pub}.Arg(fuse_open_in{O_RDONLY, 0}), 1000));
  ASSERT_EQ(ok.error(), 0);
  EXPECT_NE(ok.As<fuse_open_out>().open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_EQ(k.Call(As(RequestBuilder{FUSE_OPEN, pub}.Arg(fuse_open_in{O_WRONLY, 0}), 1000))
                .error(),
            EACCES);
  EXPECT_EQ(k.Release(pub, ok.As<fuse_open_out>().fh).error(), 0);
  // Root's own requests still open everything.
  KernelReply root = k.Open(secret, O_RDWR);
  ASSERT_EQ(root.error(), 0);
  EXPECT_EQ(k.Release(secret, root.As<fuse_open_out>().fh).error(), 0);
  k.ForgetAll();
}

TEST_P(FakeKernelAsUser, SearchPermissionWithoutDefaultPermissions) {
  FakeKernel k(Options());
  ASSERT_EQ(::chmod(k.source().c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((k.source() + "/private").c_str(), 0700), 0);
  WriteFile(k.source() + "/private/inner", "x", 0644);
  ASSERT_EQ(::setxattr((k.source() + "/private").c_str(), "user.k", "v", 1, 0), 0);
  const uint64_t priv = NodeOf(k, kRootId, "private");
  KernelReply l = k.Call(As(RequestBuilder{FUSE_LOOKUP, priv}.Name("inner"), 1000));
  KernelReply x = k.Call(As(RequestBuilder{FUSE_GETXATTR, priv}
                                .Arg(fuse_getxattr_in{64, 0})
                                .Name("user.k"),
                            1000));
  KernelReply od =
      k.Call(As(RequestBuilder{FUSE_OPENDIR, priv}.Arg(fuse_open_in{O_RDONLY, 0}), 1000));
  EXPECT_EQ(od.error(), EACCES) << "opening runs as the caller either way";
  if (GetParam()) {
    // default_permissions: the kernel checked before sending; the daemon
    // does not repeat the search/read checks.
    EXPECT_EQ(l.error(), 0);
    EXPECT_EQ(x.error(), 0);
  } else {
    EXPECT_EQ(l.error(), EACCES);
    EXPECT_EQ(x.error(), EACCES);
  }
  k.ForgetAll();
}

INSTANTIATE_TEST_SUITE_P(DefaultPermissions, FakeKernelAsUser, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("on") : std::string("off");
                         });

}  // namespace
}  // namespace ptfs::testing
