// Parity traces for metadata and namespace operations: every call is run in
// ROOT/native and in the mount, and result, errno and the values read back
// must be equal. st_dev differs by design and is never recorded; st_ino and
// times are recorded only as relations or where set explicitly. Statfs,
// xattrs, ACLs and permission checks: parity_perm_test.cc.
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

ino_t InoOf(const char* path) {
  struct stat st;
  return lstat(path, &st) == 0 ? st.st_ino : 0;
}

struct timespec Now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

double Seconds(const struct timespec& ts) { return ts.tv_sec + ts.tv_nsec / 1e9; }

// Whether `ts` lies within [before - 0.05 s, after + 0.05 s]: inode times come
// from the coarse clock, which may lag CLOCK_REALTIME by a tick.
bool Within(const struct timespec& ts, const struct timespec& before,
            const struct timespec& after) {
  return Seconds(ts) >= Seconds(before) - 0.05 && Seconds(ts) <= Seconds(after) + 0.05;
}

std::string StatxSummary(const struct statx& sx) {
  char buf[256];
  snprintf(buf, sizeof buf, "mask&basic|btime=%#x mode=%o size=%llu nlink=%u uid=%u gid=%u",
           sx.stx_mask & (STATX_BASIC_STATS | STATX_BTIME), sx.stx_mode,
           static_cast<unsigned long long>(sx.stx_size), sx.stx_nlink, sx.stx_uid, sx.stx_gid);
  return buf;
}

class ParityMetaTest : public ParityTest {};

