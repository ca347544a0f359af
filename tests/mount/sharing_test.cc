// "Safe to share": an allow_other mount used by several users at once must
// answer each of them as SOURCE itself would. Every scenario below runs as
// root in ROOT/native and on the mount, with the interesting calls made by
// other users (forked children with setresuid/setgroups), and the two traces
// are compared step by step.
//
// Actors: the owner (uid 1000, groups 1000 and 2000), a member of the files'
// group (uid 1001, groups 1001 and 2000), and another user (uid 1002). Group
// 2000 is always a *supplementary* group, which the kernel does not send with
// non-creating requests: the daemon must find it itself (docs/decisions.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

struct Actor {
  const char* name;
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};
const Actor kOwner{"owner", 1000, 1000, {1000, 2000}};
const Actor kMember{"member", 1001, 1001, {1001, 2000}};
const Actor kOther{"other", 1002, 1002, {1002}};
const Actor* const kActors[] = {&kOwner, &kMember, &kOther};

// Runs `body` as `a`; the string it builds is the step's result.
std::string As(const Actor& a, const std::function<void(std::string&)>& body) {
  return RunAsWithGroups(a.uid, a.gid, a.groups, [&] {
    std::string r;
    body(r);
    return r;
  });
}

// Appends "label=ok; " or "label=EACCES; ". Call it with the syscall inline.
void Rec(std::string& r, const std::string& label, long rc) {
  const int e = errno;
  r += label + "=" + (rc >= 0 ? std::string("ok") : ErrnoName(e)) + "; ";
}

// The standard parity variants, plus nodefault_permissions: there the kernel
// checks nothing and every answer comes from the daemon acting as the caller.
std::vector<Variant> SharingVariants() {
  std::vector<Variant> v = ParityVariants();
  v.push_back(NamedVariant("nodefault"));
  return v;
}

class SharingTest : public ParityTest {
 protected:
  // Whether the variant runs file I/O through kernel passthrough.
  bool WantsPassthrough() const { return GetParam().passthrough; }
};

// chmod/chown/truncate/utimes/link/rename/xattr by the owner, a group member
// and another user, on a 0664 file owned by 1000:2000 in a 0777 directory.
TEST_P(SharingTest, PermissionMatrix) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("d"), 0777));
    TCALL(t, chmod(t.P("d"), 0777));
    for (const Actor* a : kActors) {
      const std::string f = std::string("d/f_") + a->name;
      ASSERT_TRUE(WriteFile(t.P(f), "0123456789"));
      TCALL(t, chown(t.P(f), 1000, 2000));
      TCALL(t, chmod(t.P(f), 0664));
      t.Note(a->name, As(*a, [&](std::string& r) {
               Rec(r, "open-rw", [&] {
                 int fd = open(t.P(f), O_RDWR);
                 if (fd >= 0) close(fd);
                 return fd;
               }());
               Rec(r, "truncate", truncate(t.P(f), 5));
               Rec(r, "utimes-now", utimensat(AT_FDCWD, t.P(f), nullptr, 0));
               const struct timespec ts[2] = {{1000000, 0}, {2000000, 0}};
               Rec(r, "utimes-explicit", utimensat(AT_FDCWD, t.P(f), ts, 0));
               const struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
               Rec(r, "utimes-atime-now", utimensat(AT_FDCWD, t.P(f), now_omit, 0));
               Rec(r, "setxattr-user", setxattr(t.P(f), "user.k", "v", 1, 0));
               char buf[16];
               Rec(r, "getxattr-user", getxattr(t.P(f), "user.k", buf, sizeof buf));
               Rec(r, "removexattr-user", removexattr(t.P(f), "user.k"));
               Rec(r, "link", link(t.P(f), t.P(f + "_link")));
               Rec(r, "rename", rename(t.P(f), t.P(f + "_moved")));
               Rec(r, "rename-back", rename(t.P(f + "_moved"), t.P(f)));
               Rec(r, "chgrp-supplementary", chown(t.P(f), static_cast<uid_t>(-1), 2000));
               Rec(r, "chgrp-foreign", chown(t.P(f), static_cast<uid_t>(-1), 3000));
               Rec(r, "chown-to-self", chown(t.P(f), a->uid, static_cast<gid_t>(-1)));
               Rec(r, "chown-to-other", chown(t.P(f), 1002, static_cast<gid_t>(-1)));
               Rec(r, "chgrp-primary", chown(t.P(f), static_cast<uid_t>(-1), a->gid));
               Rec(r, "chmod", chmod(t.P(f), 0640));
               Rec(r, "unlink-link", unlink(t.P(f + "_link")));
             }));
      t.Stat(f, t.P(f));
      struct stat st;
      t.Note(f + " mtime", stat(t.P(f), &st) == 0 && st.st_mtim.tv_sec == 2000000
                               ? "explicit"
                               : "not explicit");
      t.Stat(f + "_link", t.P(f + "_link"));
      t.Content(f + " content", t.P(f));
    }
  });
}

