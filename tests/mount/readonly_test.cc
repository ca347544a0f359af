// `-o ro`: every change fails with EROFS, reads work, SOURCE is untouched.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class ReadOnlyTest : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"-o", "ro,allow_other"}; }

  // Everything about SOURCE that a change could touch.
  std::string Snapshot() {
    std::string out;
    for (const char* rel : {"", "f", "d", "d/inner", "e", "l"}) {
      struct stat st;
      const std::string p = Src(rel);
      if (lstat(p.c_str(), &st) < 0) {
        out += std::string(rel) + " missing\n";
        continue;
      }
      char x[64];
      ssize_t n = lgetxattr(p.c_str(), "user.a", x, sizeof x);
      out += std::string(rel) + " mode=" + std::to_string(st.st_mode) +
             " uid=" + std::to_string(st.st_uid) + " size=" + std::to_string(st.st_size) +
             " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec) + " ctime=" + std::to_string(st.st_ctim.tv_sec) +
             "." + std::to_string(st.st_ctim.tv_nsec) +
             " xattr=" + (n >= 0 ? std::string(x, n) : "-") + "\n";
    }
    for (const auto& name : ListDir(src())) out += "entry " + name + "\n";
    out += "f=" + ReadFileOrError(Src("f")) + "\n";
    return out;
  }
};

// EXPECTs that `rc` is a failure with EROFS.
#define EXPECT_EROFS(expr)                                                                 \
  do {                                                                                     \
    errno = 0;                                                                             \
    const long rc_ = static_cast<long>(expr);                                              \
    const int e_ = errno;                                                                  \
    EXPECT_TRUE(rc_ < 0 && e_ == EROFS) << #expr << " -> " << rc_ << " " << ErrnoName(e_); \
  } while (0)

