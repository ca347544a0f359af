// Parity traces for statfs, extended attributes, ACLs and permission
// checks, as parity_meta_test.cc does for attributes and names: every call
// runs in ROOT/native and in the mount, with equal results required.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <string>

#include "tests/harness/mount_harness.h"


namespace ptfs::mounttest {
namespace {

std::string XattrValue(ssize_t n, const char* buf) {
  return n < 0 ? "<" + ErrnoName(errno) + ">" : std::string(buf, static_cast<size_t>(n));
}

// listxattr output as sorted, space-separated names.
std::string XattrNames(const char* buf, ssize_t n) {
  if (n < 0) return "<" + ErrnoName(errno) + ">";
  std::vector<std::string> names;
  for (ssize_t i = 0; i < n;) {
    std::string name(buf + i);
    names.push_back(name);
    i += static_cast<ssize_t>(name.size()) + 1;
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (auto& s : names) out += s + " ";
  return out;
}

class ParityPermTest : public ParityTest {};

TEST_P(ParityPermTest, StatfsStatvfs) {
  RunParity([](Trace& t) {
    struct statvfs sv {};
    TCALL(t, statvfs(t.P(), &sv));
    // Same filesystem underneath, so sizes and limits are the same; free
    // counts move with other activity and are not compared. f_fsid and
    // f_flag (nosuid,nodev on the mount) differ by design.
    t.Note("f_bsize", static_cast<long long>(sv.f_bsize));
    t.Note("f_frsize", static_cast<long long>(sv.f_frsize));
    t.Note("f_namemax", static_cast<long long>(sv.f_namemax));
    t.Note("f_blocks", static_cast<long long>(sv.f_blocks));
    t.Note("f_files", static_cast<long long>(sv.f_files));
    ASSERT_TRUE(WriteFile(t.P("f"), "x"));
    int fd = TFD(t, open(t.P("f"), O_RDONLY));
    struct statvfs fsv {};
    TCALL(t, fstatvfs(fd, &fsv));
    t.Note("fstatvfs f_blocks", static_cast<long long>(fsv.f_blocks));
    TCALL(t, close(fd));
    struct statfs sf {};
    TCALL(t, statfs(t.P("f"), &sf));
    t.Note("statfs f_bsize", static_cast<long long>(sf.f_bsize));
    t.Note("statfs f_blocks", static_cast<long long>(sf.f_blocks));
    t.Note("statfs f_namelen", static_cast<long long>(sf.f_namelen));
    // f_type is FUSE's magic on the mount by design.
    if (t.on_mount()) {
      EXPECT_EQ(sf.f_type, 0x65735546) << "FUSE_SUPER_MAGIC";
    }
    TCALL(t, statvfs(t.P("missing"), &sv));
  });
}

TEST_P(ParityPermTest, UserXattrs) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "data"));
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, symlink("f", t.P("l")));
    char buf[70000];
    TCALL(t, setxattr(t.P("f"), "user.a", "value1", 6, 0));
    TCALL(t, getxattr(t.P("f"), "user.a", nullptr, 0));  // size probe
    TCALL(t, getxattr(t.P("f"), "user.a", buf, 3));      // ERANGE
    ssize_t n = TCALL(t, getxattr(t.P("f"), "user.a", buf, sizeof buf));
    t.Note("user.a", XattrValue(n, buf));
    TCALL(t, setxattr(t.P("f"), "user.a", "x", 1, XATTR_CREATE));
    TCALL(t, setxattr(t.P("f"), "user.b", "x", 1, XATTR_REPLACE));
    TCALL(t, setxattr(t.P("f"), "user.b", "", 0, XATTR_CREATE));
    TCALL(t, getxattr(t.P("f"), "user.b", buf, sizeof buf));
    TCALL(t, setxattr(t.P("f"), "user.a", "a longer value", 14, XATTR_REPLACE));
    n = TCALL(t, getxattr(t.P("f"), "user.a", buf, sizeof buf));
    t.Note("user.a replaced", XattrValue(n, buf));
    const std::string big = PatternData(4000, 7);
    TCALL(t, setxattr(t.P("f"), "user.big", big.data(), big.size(), 0));
    n = TCALL(t, getxattr(t.P("f"), "user.big", buf, sizeof buf));
    t.Note("user.big intact", n == 4000 && std::string(buf, n) == big);
    const std::string huge(65536, 'h');
    TCALL(t, setxattr(t.P("f"), "user.huge", huge.data(), huge.size(), 0));
    TCALL(t, setxattr(t.P("f"), "user.toohuge", huge.data(), huge.size() + 1, 0));
    TCALL(t, setxattr(t.P("f"), ("user." + std::string(251, 'n')).c_str(), "v", 1, 0));
    TCALL(t, setxattr(t.P("f"), "unknownns.a", "v", 1, 0));
    TCALL(t, setxattr(t.P("f"), "trusted.t", "tv", 2, 0));  // root only
    n = TCALL(t, getxattr(t.P("f"), "trusted.t", buf, sizeof buf));
    t.Note("trusted.t", XattrValue(n, buf));
    n = TCALL(t, listxattr(t.P("f"), nullptr, 0));
    TCALL(t, listxattr(t.P("f"), buf, 1));  // ERANGE
    n = TCALL(t, listxattr(t.P("f"), buf, sizeof buf));
    t.Note("names", XattrNames(buf, n));
    n = TCALL(t, getxattr(t.B("f"), "user.a", buf, sizeof buf));
    t.Note("backing user.a", XattrValue(n, buf));
    TCALL(t, removexattr(t.P("f"), "user.a"));
    TCALL(t, removexattr(t.P("f"), "user.a"));
    TCALL(t, getxattr(t.P("f"), "user.a", buf, sizeof buf));
    TCALL(t, getxattr(t.P("f"), "user.never", buf, sizeof buf));
    n = TCALL(t, listxattr(t.P("f"), buf, sizeof buf));
    t.Note("names after remove", XattrNames(buf, n));
    // Directories; symlinks (user.* is not allowed on them); fds.
    TCALL(t, setxattr(t.P("d"), "user.dir", "dv", 2, 0));
    n = TCALL(t, getxattr(t.P("d"), "user.dir", buf, sizeof buf));
    t.Note("d user.dir", XattrValue(n, buf));
    TCALL(t, lsetxattr(t.P("l"), "user.a", "v", 1, 0));
    TCALL(t, lgetxattr(t.P("l"), "user.a", buf, sizeof buf));
    n = TCALL(t, llistxattr(t.P("l"), buf, sizeof buf));
    t.Note("l names", XattrNames(buf, n));
    TCALL(t, lsetxattr(t.P("l"), "trusted.link", "lv", 2, 0));
    n = TCALL(t, lgetxattr(t.P("l"), "trusted.link", buf, sizeof buf));
    t.Note("l trusted.link", XattrValue(n, buf));
    TCALL(t, getxattr(t.P("f"), "trusted.link", buf, sizeof buf));  // not on the target
    n = TCALL(t, getxattr(t.P("l"), "user.b", buf, sizeof buf));    // follows to f
    int fd = TFD(t, open(t.P("f"), O_RDONLY));
    TCALL(t, fsetxattr(fd, "user.fd", "fdv", 3, 0));
    n = TCALL(t, fgetxattr(fd, "user.fd", buf, sizeof buf));
    t.Note("user.fd", XattrValue(n, buf));
    n = TCALL(t, flistxattr(fd, buf, sizeof buf));
    t.Note("f names via fd", XattrNames(buf, n));
    TCALL(t, fremovexattr(fd, "user.fd"));
    TCALL(t, close(fd));
    TCALL(t, getxattr(t.P("missing"), "user.a", buf, sizeof buf));
  });
}