// Directories that only some actors may change: writable through the
// supplementary group 2000 only, and not writable at all.
TEST_P(SharingTest, DirectoryPermissions) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("g"), 0770));
    TCALL(t, chown(t.P("g"), 0, 2000));
    TCALL(t, chmod(t.P("g"), 0770));
    TCALL(t, mkdir(t.P("ro"), 0755));
    TCALL(t, mkdir(t.P("ro/sub"), 0777));
    TCALL(t, chmod(t.P("ro/sub"), 0777));
    for (const Actor* a : kActors) {
      const std::string n = a->name;
      ASSERT_TRUE(WriteFile(t.P("g/" + n), "x"));
      ASSERT_TRUE(WriteFile(t.P("ro/" + n), "x"));
      TCALL(t, chmod(t.P("ro/" + n), 0666));
      TCALL(t, chown(t.P("ro/" + n), a->uid, a->gid));
      // Readable only through group 2000.
      ASSERT_TRUE(WriteFile(t.P("grp_" + n), "group data"));
      TCALL(t, chown(t.P("grp_" + n), 0, 2000));
      TCALL(t, chmod(t.P("grp_" + n), 0640));
      t.Note(n, As(*a, [&](std::string& r) {
               Rec(r, "read-group-file", [&] {
                 int fd = open(t.P("grp_" + n), O_RDONLY);
                 if (fd >= 0) close(fd);
                 return fd;
               }());
               Rec(r, "write-group-file", [&] {
                 int fd = open(t.P("grp_" + n), O_WRONLY);
                 if (fd >= 0) close(fd);
                 return fd;
               }());
               Rec(r, "g:rename", rename(t.P("g/" + n), t.P("g/" + n + "2")));
               Rec(r, "g:unlink", unlink(t.P("g/" + n + "2")));
               Rec(r, "g:create", [&] {
                 int fd = open(t.P("g/new_" + n), O_CREAT | O_WRONLY, 0644);
                 if (fd >= 0) close(fd);
                 return fd;
               }());
               Rec(r, "g:mkdir", mkdir(t.P("g/dir_" + n), 0755));
               Rec(r, "g:rmdir", rmdir(t.P("g/dir_" + n)));
               Rec(r, "g:list", access(t.P("g/."), R_OK));
               Rec(r, "ro:unlink", unlink(t.P("ro/" + n)));
               Rec(r, "ro:rename", rename(t.P("ro/" + n), t.P("ro/x")));
               Rec(r, "ro:rename-out", rename(t.P("ro/" + n), t.P("ro/sub/" + n)));
               Rec(r, "ro:link", link(t.P("ro/" + n), t.P("ro/sub/l_" + n)));
               Rec(r, "ro:create", open(t.P("ro/c"), O_CREAT | O_WRONLY, 0644));
               Rec(r, "ro:mkdir", mkdir(t.P("ro/d"), 0755));
               Rec(r, "ro:symlink", symlink("x", t.P("ro/s")));
               Rec(r, "ro:write-own-0666", [&] {
                 int fd = open(t.P("ro/" + n), O_WRONLY | O_APPEND);
                 if (fd < 0) return -1;
                 ssize_t w = write(fd, "y", 1);
                 close(fd);
                 return static_cast<int>(w);
               }());
             }));
    }
    t.Listing("g", t.P("g"));
    t.Listing("ro", t.P("ro"));
    t.Listing("ro/sub", t.P("ro/sub"));
    for (const Actor* a : kActors) t.Stat(std::string("ro/") + a->name, t.P(std::string("ro/") + a->name));
  });
}