TEST_P(ParityMetaTest, StatLstatFstatStatx) {
  RunParity([](Trace& t) {
    int fd = TFD(t, open(t.P("f"), O_CREAT | O_WRONLY, 0640));
    TCALL(t, write(fd, "hello", 5));
    // Writeback cache: the data written is still in the kernel's page cache,
    // so SOURCE has allocated nothing yet and st_blocks is 0 until it is
    // written back (native ext4 counts its delayed allocation). Legitimate:
    // st_blocks is compared once the file is closed.
    t.FStat("fstat f (open for writing)", fd, !t.writeback());
    TCALL(t, close(fd));
    t.Stat("lstat f", t.P("f"));
    t.Stat("stat f", t.P("f"), true);
    TCALL(t, mkdir(t.P("d"), 0750));
    t.Stat("lstat d", t.P("d"));
    TCALL(t, symlink("f", t.P("l")));
    t.Stat("lstat l", t.P("l"));
    t.Stat("stat l (follows)", t.P("l"), true);
    t.Stat("lstat base", t.P());
    // Negative lookups.
    t.Stat("lstat missing", t.P("missing"));
    t.Stat("lstat f/x", t.P("f/x"));
    t.Stat("lstat d/missing", t.P("d/missing"));
    t.Stat("lstat missing/x", t.P("missing/x"));
    // fstatat relative to a directory fd, with "..".
    int dfd = TFD(t, open(t.P("d"), O_RDONLY | O_DIRECTORY));
    struct stat st;
    TCALL(t, fstatat(dfd, "../f", &st, 0));
    t.Note("fstatat ../f size", static_cast<long long>(st.st_size));
    TCALL(t, fstatat(dfd, "../l", &st, AT_SYMLINK_NOFOLLOW));
    t.Note("fstatat ../l is link", S_ISLNK(st.st_mode));
    TCALL(t, close(dfd));

    // statx, with the birth time.
    struct statx sx {
    }, bx{};
    TCALL(t, statx(AT_FDCWD, t.P("f"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx));
    t.Note("statx f", StatxSummary(sx));
    TCALL(t, statx(AT_FDCWD, t.B("f"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &bx));
    t.Note("btime == backing btime", sx.stx_btime.tv_sec == bx.stx_btime.tv_sec &&
                                         sx.stx_btime.tv_nsec == bx.stx_btime.tv_nsec);
    t.Note("btime nonzero", sx.stx_btime.tv_sec != 0);
    // Writeback cache: the kernel owns mtime/ctime of a file it caches (it
    // stamps them at write(2) and pushes mtime with a later SETATTR; SOURCE's
    // ctime cannot be set at all), so they can differ from SOURCE's by the
    // write-back delay. Legitimate for that mode; compared otherwise.
    if (!t.writeback()) {
      t.Note("mtime,ctime == backing", sx.stx_mtime.tv_sec == bx.stx_mtime.tv_sec &&
                                           sx.stx_mtime.tv_nsec == bx.stx_mtime.tv_nsec &&
                                           sx.stx_ctime.tv_sec == bx.stx_ctime.tv_sec &&
                                           sx.stx_ctime.tv_nsec == bx.stx_ctime.tv_nsec);
    }
    t.Note("ino == backing ino", sx.stx_ino == bx.stx_ino);
    // Asking for STATX_BTIME alone: only the requested bit of stx_mask is
    // compared. Natively, filesystems with multigrain timestamps (ext4 on
    // 6.13+) then leave MTIME/CTIME out of stx_mask; the mount reports them
    // anyway, which statx(2) allows ("may return fields not requested").
    TCALL(t, statx(AT_FDCWD, t.P("f"), AT_STATX_FORCE_SYNC, STATX_BTIME, &sx));
    t.Note("statx f force sync: btime in mask", (sx.stx_mask & STATX_BTIME) != 0);
    t.Note("statx f force sync: size", static_cast<long long>(sx.stx_size));
    TCALL(t, statx(AT_FDCWD, t.P("f"), AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx));
    t.Note("statx f dont sync size", static_cast<long long>(sx.stx_size));
    TCALL(t, statx(AT_FDCWD, t.P("l"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
    t.Note("statx l", StatxSummary(sx));
    TCALL(t, statx(AT_FDCWD, t.P("d"), 0, STATX_BASIC_STATS | STATX_BTIME, &sx));
    t.Note("statx d", StatxSummary(sx));
    fd = TFD(t, open(t.P("f"), O_RDONLY));
    TCALL(t, statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &sx));
    t.Note("statx fd", StatxSummary(sx));
    TCALL(t, close(fd));
    TCALL(t, statx(AT_FDCWD, t.P("missing"), 0, STATX_BASIC_STATS, &sx));
    // O_PATH fds.
    fd = TFD(t, open(t.P("l"), O_PATH | O_NOFOLLOW));
    t.FStat("fstat O_PATH symlink", fd);
    TCALL(t, close(fd));
  });
}

TEST_P(ParityMetaTest, ChmodChown) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "data"));
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, symlink("f", t.P("l")));
    TCALL(t, chmod(t.P("f"), 0600));
    t.Stat("f after chmod 0600", t.P("f"));
    TCALL(t, chmod(t.P("f"), 04755));
    t.Stat("f after chmod 04755", t.P("f"));
    TCALL(t, chmod(t.P("f"), 02711));
    t.Stat("f after chmod 02711", t.P("f"));
    TCALL(t, chmod(t.P("d"), 01777));
    t.Stat("d after chmod 01777", t.P("d"));
    TCALL(t, chmod(t.P("missing"), 0644));
    TCALL(t, chown(t.P("f"), 1234, 5678));
    t.Stat("f after chown 1234:5678", t.P("f"));
    TCALL(t, chown(t.P("f"), static_cast<uid_t>(-1), 42));
    t.Stat("f after chown -1:42", t.P("f"));
    TCALL(t, chown(t.P("f"), 77, static_cast<gid_t>(-1)));
    t.Stat("f after chown 77:-1", t.P("f"));
    // chown clears the setuid bit, and setgid when group-executable.
    TCALL(t, chmod(t.P("f"), 06755));
    TCALL(t, chown(t.P("f"), 0, 0));
    t.Stat("f after chmod 06755, chown 0:0", t.P("f"));
    // Through a symlink chmod/chown follow it; lchown does not.
    TCALL(t, chmod(t.P("l"), 0640));
    t.Stat("f after chmod via l", t.P("f"));
    t.Stat("l after chmod via l", t.P("l"));
    TCALL(t, lchown(t.P("l"), 11, 22));
    t.Stat("l after lchown", t.P("l"));
    t.Stat("f after lchown l", t.P("f"));
    TCALL(t, fchownat(AT_FDCWD, t.P("l"), 33, 44, AT_SYMLINK_NOFOLLOW));
    t.Stat("l after fchownat nofollow", t.P("l"));
    TCALL(t, fchmodat(AT_FDCWD, t.P("l"), 0600, AT_SYMLINK_NOFOLLOW));
    // On an open fd.
    int fd = TFD(t, open(t.P("f"), O_RDWR));
    TCALL(t, fchmod(fd, 0604));
    TCALL(t, fchown(fd, 99, 98));
    t.FStat("fstat after fchmod/fchown", fd);
    TCALL(t, close(fd));
    t.Stat("f final", t.P("f"));
    t.Stat("f in backing", t.B("f"));
  });
}