TEST_P(ParityPermTest, PosixAcls) {
  RunParity([](Trace& t) {
    const std::string f = t.P("f"), d = t.P("d");
    ASSERT_TRUE(WriteFile(f, "data", 0640));
    TCALL(t, chmod(f.c_str(), 0640));
    TCALL(t, mkdir(d.c_str(), 0755));
    t.Note("setfacl -m u:1234:rw,g:5678:r f",
           RunCommand("setfacl -m u:1234:rw,g:5678:r " + f + " 2>&1"));
    t.Stat("f with acl (group bits = mask)", f.c_str());
    t.Note("getfacl f", RunCommand("getfacl -c -n " + f + " 2>&1"));
    char buf[1024];
    ssize_t n = TCALL(t, getxattr(f.c_str(), "system.posix_acl_access", buf, sizeof buf));
    t.Data("system.posix_acl_access", std::string(buf, n > 0 ? n : 0));
    n = TCALL(t, getxattr(t.B("f"), "system.posix_acl_access", buf, sizeof buf));
    t.Data("backing system.posix_acl_access", std::string(buf, n > 0 ? n : 0));
    n = TCALL(t, listxattr(f.c_str(), buf, sizeof buf));
    t.Note("names", XattrNames(buf, n));
    // The kernel enforces the ACL: uid 1234 may write, uid 1235 may not.
    auto probe = [&](uid_t uid, gid_t gid) {
      return RunAs(uid, gid, [&] {
        std::string r;
        int fd = open(f.c_str(), O_RDWR);
        r += fd >= 0 ? "rw-open " : "rw:" + ErrnoName(errno) + " ";
        if (fd >= 0) close(fd);
        fd = open(f.c_str(), O_RDONLY);
        r += fd >= 0 ? "ro-open " : "ro:" + ErrnoName(errno) + " ";
        if (fd >= 0) close(fd);
        return r;
      });
    };
    t.Note("uid 1234 (named user rw)", probe(1234, 1234));
    t.Note("uid 1235 gid 5678 (named group r)", probe(1235, 5678));
    t.Note("uid 1235 (other: none)", probe(1235, 1235));
    // chmod rewrites the mask.
    TCALL(t, chmod(f.c_str(), 0600));
    t.Note("getfacl after chmod 0600", RunCommand("getfacl -c -n " + f + " 2>&1"));
    t.Note("uid 1234 after chmod 0600", probe(1234, 1234));
    // Default ACLs are inherited by new files and directories.
    t.Note("setfacl -d -m u:1234:rwx d",
           RunCommand("setfacl -d -m u:1234:rwx,m::rwx " + d + " 2>&1"));
    t.Note("getfacl d", RunCommand("getfacl -c -n " + d + " 2>&1"));
    int fd = TFD(t, open(t.P("d/new"), O_CREAT | O_WRONLY, 0666));
    TCALL(t, close(fd));
    TCALL(t, mkdir(t.P("d/sub"), 0777));
    t.Stat("d/new", t.P("d/new"));
    t.Stat("d/sub", t.P("d/sub"));
    t.Note("getfacl d/new", RunCommand("getfacl -c -n " + std::string(t.P("d/new")) + " 2>&1"));
    t.Note("getfacl d/sub", RunCommand("getfacl -c -n " + std::string(t.P("d/sub")) + " 2>&1"));
    // Removing; an invalid ACL blob.
    t.Note("setfacl -b f", RunCommand("setfacl -b " + f + " 2>&1"));
    TCALL(t, getxattr(f.c_str(), "system.posix_acl_access", buf, sizeof buf));
    t.Stat("f after setfacl -b", f.c_str());
    TCALL(t, setxattr(f.c_str(), "system.posix_acl_access", "garbage", 7, 0));
    TCALL(t, removexattr(d.c_str(), "system.posix_acl_default"));
    TCALL(t, getxattr(d.c_str(), "system.posix_acl_default", buf, sizeof buf));
  });
}