// Sticky directories: only the owner of an entry (or of the directory) may
// remove or rename it; anyone may still write a file the mode bits allow.
TEST_P(SharingTest, StickyDirectories) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("s"), 0777));
    TCALL(t, chmod(t.P("s"), 01777));
    TCALL(t, mkdir(t.P("s2"), 0777));
    TCALL(t, chown(t.P("s2"), 1002, 1002));
    TCALL(t, chmod(t.P("s2"), 01777));
    for (const char* dir : {"s", "s2"}) {
      const std::string d = dir;
      t.Note(d + " owner creates", As(kOwner, [&](std::string& r) {
               for (const char* f : {"/a", "/b", "/c"}) {
                 int fd = open(t.P(d + f), O_CREAT | O_WRONLY, 0666);
                 Rec(r, d + f, fd);
                 if (fd >= 0) close(fd);
               }
               Rec(r, "chmod a", chmod(t.P(d + "/a"), 0666));
               Rec(r, "mkdir sub", mkdir(t.P(d + "/sub"), 0777));
             }));
      t.Note(d + " member", As(kMember, [&](std::string& r) {
               int fd = open(t.P(d + "/m"), O_CREAT | O_WRONLY, 0666);
               Rec(r, "create m", fd);
               if (fd >= 0) close(fd);
               Rec(r, "unlink others'", unlink(t.P(d + "/a")));
               Rec(r, "rename others'", rename(t.P(d + "/a"), t.P(d + "/x")));
               Rec(r, "rename own over others'", rename(t.P(d + "/m"), t.P(d + "/b")));
               Rec(r, "exchange with others'",
                   renameat2(AT_FDCWD, t.P(d + "/m"), AT_FDCWD, t.P(d + "/b"), RENAME_EXCHANGE));
               Rec(r, "rmdir others'", rmdir(t.P(d + "/sub")));
               Rec(r, "write others' 0666", [&] {
                 int w = open(t.P(d + "/a"), O_WRONLY | O_APPEND);
                 if (w >= 0) close(w);
                 return w;
               }());
               Rec(r, "setxattr on sticky dir", setxattr(t.P(d), "user.x", "1", 1, 0));
               Rec(r, "rename own", rename(t.P(d + "/m"), t.P(d + "/m2")));
               Rec(r, "unlink own", unlink(t.P(d + "/m2")));
             }));
      t.Note(d + " directory owner", As(kOther, [&](std::string& r) {
               Rec(r, "unlink others'", unlink(t.P(d + "/c")));
               Rec(r, "rmdir others'", rmdir(t.P(d + "/sub")));
             }));
      t.Note(d + " entry owner", As(kOwner, [&](std::string& r) {
               Rec(r, "rename own", rename(t.P(d + "/a"), t.P(d + "/a2")));
               Rec(r, "unlink own", unlink(t.P(d + "/a2")));
             }));
      t.Listing(d, t.P(d));
    }
  });
}