TEST_P(ParityMetaTest, TruncateFtruncate) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "0123456789"));
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, truncate(t.P("f"), 4));
    t.Content("after truncate 4", t.P("f"));
    TCALL(t, truncate(t.P("f"), 8));
    t.Content("after truncate 8", t.P("f"));
    t.Stat("f", t.P("f"));
    TCALL(t, truncate(t.P("f"), 1 << 20));
    t.Stat("f sparse 1 MiB", t.P("f"));
    TCALL(t, truncate(t.P("f"), -1));
    TCALL(t, truncate(t.P("d"), 0));
    TCALL(t, truncate(t.P("missing"), 0));
    int fd = TFD(t, open(t.P("f"), O_RDWR));
    TCALL(t, ftruncate(fd, 2));
    t.FStat("fstat after ftruncate 2", fd);
    TCALL(t, close(fd));
    t.Content("after ftruncate 2", t.P("f"));
    fd = TFD(t, open(t.P("f"), O_RDONLY));
    TCALL(t, ftruncate(fd, 1));
    TCALL(t, close(fd));
    fd = TFD(t, open(t.P("f"), O_WRONLY));
    TCALL(t, ftruncate(fd, 0));
    TCALL(t, close(fd));
    t.Stat("f after ftruncate 0", t.P("f"));
    t.Stat("backing f", t.B("f"));
  });
}

TEST_P(ParityMetaTest, UtimensatFutimens) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "data"));
    TCALL(t, symlink("f", t.P("l")));
    TCALL(t, mkdir(t.P("d"), 0755));
    const struct timespec explicit_times[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), explicit_times, 0));
    t.Times("f explicit", t.P("f"));
    const struct timespec omit_atime[2] = {{0, UTIME_OMIT}, {1600000000, 5}};
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), omit_atime, 0));
    t.Times("f atime omitted", t.P("f"));
    const struct timespec omit_mtime[2] = {{1700000000, 0}, {0, UTIME_OMIT}};
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), omit_mtime, 0));
    t.Times("f mtime omitted", t.P("f"));
    const struct timespec omit_both[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), omit_both, 0));
    t.Times("f both omitted", t.P("f"));

    // UTIME_NOW for mtime only: mtime is now, atime keeps its explicit value.
    const struct timespec now_mtime[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    struct timespec before = Now();
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), now_mtime, 0));
    struct timespec after = Now();
    struct stat st;
    TCALL(t, lstat(t.P("f"), &st));
    t.Note("mtime is now", Within(st.st_mtim, before, after));
    t.Note("ctime is now", Within(st.st_ctim, before, after));
    t.Note("atime kept", static_cast<long long>(st.st_atim.tv_sec));
    // NULL: both now.
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), explicit_times, 0));
    before = Now();
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), nullptr, 0));
    after = Now();
    TCALL(t, lstat(t.P("f"), &st));
    t.Note("NULL: atime and mtime now",
           Within(st.st_atim, before, after) && Within(st.st_mtim, before, after));

    // On an open fd.
    int fd = TFD(t, open(t.P("f"), O_RDWR));
    TCALL(t, futimens(fd, explicit_times));
    t.Times("f after futimens", t.P("f"));
    const struct timespec now_atime[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    before = Now();
    TCALL(t, futimens(fd, now_atime));
    after = Now();
    TCALL(t, fstat(fd, &st));
    t.Note("futimens atime now", Within(st.st_atim, before, after));
    t.Note("futimens mtime kept", static_cast<long long>(st.st_mtim.tv_sec));
    TCALL(t, close(fd));
    // Writing updates mtime (set it to the past first, so the change is visible).
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), explicit_times, 0));
    fd = TFD(t, open(t.P("f"), O_WRONLY | O_APPEND));
    before = Now();
    TCALL(t, write(fd, "x", 1));
    TCALL(t, close(fd));
    after = Now();
    TCALL(t, lstat(t.P("f"), &st));
    t.Note("write sets mtime to now", Within(st.st_mtim, before, after));

    // A symlink's own times (AT_SYMLINK_NOFOLLOW) leave the target alone.
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), explicit_times, 0));
    const struct timespec link_times[2] = {{1100000000, 1}, {1200000000, 2}};
    TCALL(t, utimensat(AT_FDCWD, t.P("l"), link_times, AT_SYMLINK_NOFOLLOW));
    t.Times("l own times", t.P("l"));
    t.Times("f unchanged", t.P("f"));
    TCALL(t, utimensat(AT_FDCWD, t.P("l"), link_times, 0));
    t.Times("f via l", t.P("f"));
    TCALL(t, utimensat(AT_FDCWD, t.P("d"), explicit_times, 0));
    t.Times("d", t.P("d"));
    TCALL(t, utimensat(AT_FDCWD, t.P("missing"), explicit_times, 0));
    const struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    TCALL(t, utimensat(AT_FDCWD, t.P("f"), bad, 0));
    t.Times("backing f", t.B("f"));
  });
}