TEST_P(ParityPermTest, AccessFaccessat) {
  RunParity([](Trace& t) {
    struct {
      const char* name;
      mode_t mode;
    } files[] = {{"m0000", 0},    {"m0444", 0444}, {"m0644", 0644}, {"m0755", 0755},
                 {"m0711", 0711}, {"m0602", 0602}, {"m0070", 0070}};
    for (auto& f : files) {
      ASSERT_TRUE(WriteFile(t.P(f.name), "x"));
      TCALL(t, chmod(t.P(f.name), f.mode));
    }
    TCALL(t, chown(t.P("m0070"), 0, 1000));
    TCALL(t, mkdir(t.P("closed"), 0700));
    ASSERT_TRUE(WriteFile(t.P("closed/inner"), "x"));
    TCALL(t, mkdir(t.P("searchonly"), 0711));
    ASSERT_TRUE(WriteFile(t.P("searchonly/inner"), "x"));
    TCALL(t, symlink("m0000", t.P("link")));
    // As root: everything but execute without any x bit.
    for (auto& f : files) {
      for (int mode : {F_OK, R_OK, W_OK, X_OK, R_OK | W_OK | X_OK}) {
        const int rc = access(t.P(f.name), mode);
        const int e = errno;
        t.CallE(std::string("root access ") + f.name + " " + std::to_string(mode), rc, e);
      }
    }
    TCALL(t, access(t.P("missing"), F_OK));
    TCALL(t, access(t.P("closed"), X_OK));
    TCALL(t, faccessat(AT_FDCWD, t.P("m0644"), X_OK, AT_EACCESS));
    TCALL(t, faccessat(AT_FDCWD, t.P("link"), R_OK, AT_SYMLINK_NOFOLLOW));
    // As uid 1000 (gid 1000) and as nobody.
    auto probe = [&](uid_t uid, gid_t gid) {
      return RunAs(uid, gid, [&] {
        std::string r;
        for (auto& f : files) {
          r += f.name;
          for (int mode : {R_OK, W_OK, X_OK}) {
            r += access(t.P(f.name), mode) == 0 ? " ok" : " " + ErrnoName(errno);
          }
          r += "; ";
        }
        for (const char* p : {"closed/inner", "searchonly/inner", "searchonly", "closed"}) {
          r += p;
          r += access(t.P(p), R_OK) == 0 ? " ok; " : " " + ErrnoName(errno) + "; ";
        }
        int fd = open(t.P("m0602"), O_WRONLY);
        r += fd >= 0 ? "m0602 write-open ok; " : "m0602 write-open " + ErrnoName(errno) + "; ";
        if (fd >= 0) close(fd);
        fd = open(t.P("m0644"), O_WRONLY);
        r += fd >= 0 ? "m0644 write-open ok; " : "m0644 write-open " + ErrnoName(errno) + "; ";
        if (fd >= 0) close(fd);
        r += mkdir(t.P("newdir"), 0755) == 0 ? "mkdir ok; " : "mkdir " + ErrnoName(errno) + "; ";
        r += unlink(t.P("m0644")) == 0 ? "unlink ok; " : "unlink " + ErrnoName(errno) + "; ";
        r += chmod(t.P("m0644"), 0777) == 0 ? "chmod ok; " : "chmod " + ErrnoName(errno) + "; ";
        r += truncate(t.P("m0602"), 0) == 0 ? "truncate ok; " : "truncate " + ErrnoName(errno);
        return r;
      });
    };
    t.Note("uid 1000", probe(1000, 1000));
    t.Note("nobody", probe(65534, 65534));
    t.Stat("m0602 after", t.P("m0602"));
  });
}