// Who owns what a user creates: the caller's uid and gid, the directory's
// group under setgid (subdirectories inherit setgid), S_ISGID on a new file
// kept only for a member of its group; chmod g+s likewise.
TEST_P(SharingTest, OwnershipOfCreatedEntries) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("plain"), 0777));
    TCALL(t, chmod(t.P("plain"), 0777));
    TCALL(t, mkdir(t.P("sgid_foreign"), 0777));
    TCALL(t, chown(t.P("sgid_foreign"), 0, 3000));
    TCALL(t, chmod(t.P("sgid_foreign"), 02777));
    TCALL(t, mkdir(t.P("sgid_member"), 0777));
    TCALL(t, chown(t.P("sgid_member"), 0, 2000));
    TCALL(t, chmod(t.P("sgid_member"), 02777));
    for (const char* dir : {"plain", "sgid_foreign", "sgid_member"}) {
      const std::string d = dir;
      t.Note(d, As(kOwner, [&](std::string& r) {
               umask(0);
               int fd = open(t.P(d + "/file"), O_CREAT | O_WRONLY, 02755);
               Rec(r, "create 02755", fd);
               if (fd >= 0) close(fd);
               Rec(r, "mkdir", mkdir(t.P(d + "/dir"), 0755));
               Rec(r, "symlink", symlink("file", t.P(d + "/link")));
               Rec(r, "mkfifo", mknod(t.P(d + "/fifo"), S_IFIFO | 0644, 0));
               fd = open(t.P(d), O_TMPFILE | O_WRONLY, 0644);
               Rec(r, "tmpfile", fd);
               if (fd >= 0) {
                 const std::string proc = "/proc/self/fd/" + std::to_string(fd);
                 Rec(r, "linkat tmpfile",
                     linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, t.P(d + "/tmp"), AT_SYMLINK_FOLLOW));
                 close(fd);
               }
               Rec(r, "hardlink", link(t.P(d + "/file"), t.P(d + "/hard")));
               Rec(r, "rename", rename(t.P(d + "/hard"), t.P(d + "/hard2")));
               // g+s by the owner: kept if the file's group is one of the caller's.
               Rec(r, "chmod g+s", chmod(t.P(d + "/file"), 02755));
               Rec(r, "mkdir in inherited", mkdir(t.P(d + "/dir/sub"), 0755));
             }));
      for (const char* name : {"/file", "/dir", "/link", "/fifo", "/tmp", "/hard2", "/dir/sub"}) {
        t.Stat(d + name, t.P(d + name));
      }
    }
  });
}

// suid/sgid are dropped when a user without CAP_FSETID writes, truncates,
// O_TRUNC-opens or chowns; a writer who is not the owner included.
TEST_P(SharingTest, SuidSgidClearedForUsers) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("d"), 0777));
    TCALL(t, chmod(t.P("d"), 0777));
    const mode_t modes[] = {04755, 06755, 02755, 02745, 06777};
    const char* steps[] = {"write", "truncate", "otrunc", "chgrp", "chown-noop", "member-write"};
    for (mode_t m : modes) {
      for (const char* step : steps) {
        const std::string f = "d/f" + std::to_string(m) + "_" + step;
        ASSERT_TRUE(WriteFile(t.P(f), "abc"));
        TCALL(t, chown(t.P(f), 1000, 2000));
        TCALL(t, chmod(t.P(f), m));
        const std::string s = step;
        const Actor& who = s == "member-write" ? kMember : kOwner;
        t.Note(f, As(who, [&](std::string& r) {
                 if (s == "write" || s == "member-write") {
                   int fd = open(t.P(f), O_WRONLY);
                   Rec(r, "open", fd);
                   if (fd >= 0) {
                     Rec(r, "write", write(fd, "x", 1));
                     close(fd);
                   }
                 } else if (s == "truncate") {
                   Rec(r, "truncate", truncate(t.P(f), 1));
                 } else if (s == "otrunc") {
                   int fd = open(t.P(f), O_WRONLY | O_TRUNC);
                   Rec(r, "open O_TRUNC", fd);
                   if (fd >= 0) close(fd);
                 } else if (s == "chgrp") {
                   Rec(r, "chgrp", chown(t.P(f), static_cast<uid_t>(-1), 1000));
                 } else {
                   Rec(r, "chown", chown(t.P(f), 1000, 2000));
                 }
               }));
        t.Stat(f, t.P(f));
      }
    }
  });
}