TEST_P(ParityMetaTest, SymlinkReadlink) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "data"));
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, symlink("f", t.P("rel")));
    // Targets pointing outside the tree: returned as symlinks, with the
    // exact target text; the caller's kernel resolves them, never the server.
    const std::string outside = t.R("outside");
    TCALL(t, symlink(outside.c_str(), t.P("abs")));
    TCALL(t, symlink("../../outside", t.P("d/up")));
    TCALL(t, symlink("nowhere", t.P("dangling")));
    TCALL(t, symlink("/", t.P("slash")));
    char buf[8192];
    for (const char* name : {"rel", "abs", "d/up", "dangling", "slash"}) {
      ssize_t n = TCALL(t, readlink(t.P(name), buf, sizeof buf));
      t.Note(std::string("readlink ") + name + " is abs path", n > 0 && buf[0] == '/');
      t.Note(std::string("readlink ") + name + " value == outside",
             n == static_cast<ssize_t>(outside.size()) && std::string(buf, n) == outside);
      if (n >= 0 && buf[0] != '/') t.Note(std::string("readlink ") + name, std::string(buf, n));
      t.Stat(std::string("lstat ") + name, t.P(name));
      t.Stat(std::string("stat ") + name, t.P(name), true);
    }
    t.Content("read through abs", t.P("abs"));
    t.Content("read through d/up", t.P("d/up"));
    t.Content("read through dangling", t.P("dangling"));
    ssize_t n = TCALL(t, readlink(t.P("rel"), buf, 1));  // truncated, no error
    t.Note("truncated readlink", std::string(buf, n > 0 ? n : 0));
    TCALL(t, readlink(t.P("f"), buf, sizeof buf));
    TCALL(t, readlink(t.P("missing"), buf, sizeof buf));
    TCALL(t, symlink("x", t.P("f")));
    TCALL(t, symlink("x", t.P("missing/x")));
    TCALL(t, open(t.P("abs"), O_RDONLY | O_NOFOLLOW));
    TCALL(t, open(t.P("rel"), O_WRONLY | O_CREAT | O_EXCL, 0644));
    // Long targets.
    const std::string long_target(4095, 'x');
    TCALL(t, symlink(long_target.c_str(), t.P("long")));
    n = TCALL(t, readlink(t.P("long"), buf, sizeof buf));
    t.Note("long target intact", n == 4095 && std::string(buf, n) == long_target);
    const std::string too_long(4096, 'x');
    TCALL(t, symlink(too_long.c_str(), t.P("toolong")));
    // A symlink loop.
    TCALL(t, symlink("loop2", t.P("loop1")));
    TCALL(t, symlink("loop1", t.P("loop2")));
    t.Stat("stat loop1", t.P("loop1"), true);

    // A symlink planted directly in SOURCE (the backing store) that points to
    // a directory outside: the server must hand it out as a symlink; the
    // caller's own resolution then leads outside, exactly as natively.
    const std::string outside_dir = t.R("outside_dir");
    TCALL(t, symlink(outside_dir.c_str(), t.B("planted")));
    t.Stat("lstat planted", t.P("planted"));
    n = TCALL(t, readlink(t.P("planted"), buf, sizeof buf));
    t.Note("planted value == outside_dir", n > 0 && std::string(buf, n) == outside_dir);
    t.Listing("ls planted/ (caller follows)", t.P("planted/"));
    TCALL(t, open(t.P("planted"), O_RDONLY | O_NOFOLLOW));
    TCALL(t, open(t.P("planted"), O_WRONLY | O_CREAT | O_EXCL, 0644));
    // lchown changes the link, never the directory it points to.
    TCALL(t, lchown(t.P("planted"), 4321, 4321));
    t.Stat("planted after lchown", t.P("planted"));
    t.Stat("outside_dir untouched", t.R("outside_dir"));
    t.Listing("base", t.P());
    TCALL(t, unlink(t.P("planted")));
    t.Stat("outside_dir still there", t.R("outside_dir"));
  });
}