// Files made by a non-root caller in a world-writable directory belong to
// the caller, who can reopen and chmod them (docs/decisions.md, "Every
// operation runs as the caller"; more in sharing_test.cc).
TEST_P(ParityPermTest, FilesCreatedByAnotherUserBelongToThem) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("shared"), 0777));
    TCALL(t, chmod(t.P("shared"), 01777));
    t.Note(
        "as uid 1000", RunAs(1000, 1000, [&] {
          std::string r;
          int fd = open(t.P("shared/file"), O_CREAT | O_WRONLY, 0644);
          r += fd >= 0 ? "create ok; " : "create " + ErrnoName(errno) + "; ";
          if (fd >= 0) close(fd);
          fd = open(t.P("shared/file"), O_WRONLY);
          r += fd >= 0 ? "reopen for writing ok; " : "reopen " + ErrnoName(errno) + "; ";
          if (fd >= 0) close(fd);
          r += mkdir(t.P("shared/dir"), 0755) == 0 ? "mkdir ok; " : "mkdir failed; ";
          r += symlink("file", t.P("shared/link")) == 0 ? "symlink ok; " : "symlink failed; ";
          r += mknod(t.P("shared/fifo"), S_IFIFO | 0644, 0) == 0 ? "mknod ok; " : "mknod failed; ";
          r += chmod(t.P("shared/file"), 0600) == 0 ? "chmod own ok" : "chmod " + ErrnoName(errno);
          return r;
        }));
    for (const char* name : {"shared/file", "shared/dir", "shared/link", "shared/fifo"}) {
      t.Stat(name, t.P(name));
    }
  });
}

// Root reads and lists through mode 0 (CAP_DAC_OVERRIDE), as natively.
TEST_P(ParityPermTest, RootBypassesModeBits) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "secret"));
    TCALL(t, chmod(t.P("f"), 0));
    TCALL(t, mkdir(t.P("d"), 0));
    t.Content("read mode-0 file", t.P("f"));
    ASSERT_TRUE(WriteFile(t.P("d/inner"), "x"));
    t.Listing("list mode-0 dir", t.P("d"));
  });
}

INSTANTIATE_TEST_SUITE_P(Mount, ParityPermTest, testing::ValuesIn(ParityVariants()), VariantName);

}  // namespace
}  // namespace ptfs::mounttest

namespace ptfs::mounttest {
namespace {

// Mounted with nodefault_permissions: the kernel then asks the server
// (FUSE_ACCESS) instead of checking mode bits itself. Here root's answers;
// other users' (the server checks as the caller) are compared in
// sharing_test.cc, whose "nodefault" variant runs every scenario this way
// (docs/decisions.md, "Every operation runs as the caller").
class NoDefaultPermissionsTest : public ParityTest {};

TEST_P(NoDefaultPermissionsTest, AccessAsRootGoesToTheServer) {
  RunParity([](Trace& t) {
    for (mode_t mode : {0000, 0444, 0644, 0755, 0100, 0001}) {
      const std::string name = "m" + std::to_string(mode);
      ASSERT_TRUE(WriteFile(t.P(name), "x"));
      TCALL(t, chmod(t.P(name), mode));
      for (int how : {F_OK, R_OK, W_OK, X_OK}) {
        const int rc = access(t.P(name), how);
        const int e = errno;
        t.CallE("access " + name + " " + std::to_string(how), rc, e);
      }
    }
    TCALL(t, mkdir(t.P("d"), 0));
    TCALL(t, access(t.P("d"), X_OK));
    TCALL(t, access(t.P("missing"), F_OK));
    TCALL(t, faccessat(AT_FDCWD, t.P("m420"), X_OK, AT_EACCESS));
  });
}

INSTANTIATE_TEST_SUITE_P(Mount, NoDefaultPermissionsTest,
                         testing::ValuesIn(Variants({"nodefault"})), VariantName);

}  // namespace
}  // namespace ptfs::mounttest