// A file capability (security.capability) is dropped by a write, a truncate
// or a chown, whoever makes it.
TEST_P(SharingTest, FileCapabilitiesDroppedOnChange) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("d"), 0777));
    TCALL(t, chmod(t.P("d"), 0777));
    // struct vfs_cap_data, revision 2, effective, CAP_NET_BIND_SERVICE permitted.
    const uint32_t cap[5] = {0x02000001, 1U << 10, 0, 0, 0};
    const char* steps[] = {"user-write", "user-truncate", "user-otrunc", "root-write",
                           "root-chown", "untouched"};
    for (const char* step : steps) {
      const std::string s = step;
      const std::string f = "d/" + s;
      ASSERT_TRUE(WriteFile(t.P(f), "#!/bin/true\n", 0755));
      TCALL(t, chown(t.P(f), 1000, 1000));
      TCALL(t, chmod(t.P(f), 0755));
      t.Call(("set capability " + s).c_str(),
             setxattr(t.P(f), "security.capability", cap, sizeof cap, 0));
      if (s.starts_with("user-")) {
        t.Note(s, As(kOwner, [&](std::string& r) {
                 if (s == "user-write") {
                   int fd = open(t.P(f), O_WRONLY | O_APPEND);
                   Rec(r, "write", fd < 0 ? -1 : write(fd, "#", 1));
                   if (fd >= 0) close(fd);
                 } else if (s == "user-truncate") {
                   Rec(r, "truncate", truncate(t.P(f), 4));
                 } else {
                   int fd = open(t.P(f), O_WRONLY | O_TRUNC);
                   Rec(r, "open O_TRUNC", fd);
                   if (fd >= 0) close(fd);
                 }
               }));
      } else if (s == "root-write") {
        int fd = TFD(t, open(t.P(f), O_WRONLY | O_APPEND));
        TCALL(t, write(fd, "#", 1));
        TCALL(t, close(fd));
      } else if (s == "root-chown") {
        TCALL(t, chown(t.P(f), 1001, 1001));
      }
      char buf[64];
      const ssize_t n = getxattr(t.P(f), "security.capability", buf, sizeof buf);
      t.CallE("capability after " + s, n, errno);
      t.Stat(f, t.P(f));
    }
  });
}

// trusted.* needs CAP_SYS_ADMIN for everything (and is not even listed
// without it); security.* is readable by all, changeable only with privilege;
// user.* follows the mode bits.
TEST_P(SharingTest, XattrNamespacesByPrivilege) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "x"));
    TCALL(t, chown(t.P("f"), 1000, 1000));
    TCALL(t, chmod(t.P("f"), 0644));
    TCALL(t, setxattr(t.P("f"), "trusted.t", "tv", 2, 0));
    TCALL(t, setxattr(t.P("f"), "security.s", "sv", 2, 0));
    TCALL(t, setxattr(t.P("f"), "user.u", "uv", 2, 0));
    auto probe = [&](std::string& r, const Actor& a) {
      char buf[256];
      Rec(r, "get trusted", getxattr(t.P("f"), "trusted.t", buf, sizeof buf));
      Rec(r, "set trusted", setxattr(t.P("f"), "trusted.x", "1", 1, 0));
      Rec(r, "remove trusted", removexattr(t.P("f"), "trusted.t"));
      Rec(r, "get security", getxattr(t.P("f"), "security.s", buf, sizeof buf));
      Rec(r, "set security", setxattr(t.P("f"), "security.x", "1", 1, 0));
      Rec(r, "remove security", removexattr(t.P("f"), "security.s"));
      Rec(r, "get user", getxattr(t.P("f"), "user.u", buf, sizeof buf));
      Rec(r, std::string("set user.") + a.name, setxattr(t.P("f"), (std::string("user.") + a.name).c_str(), "1", 1, 0));
      // Names, sorted (the order of listxattr is the filesystem's).
      ssize_t size = listxattr(t.P("f"), nullptr, 0);
      ssize_t n = listxattr(t.P("f"), buf, sizeof buf);
      std::vector<std::string> names;
      for (ssize_t i = 0; n > 0 && i < n; i += static_cast<ssize_t>(strlen(buf + i)) + 1) {
        names.push_back(buf + i);
      }
      std::sort(names.begin(), names.end());
      r += "list(size " + std::to_string(size) + ")=";
      for (auto& name : names) r += name + ",";
      r += "; ";
      Rec(r, "list too small", listxattr(t.P("f"), buf, 3));
    };
    t.Note("owner", As(kOwner, [&](std::string& r) { probe(r, kOwner); }));
    t.Note("other", As(kOther, [&](std::string& r) { probe(r, kOther); }));
    std::string root;
    probe(root, Actor{"root", 0, 0, {}});
    t.Note("root", root);
  });
}