TEST_F(ReadOnlyTest, EveryChangeFailsWithErofs) {
  // Populate SOURCE directly; nothing has been looked up through the mount.
  ASSERT_TRUE(WriteFile(Src("f"), "data"));
  ASSERT_EQ(mkdir(Src("d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("d/inner"), "inner"));
  ASSERT_EQ(mkdir(Src("e").c_str(), 0755), 0);
  ASSERT_EQ(symlink("f", Src("l").c_str()), 0);
  ASSERT_EQ(setxattr(Src("f").c_str(), "user.a", "v", 1, 0), 0);
  const std::string before = Snapshot();
  EXPECT_NE(("," + MountOptionsOf(mnt()) + ",").find(",ro,"), std::string::npos)
      << MountOptionsOf(mnt());

  const std::string f = Mnt("f"), d = Mnt("d"), e = Mnt("e"), l = Mnt("l");
  const std::string fresh = Mnt("new");
  // Opens that could change something.
  EXPECT_EROFS(open(f.c_str(), O_WRONLY));
  EXPECT_EROFS(open(f.c_str(), O_RDWR));
  EXPECT_EROFS(open(f.c_str(), O_RDONLY | O_TRUNC));
  EXPECT_EROFS(open(f.c_str(), O_WRONLY | O_APPEND));
  EXPECT_EROFS(open(fresh.c_str(), O_CREAT | O_WRONLY, 0644));
  EXPECT_EROFS(open(fresh.c_str(), O_CREAT | O_RDONLY, 0644));
  EXPECT_EROFS(open(d.c_str(), O_TMPFILE | O_RDWR, 0644));
  // Namespace changes.
  EXPECT_EROFS(mkdir(fresh.c_str(), 0755));
  EXPECT_EROFS(mknod(fresh.c_str(), S_IFIFO | 0644, 0));
  EXPECT_EROFS(mknod(fresh.c_str(), S_IFREG | 0644, 0));
  EXPECT_EROFS(symlink("f", fresh.c_str()));
  EXPECT_EROFS(link(f.c_str(), fresh.c_str()));
  EXPECT_EROFS(rename(f.c_str(), fresh.c_str()));
  EXPECT_EROFS(renameat2(AT_FDCWD, f.c_str(), AT_FDCWD, l.c_str(), RENAME_EXCHANGE));
  EXPECT_EROFS(renameat2(AT_FDCWD, f.c_str(), AT_FDCWD, fresh.c_str(), RENAME_NOREPLACE));
  EXPECT_EROFS(unlink(f.c_str()));
  EXPECT_EROFS(unlink(l.c_str()));
  EXPECT_EROFS(rmdir(e.c_str()));
  // Attributes.
  EXPECT_EROFS(chmod(f.c_str(), 0600));
  EXPECT_EROFS(chown(f.c_str(), 1, 1));
  EXPECT_EROFS(lchown(l.c_str(), 1, 1));
  EXPECT_EROFS(truncate(f.c_str(), 0));
  const struct timespec times[2] = {{1000, 0}, {2000, 0}};
  EXPECT_EROFS(utimensat(AT_FDCWD, f.c_str(), times, 0));
  EXPECT_EROFS(utimensat(AT_FDCWD, f.c_str(), nullptr, 0));
  EXPECT_EROFS(utimensat(AT_FDCWD, l.c_str(), times, AT_SYMLINK_NOFOLLOW));
  EXPECT_EROFS(setxattr(f.c_str(), "user.b", "v", 1, 0));
  EXPECT_EROFS(setxattr(f.c_str(), "user.a", "w", 1, XATTR_REPLACE));
  EXPECT_EROFS(removexattr(f.c_str(), "user.a"));
  EXPECT_EROFS(setxattr(d.c_str(), "trusted.t", "v", 1, 0));
  EXPECT_EROFS(access(f.c_str(), W_OK));
  EXPECT_EROFS(faccessat(AT_FDCWD, d.c_str(), W_OK, AT_EACCESS));
  // Through an fd opened for reading.
  int fd = open(f.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  EXPECT_EROFS(fchmod(fd, 0600));
  EXPECT_EROFS(fchown(fd, 1, 1));
  EXPECT_EROFS(futimens(fd, times));
  EXPECT_EROFS(fsetxattr(fd, "user.b", "v", 1, 0));
  EXPECT_EROFS(fremovexattr(fd, "user.a"));
  // Reading and locking still work.
  char buf[16] = {};
  EXPECT_EQ(read(fd, buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf), "data");
  EXPECT_EQ(flock(fd, LOCK_SH), 0) << ErrnoName(errno);
  struct flock rd {};
  rd.l_type = F_RDLCK;
  EXPECT_EQ(fcntl(fd, F_SETLK, &rd), 0) << ErrnoName(errno);
  close(fd);
  EXPECT_EQ(ReadFileOrError(Mnt("d/inner")), "inner");
  EXPECT_EQ(ListDir(mnt()), (std::vector<std::string>{"d", "e", "f", "l"}));
  char target[16] = {};
  EXPECT_EQ(readlink(l.c_str(), target, sizeof target), 1);
  char x[8];
  EXPECT_EQ(getxattr(f.c_str(), "user.a", x, sizeof x), 1);
  EXPECT_EQ(access(f.c_str(), R_OK), 0);
  struct statvfs sv;
  ASSERT_EQ(statvfs(mnt().c_str(), &sv), 0);
  EXPECT_TRUE(sv.f_flag & ST_RDONLY);
  // A non-root caller gets EROFS too, not EACCES.
  EXPECT_EQ(RunAs(1000, 1000,
                  [&] {
                    return open(fresh.c_str(), O_CREAT | O_WRONLY, 0644) < 0 ? ErrnoName(errno)
                                                                             : std::string("ok");
                  }),
            "EROFS");

  EXPECT_EQ(Snapshot(), before) << "SOURCE changed through a read-only mount";
}

}  // namespace
}  // namespace ptfs::mounttest