TEST_P(ParityMetaTest, MknodAllTypes) {
  RunParity([](Trace& t) {
    TCALL(t, mknod(t.P("reg"), S_IFREG | 0640, 0));
    TCALL(t, mknod(t.P("fifo"), S_IFIFO | 0600, 0));
    TCALL(t, mknod(t.P("sock"), S_IFSOCK | 0644, 0));
    TCALL(t, mknod(t.P("null"), S_IFCHR | 0666, makedev(1, 3)));
    // Large major/minor numbers check the rdev encoding end to end.
    TCALL(t, mknod(t.P("bigdev"), S_IFCHR | 0600, makedev(300, 70000)));
    TCALL(t, mknod(t.P("blk"), S_IFBLK | 0600, makedev(7, 200)));
    TCALL(t, mknod(t.P("dflt"), 0644, 0));  // type 0 means a regular file
    TCALL(t, mknod(t.P("reg"), S_IFREG | 0644, 0));
    TCALL(t, mknod(t.P("dir"), S_IFDIR | 0755, 0));
    TCALL(t, mknod(t.P("missing/x"), S_IFIFO | 0644, 0));
    umask(077);
    TCALL(t, mknod(t.P("masked"), S_IFIFO | 0666, 0));
    umask(022);
    for (const char* name : {"reg", "fifo", "sock", "null", "bigdev", "blk", "dflt", "masked"}) {
      t.Stat(std::string("lstat ") + name, t.P(name));
      t.Stat(std::string("backing ") + name, t.B(name));
    }
    t.Listing("base", t.P());
    // A FIFO on the mount is a FIFO: the kernel serves it, not the server.
    int r = TFD(t, open(t.P("fifo"), O_RDONLY | O_NONBLOCK));
    int w = TFD(t, open(t.P("fifo"), O_WRONLY | O_NONBLOCK));
    TCALL(t, write(w, "pipe", 4));
    char buf[8] = {};
    TCALL(t, read(r, buf, sizeof buf));
    t.Note("fifo data", std::string(buf, 4));
    TCALL(t, close(w));
    TCALL(t, close(r));
    // Note: opening "null" is not compared: the mount is nodev by default
    // (as libfuse mounts), so the device open answers EACCES there.
  });
}

TEST_P(ParityMetaTest, MkdirRmdirUnlink) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "data"));
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, mkdir(t.P("d/sub"), 0700));
    TCALL(t, mkdir(t.P("d/sub2"), 0777));
    t.Stat("d with 2 subdirs", t.P("d"));
    t.Stat("d/sub", t.P("d/sub"));
    t.Stat("d/sub2 (umask 022)", t.P("d/sub2"));
    TCALL(t, mkdir(t.P("missing/x"), 0755));
    TCALL(t, mkdir(t.P("f/x"), 0755));
    TCALL(t, rmdir(t.P("d")));
    TCALL(t, rmdir(t.P("d/sub")));
    t.Stat("d after rmdir sub", t.P("d"));
    TCALL(t, rmdir(t.P("d/missing")));
    TCALL(t, rmdir(t.P("f")));
    TCALL(t, rmdir(t.P("d/sub2/.")));
    TCALL(t, rmdir(t.P("d/sub2/..")));
    TCALL(t, unlink(t.P("d/sub2")));
    TCALL(t, rmdir(t.P("d/sub2")));
    TCALL(t, rmdir(t.P("d")));
    t.Stat("d gone", t.P("d"));
    umask(027);
    TCALL(t, mkdir(t.P("masked"), 0777));
    umask(022);
    t.Stat("masked", t.P("masked"));
    // setgid directories pass their group and the bit on.
    TCALL(t, mkdir(t.P("sg"), 0775));
    TCALL(t, chown(t.P("sg"), 0, 4242));
    TCALL(t, chmod(t.P("sg"), 02775));
    TCALL(t, mkdir(t.P("sg/sub"), 0755));
    t.Stat("sg/sub inherits gid and setgid", t.P("sg/sub"));
    ASSERT_TRUE(WriteFile(t.P("sg/file"), "x"));
    t.Stat("sg/file inherits gid", t.P("sg/file"));

    // unlink; an open file stays readable.
    int fd = TFD(t, open(t.P("f"), O_RDONLY));
    TCALL(t, unlink(t.P("f")));
    t.FStat("fstat unlinked", fd);
    char buf[8] = {};
    TCALL(t, pread(fd, buf, sizeof buf, 0));
    t.Note("read unlinked", std::string(buf, 4));
    TCALL(t, close(fd));
    t.Stat("f gone", t.P("f"));
    TCALL(t, unlink(t.P("f")));
    TCALL(t, unlink(t.P("missing/x")));
    t.Listing("base", t.P());
    t.Listing("backing", t.B());
  });
}