// O_TRUNC and O_CREAT|O_EXCL by someone other than the owner.
TEST_P(SharingTest, TruncAndExclusiveCreateAsAnotherUser) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("d"), 0777));
    TCALL(t, chmod(t.P("d"), 0777));
    ASSERT_TRUE(WriteFile(t.P("d/mine"), "owner's data"));
    TCALL(t, chown(t.P("d/mine"), 1000, 1000));
    TCALL(t, chmod(t.P("d/mine"), 0644));
    ASSERT_TRUE(WriteFile(t.P("d/shared"), "shared data"));
    TCALL(t, chown(t.P("d/shared"), 1000, 1000));
    TCALL(t, chmod(t.P("d/shared"), 0666));
    t.Note("other", As(kOther, [&](std::string& r) {
             Rec(r, "O_TRUNC 0644", open(t.P("d/mine"), O_WRONLY | O_TRUNC));
             Rec(r, "O_RDONLY|O_TRUNC 0644", open(t.P("d/mine"), O_RDONLY | O_TRUNC));
             Rec(r, "O_CREAT|O_TRUNC 0644", open(t.P("d/mine"), O_CREAT | O_WRONLY | O_TRUNC, 0600));
             Rec(r, "O_CREAT|O_EXCL existing", open(t.P("d/mine"), O_CREAT | O_EXCL | O_WRONLY, 0600));
             int fd = open(t.P("d/new"), O_CREAT | O_EXCL | O_WRONLY, 0600);
             Rec(r, "O_CREAT|O_EXCL new", fd);
             if (fd >= 0) close(fd);
             Rec(r, "O_CREAT|O_EXCL again", open(t.P("d/new"), O_CREAT | O_EXCL | O_WRONLY, 0600));
             fd = open(t.P("d/shared"), O_WRONLY | O_TRUNC);
             Rec(r, "O_TRUNC 0666", fd);
             if (fd >= 0) close(fd);
           }));
    t.Note("owner", As(kOwner, [&](std::string& r) {
             Rec(r, "open other's 0600", open(t.P("d/new"), O_RDONLY));
             int fd = open(t.P("d/mine"), O_WRONLY | O_TRUNC);
             Rec(r, "O_TRUNC own", fd);
             if (fd >= 0) close(fd);
           }));
    t.Content("mine", t.P("d/mine"));
    t.Content("shared", t.P("d/shared"));
    t.Stat("new", t.P("d/new"));
  });
}