TEST_P(ParityMetaTest, RenameAndRenameat2) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("a"), "A"));
    ASSERT_TRUE(WriteFile(t.P("b"), "B"));
    TCALL(t, mkdir(t.P("d1"), 0755));
    ASSERT_TRUE(WriteFile(t.P("d1/inner"), "I"));
    TCALL(t, mkdir(t.P("d2"), 0755));
    TCALL(t, mkdir(t.P("d3"), 0755));
    TCALL(t, mkdir(t.P("full"), 0755));
    ASSERT_TRUE(WriteFile(t.P("full/x"), "x"));

    TCALL(t, rename(t.P("a"), t.P("c")));
    t.Stat("a gone", t.P("a"));
    t.Content("c", t.P("c"));
    // Replacing: the old target stays readable through an open fd.
    int old_b = TFD(t, open(t.P("b"), O_RDONLY));
    const ino_t c_ino = InoOf(t.P("c"));
    TCALL(t, rename(t.P("c"), t.P("b")));
    t.Note("b has c's inode", InoOf(t.P("b")) == c_ino);
    t.Content("b after replace", t.P("b"));
    char buf[8] = {};
    TCALL(t, pread(old_b, buf, sizeof buf, 0));
    t.Note("old b via fd", std::string(buf, 1));
    TCALL(t, close(old_b));
    TCALL(t, rename(t.P("b"), t.P("b")));
    TCALL(t, rename(t.P("d1"), t.P("full")));  // over a non-empty dir
    TCALL(t, rename(t.P("d1"), t.P("d2")));    // over an empty dir
    t.Listing("d2 (was d1)", t.P("d2"));
    TCALL(t, rename(t.P("b"), t.P("d3")));          // file over dir
    TCALL(t, rename(t.P("d3"), t.P("b")));          // dir over file
    TCALL(t, rename(t.P("d2"), t.P("d2/inner2")));  // into itself
    TCALL(t, rename(t.P("missing"), t.P("x")));
    TCALL(t, rename(t.P("b"), t.P("missing/x")));
    // Across directories; ".." follows a moved directory.
    TCALL(t, rename(t.P("b"), t.P("d3/b")));
    TCALL(t, rename(t.P("d3"), t.P("d2/d3")));
    t.Note("d2/d3/.. is d2", InoOf(t.P("d2/d3/..")) == InoOf(t.P("d2")));
    t.Stat("d2 nlink", t.P("d2"));
    t.Content("d2/d3/b", t.P("d2/d3/b"));

    // RENAME_NOREPLACE
    ASSERT_TRUE(WriteFile(t.P("x"), "X"));
    ASSERT_TRUE(WriteFile(t.P("y"), "Y"));
    TCALL(t, renameat2(AT_FDCWD, t.P("x"), AT_FDCWD, t.P("y"), RENAME_NOREPLACE));
    t.Content("y kept", t.P("y"));
    TCALL(t, renameat2(AT_FDCWD, t.P("x"), AT_FDCWD, t.P("z"), RENAME_NOREPLACE));
    t.Content("z", t.P("z"));
    // RENAME_EXCHANGE, of two files and of a file and a directory.
    TCALL(t, renameat2(AT_FDCWD, t.P("y"), AT_FDCWD, t.P("z"), RENAME_EXCHANGE));
    t.Content("y after exchange", t.P("y"));
    t.Content("z after exchange", t.P("z"));
    TCALL(t, renameat2(AT_FDCWD, t.P("y"), AT_FDCWD, t.P("full"), RENAME_EXCHANGE));
    t.Stat("y is now the dir", t.P("y"));
    t.Content("full is now the file", t.P("full"));
    TCALL(t, renameat2(AT_FDCWD, t.P("y"), AT_FDCWD, t.P("nothing"), RENAME_EXCHANGE));
    TCALL(t, renameat2(AT_FDCWD, t.P("z"), AT_FDCWD, t.P("y"), RENAME_EXCHANGE | RENAME_NOREPLACE));
    // RENAME_WHITEOUT (root only): the source becomes a 0/0 character device.
    TCALL(t, renameat2(AT_FDCWD, t.P("z"), AT_FDCWD, t.P("w"), RENAME_WHITEOUT));
    t.Stat("whiteout left at z", t.P("z"));
    t.Content("w", t.P("w"));
    t.Listing("base", t.P());
    t.Listing("backing", t.B());
  });
}

TEST_P(ParityMetaTest, HardLinks) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "data"));
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, link(t.P("f"), t.P("g")));
    TCALL(t, link(t.P("f"), t.P("d/h")));
    t.Stat("f", t.P("f"));
    t.Stat("g", t.P("g"));
    t.Note("f, g, d/h share the inode",
           InoOf(t.P("f")) == InoOf(t.P("g")) && InoOf(t.P("f")) == InoOf(t.P("d/h")));
    t.Note("inode == backing inode", InoOf(t.P("g")) == InoOf(t.B("g")));
    t.Content("g", t.P("g"));
    ASSERT_TRUE(WriteFile(t.P("g"), "changed"));
    t.Content("f after writing g", t.P("f"));
    TCALL(t, link(t.P("f"), t.P("g")));
    TCALL(t, link(t.P("d"), t.P("dlink")));
    TCALL(t, link(t.P("missing"), t.P("x")));
    TCALL(t, link(t.P("f"), t.P("missing/x")));
    TCALL(t, unlink(t.P("f")));
    t.Stat("g after unlink f", t.P("g"));
    t.Stat("d/h after unlink f", t.P("d/h"));
    // A symlink: linkat without AT_SYMLINK_FOLLOW links the symlink itself.
    TCALL(t, symlink("g", t.P("l")));
    TCALL(t, linkat(AT_FDCWD, t.P("l"), AT_FDCWD, t.P("l2"), 0));
    t.Stat("l2 is a symlink", t.P("l2"));
    t.Stat("l nlink", t.P("l"));
    TCALL(t, linkat(AT_FDCWD, t.P("l"), AT_FDCWD, t.P("g2"), AT_SYMLINK_FOLLOW));
    t.Stat("g2 is the file", t.P("g2"));
    t.Note("g2 is g", InoOf(t.P("g2")) == InoOf(t.P("g")));
    // An open fd sees nlink change.
    int fd = TFD(t, open(t.P("g"), O_RDONLY));
    TCALL(t, unlink(t.P("g2")));
    t.FStat("fstat g after unlink g2", fd);
    TCALL(t, close(fd));
    t.Listing("base", t.P());
  });
}