// The leak test: a 0600 root file must not open for uid 1000 in any mode,
// with kernel passthrough (where the kernel opens the backing file with the
// daemon's credentials once the daemon hands out an id) and without
// default_permissions (where the kernel checks nothing).
TEST_P(SharingTest, RootOnlyFileDoesNotOpenForUsers) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("secret"), "root only", 0600));
    TCALL(t, chmod(t.P("secret"), 0600));
    ASSERT_TRUE(WriteFile(t.P("public"), "public", 0644));
    TCALL(t, chmod(t.P("public"), 0644));
    TCALL(t, mkdir(t.P("private"), 0700));
    ASSERT_TRUE(WriteFile(t.P("private/inner"), "inner", 0644));
    t.Note("uid 1000", As(kOwner, [&](std::string& r) {
             for (int flags : {O_RDONLY, O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_WRONLY | O_APPEND}) {
               int fd = open(t.P("secret"), flags);
               Rec(r, "open secret " + std::to_string(flags), fd);
               char buf[32];
               if (fd >= 0) Rec(r, "read", read(fd, buf, sizeof buf));
               if (fd >= 0) close(fd);
             }
             Rec(r, "truncate secret", truncate(t.P("secret"), 0));
             Rec(r, "access secret R", access(t.P("secret"), R_OK));
             Rec(r, "access secret W", access(t.P("secret"), W_OK));
             Rec(r, "open public rw", open(t.P("public"), O_RDWR));
             int fd = open(t.P("public"), O_RDONLY);
             Rec(r, "open public ro", fd);
             if (fd >= 0) close(fd);
             Rec(r, "open private/inner", open(t.P("private/inner"), O_RDONLY));
             struct stat st;
             Rec(r, "stat private/inner", stat(t.P("private/inner"), &st));
             Rec(r, "opendir private", [&] {
               int d = open(t.P("private"), O_RDONLY | O_DIRECTORY);
               if (d >= 0) close(d);
               return d;
             }());
           }));
    t.Content("secret", t.P("secret"));
    t.Stat("secret", t.P("secret"));
  });
  if (WantsPassthrough()) {
    // The scenario above is only the leak test if passthrough was in force.
    EXPECT_NE(daemon().Log().find("data path: kernel passthrough"), std::string::npos)
        << daemon().Log();
  }
}

INSTANTIATE_TEST_SUITE_P(Mount, SharingTest, testing::ValuesIn(SharingVariants()), VariantName);

}  // namespace
}  // namespace ptfs::mounttest

namespace ptfs::mounttest {
namespace {

// Everything about a directory and its entries that a change would move
// (contents, modes, owners, sizes, link counts, mtime and ctime to the ns).
std::string SnapshotDir(const std::string& dir, std::vector<std::string> names = {}) {
  std::ostringstream o;
  if (names.empty()) {
    names = ListDir(dir);
    names.push_back(".");
  }
  for (const auto& n : names) {
    const std::string p = dir + "/" + n;
    struct stat st;
    if (lstat(p.c_str(), &st) < 0) {
      o << n << ": " << ErrnoName(errno) << "\n";
      continue;
    }
    o << n << ": mode=" << std::oct << st.st_mode << std::dec << " uid=" << st.st_uid
      << " size=" << st.st_size << " nlink=" << st.st_nlink << " mtime=" << st.st_mtim.tv_sec
      << "." << st.st_mtim.tv_nsec << " ctime=" << st.st_ctim.tv_sec << "."
      << st.st_ctim.tv_nsec;
    if (S_ISREG(st.st_mode)) o << " data=" << ReadFileOrError(p);
    o << "\n";
  }
  return o.str();
}

// A directory of SOURCE is moved out of SOURCE and back, with a symlink to a
// directory outside planted in its place while it is away, in a tight loop,
// while a root process and a uid 1000 process work in it through the mount:
// by a directory fd held all along and by fresh lookups of its name (which
// never follow a symlink, O_NOFOLLOW, as a careful program does natively).
// Nothing outside SOURCE may change.
class ConfinementMountTest : public MountTestBase, public testing::WithParamInterface<Variant> {
 protected:
  std::vector<std::string> DaemonArgs() const override { return GetParam().args; }
};

std::string Workload(const std::string& mnt, const std::string& tag, int millis) {
  int root_fd = open(mnt.c_str(), O_RDONLY | O_DIRECTORY);
  int dfd = -1;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - start)
        .count();
  };
  while (dfd < 0 && elapsed() < millis) dfd = openat(root_fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (dfd < 0) return "never opened d";
  long ok = 0, failed = 0;
  for (int i = 0; elapsed() < millis; ++i) {
    const std::string f = tag + "_f" + std::to_string(i % 8);
    const std::string g = tag + "_g" + std::to_string(i % 8);
    int fd = openat(dfd, f.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW, 0644);
    if (fd >= 0) {
      ok += write(fd, "x", 1) == 1;
      close(fd);
    }
    ok += fchmodat(dfd, f.c_str(), 0600, 0) == 0;
    ok += renameat(dfd, f.c_str(), dfd, g.c_str()) == 0;
    ok += unlinkat(dfd, g.c_str(), 0) == 0;
    ok += mkdirat(dfd, g.c_str(), 0755) == 0;
    ok += unlinkat(dfd, g.c_str(), AT_REMOVEDIR) == 0;
    // By name, afresh.
    int d2 = openat(root_fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (d2 < 0) {
      ++failed;
      continue;
    }
    fd = openat(d2, (tag + "_h").c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW, 0644);
    if (fd >= 0) {
      ok += write(fd, "y", 1) == 1;
      close(fd);
    }
    ok += unlinkat(d2, (tag + "_h").c_str(), 0) == 0;
    ok += fsetxattr(d2, "user.t", "1", 1, 0) == 0;
    close(d2);
  }
  close(dfd);
  close(root_fd);
  return ok > 0 ? "worked" : "nothing succeeded (" + std::to_string(failed) + " misses)";
}

TEST_P(ConfinementMountTest, DirectoryMovedOutOfSourceWhileInUse) {
  const std::string parking = root() + "/parking";
  ASSERT_EQ(mkdir(parking.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("d").c_str(), 0777), 0);
  ASSERT_EQ(chmod(Src("d").c_str(), 0777), 0);
  const std::string canary_dir = root() + "/outside_dir";
  const std::string before = SnapshotDir(canary_dir) + SnapshotDir(root(), {"outside"});
  std::atomic<bool> stop{false};
  std::atomic<int> moves{0};
  std::thread mover([&] {
    const std::string in = Src("d"), out = parking + "/d";
    while (!stop.load()) {
      if (rename(in.c_str(), out.c_str()) != 0) break;
      if (symlink(canary_dir.c_str(), in.c_str()) != 0) break;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      if (unlink(in.c_str()) != 0 || rename(out.c_str(), in.c_str()) != 0) break;
      moves.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  std::string as_root, as_user;
  std::thread root_worker([&] { as_root = Workload(mnt(), "root", 1500); });
  std::thread user_worker(
      [&] { as_user = RunAs(1000, 1000, [&] { return Workload(mnt(), "u1000", 1500); }); });
  root_worker.join();
  user_worker.join();
  stop = true;
  mover.join();
  EXPECT_GT(moves.load(), 10);
  EXPECT_EQ(as_root, "worked");
  EXPECT_EQ(as_user, "worked");
  struct stat st;
  ASSERT_EQ(lstat(Src("d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode)) << "the mover must end with d back in SOURCE";
  EXPECT_EQ(ListDir(parking), std::vector<std::string>{});
  EXPECT_EQ(SnapshotDir(canary_dir) + SnapshotDir(root(), {"outside"}), before)
      << "something outside SOURCE changed";
  EXPECT_EQ(ReadFileOrError(root() + "/outside"), "outside\n");
  EXPECT_TRUE(daemon().Running());
}

INSTANTIATE_TEST_SUITE_P(Mount, ConfinementMountTest,
                         testing::ValuesIn(Variants({"nocache", "served_nocache"})), VariantName);

}  // namespace
}  // namespace ptfs::mounttest