TEST_P(ParityMetaTest, OpenFlags) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("d"), 0755));
    int fd = TFD(t, open(t.P("f"), O_CREAT | O_WRONLY, 0666));
    TCALL(t, write(fd, "abc", 3));
    TCALL(t, close(fd));
    t.Stat("created f (umask 022)", t.P("f"));
    TCALL(t, open(t.P("f"), O_CREAT | O_EXCL | O_WRONLY, 0644));
    fd = TFD(t, open(t.P("f"), O_CREAT | O_WRONLY, 0600));  // exists: mode ignored
    TCALL(t, close(fd));
    t.Stat("f unchanged", t.P("f"));
    fd = TFD(t, open(t.P("f"), O_WRONLY | O_TRUNC));
    t.FStat("after O_TRUNC", fd);
    TCALL(t, write(fd, "abc", 3));
    TCALL(t, close(fd));
    // O_APPEND writes at the end whatever the offset, pwrite included.
    fd = TFD(t, open(t.P("f"), O_WRONLY | O_APPEND));
    TCALL(t, lseek(fd, 0, SEEK_SET));
    TCALL(t, write(fd, "de", 2));
    TCALL(t, pwrite(fd, "X", 1, 0));
    TCALL(t, lseek(fd, 0, SEEK_CUR));
    TCALL(t, close(fd));
    t.Content("after O_APPEND", t.P("f"));
    // O_RDWR|O_CREAT|O_TRUNC on an existing file.
    fd = TFD(t, open(t.P("f"), O_RDWR | O_CREAT | O_TRUNC, 0644));
    t.FStat("after O_CREAT|O_TRUNC", fd);
    TCALL(t, close(fd));
    TCALL(t, open(t.P("missing"), O_RDONLY));
    TCALL(t, open(t.P("f"), O_RDONLY | O_DIRECTORY));
    TCALL(t, open(t.P("d"), O_WRONLY));
    TCALL(t, open(t.P("d"), O_RDWR));
    TCALL(t, open(t.P("d"), O_CREAT | O_WRONLY, 0644));
    fd = TFD(t, open(t.P("d"), O_RDONLY | O_DIRECTORY));
    TCALL(t, close(fd));
    TCALL(t, symlink("f", t.P("l")));
    TCALL(t, open(t.P("l"), O_RDONLY | O_NOFOLLOW));
    TCALL(t, open(t.P("l"), O_CREAT | O_EXCL | O_WRONLY, 0644));
    // O_CREAT through a dangling symlink creates its target.
    TCALL(t, symlink("target", t.P("dangling")));
    fd = TFD(t, open(t.P("dangling"), O_CREAT | O_WRONLY, 0640));
    TCALL(t, close(fd));
    t.Stat("target created via dangling link", t.P("target"));
    // Access mode is enforced on the fd.
    char buf[4];
    fd = TFD(t, open(t.P("target"), O_RDONLY));
    TCALL(t, write(fd, "x", 1));
    TCALL(t, close(fd));
    fd = TFD(t, open(t.P("target"), O_WRONLY));
    TCALL(t, read(fd, buf, sizeof buf));
    TCALL(t, close(fd));
    // Mode 0 file: root can still open it for writing.
    fd = TFD(t, open(t.P("zero"), O_CREAT | O_WRONLY, 0));
    TCALL(t, close(fd));
    fd = TFD(t, open(t.P("zero"), O_RDWR));
    TCALL(t, close(fd));
    t.Stat("zero", t.P("zero"));
    umask(077);
    fd = TFD(t, open(t.P("masked"), O_CREAT | O_WRONLY, 0666));
    TCALL(t, close(fd));
    umask(022);
    t.Stat("masked (umask 077)", t.P("masked"));
    // openat relative to a directory fd; O_PATH.
    int dfd = TFD(t, open(t.P("d"), O_RDONLY | O_DIRECTORY));
    fd = TFD(t, openat(dfd, "inner", O_CREAT | O_RDWR, 0644));
    TCALL(t, close(fd));
    fd = TFD(t, openat(dfd, "../f", O_RDONLY));
    TCALL(t, close(fd));
    TCALL(t, close(dfd));
    fd = TFD(t, open(t.P("f"), O_PATH));
    t.FStat("fstat O_PATH", fd);
    TCALL(t, read(fd, buf, sizeof buf));
    TCALL(t, close(fd));
    t.Listing("base", t.P());
  });
}

TEST_P(ParityMetaTest, OTmpfileAndLinkat) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("d"), 0755));
    int fd = TFD(t, open(t.P("d"), O_TMPFILE | O_RDWR, 0640));
    TCALL(t, write(fd, "tmp data", 8));
    // st_blocks while written data may sit in the writeback cache: see
    // StatLstatFstatStatx.
    t.FStat("fstat tmpfile", fd, !t.writeback());
    t.Listing("d before linkat", t.P("d"));
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    TCALL(t, linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, t.P("d/linked"), AT_SYMLINK_FOLLOW));
    t.FStat("fstat after linkat", fd, !t.writeback());
    t.Stat("linked", t.P("d/linked"), false, !t.writeback());
    t.Content("linked", t.P("d/linked"));
    t.Content("linked in backing", t.B("d/linked"));
    TCALL(t, close(fd));
    t.Stat("linked after close", t.P("d/linked"));
    // O_EXCL: can never be linked.
    fd = TFD(t, open(t.P("d"), O_TMPFILE | O_WRONLY | O_EXCL, 0600));
    const std::string proc2 = "/proc/self/fd/" + std::to_string(fd);
    TCALL(t, linkat(AT_FDCWD, proc2.c_str(), AT_FDCWD, t.P("d/never"), AT_SYMLINK_FOLLOW));
    TCALL(t, close(fd));
    ASSERT_TRUE(WriteFile(t.P("f"), "x"));
    TCALL(t, open(t.P("f"), O_TMPFILE | O_RDWR, 0600));
    TCALL(t, open(t.P("d"), O_TMPFILE | O_RDONLY, 0600));
    TCALL(t, open(t.P("missing"), O_TMPFILE | O_RDWR, 0600));
    t.Listing("d", t.P("d"));
  });
}

INSTANTIATE_TEST_SUITE_P(Mount, ParityMetaTest, testing::ValuesIn(ParityVariants()), VariantName);

}  // namespace
}  // namespace ptfs::mounttest
