// --read-only=PATH (issue 19): everything at or under PATH answers EROFS to
// every kind of change through the mount, descriptors opened before
// included, while the rest of the mount stays writable with kernel
// passthrough.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class ReadOnlySubtree : public MountTestBase {
 protected:
  // One PATH, "via-link", is a symlink to real/target, resolved once at
  // start-up.
  void PrepareSource() override {
    ASSERT_EQ(mkdir(Src("real").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(Src("real/target").c_str(), 0755), 0);
    ASSERT_EQ(symlink("real/target", Src("via-link").c_str()), 0);
  }
  std::vector<std::string> DaemonArgs() const override {
    return {"--read-only=frozen", "-o", "read_only=/via-link/", "--read-only=not/yet"};
  }
  static std::string Err(long rc) { return rc < 0 ? ErrnoName(errno) : "ok"; }
  // A snapshot of what SOURCE holds: names, modes, owners, sizes, times
  // (not of SOURCE itself, where the test makes and removes "not").
  std::string Snapshot() {
    return RunCommand("cd '" + src() + "' && find . -mindepth 1 -printf '%p %M %U:%G %s %T@ %C@\\n' | sort");
  }
};

TEST_F(ReadOnlySubtree, EveryChangeInsideAnswersEROFS) {
  ASSERT_EQ(mkdir(Src("frozen").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("frozen/dir").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("frozen/empty").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("frozen/file"), "kept"));
  ASSERT_EQ(setxattr(Src("frozen/file").c_str(), "user.k", "v", 1, 0), 0);
  ASSERT_EQ(mkdir(Src("a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("a/frozen").c_str(), 0755), 0);  // not a PATH: same name elsewhere
  ASSERT_TRUE(WriteFile(Src("outside"), "free"));
  const std::string before = Snapshot();
  // A descriptor opened before the changes are tried, read-only.
  const int ro_fd = open(Mnt("frozen/file").c_str(), O_RDONLY);
  ASSERT_GE(ro_fd, 0);
  const int dir_fd = open(Mnt("frozen/dir").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir_fd, 0);

  const char* f = "frozen/file";
  struct Try {
    std::string what;
    long rc;
  };
  const std::vector<Try> tries = {
      {"open O_WRONLY", open(Mnt(f).c_str(), O_WRONLY)},
      {"open O_RDWR", open(Mnt(f).c_str(), O_RDWR)},
      {"open O_RDONLY|O_TRUNC", open(Mnt(f).c_str(), O_RDONLY | O_TRUNC)},
      {"open O_APPEND", open(Mnt(f).c_str(), O_WRONLY | O_APPEND)},
      {"create", open(Mnt("frozen/new").c_str(), O_WRONLY | O_CREAT, 0644)},
      {"create via dir fd", openat(dir_fd, "new", O_WRONLY | O_CREAT, 0644)},
      {"O_TMPFILE", open(Mnt("frozen/dir").c_str(), O_TMPFILE | O_WRONLY, 0644)},
      {"mkdir", mkdir(Mnt("frozen/newdir").c_str(), 0755)},
      {"mkfifo", mkfifo(Mnt("frozen/fifo").c_str(), 0644)},
      {"symlink", symlink("file", Mnt("frozen/sl").c_str())},
      {"unlink", unlink(Mnt(f).c_str())},
      {"rmdir", rmdir(Mnt("frozen/empty").c_str())},
      {"rename within", rename(Mnt(f).c_str(), Mnt("frozen/renamed").c_str())},
      {"rename out", rename(Mnt(f).c_str(), Mnt("out").c_str())},
      {"rename in", rename(Mnt("outside").c_str(), Mnt("frozen/in").c_str())},
      {"rename over", rename(Mnt("outside").c_str(), Mnt(f).c_str())},
      {"rename PATH itself", rename(Mnt("frozen").c_str(), Mnt("thawed").c_str())},
      {"exchange", renameat2(AT_FDCWD, Mnt("outside").c_str(), AT_FDCWD, Mnt(f).c_str(),
                             RENAME_EXCHANGE)},
      {"link out", link(Mnt(f).c_str(), Mnt("second-name").c_str())},
      {"link in", link(Mnt("outside").c_str(), Mnt("frozen/second").c_str())},
      {"chmod", chmod(Mnt(f).c_str(), 0600)},
      {"chown", chown(Mnt(f).c_str(), 1, 1)},
      {"truncate", truncate(Mnt(f).c_str(), 0)},
      {"utimes", utimes(Mnt(f).c_str(), nullptr)},
      {"setxattr", setxattr(Mnt(f).c_str(), "user.k", "w", 1, 0)},
      {"removexattr", removexattr(Mnt(f).c_str(), "user.k")},
      {"chmod PATH", chmod(Mnt("frozen").c_str(), 0700)},
      {"fchmod (fd opened before)", fchmod(ro_fd, 0600)},
      {"fchown (fd opened before)", fchown(ro_fd, 1, 1)},
      {"fsetxattr (fd opened before)", fsetxattr(ro_fd, "user.k", "w", 1, 0)},
      {"futimens (fd opened before)", futimens(ro_fd, nullptr)},
      {"create PATH not yet there", mkdir(Mnt("not").c_str(), 0755) == 0
                                         ? mkdir(Mnt("not/yet").c_str(), 0755)
                                         : -2},
  };
  for (const Try& t : tries) {
    EXPECT_EQ(Err(t.rc), "EROFS") << t.what;
    if (t.rc >= 0) close(static_cast<int>(t.rc));
  }
  close(ro_fd);
  close(dir_fd);
  ASSERT_EQ(rmdir(Mnt("not").c_str()), 0);
  EXPECT_EQ(Snapshot(), before) << "SOURCE changed";

  // Reading is untouched.
  EXPECT_EQ(ReadFileOrError(Mnt(f)), "kept");
  EXPECT_EQ(ListDir(Mnt("frozen")), (std::vector<std::string>{"dir", "empty", "file"}));
  char v[8] = {};
  EXPECT_EQ(getxattr(Mnt(f).c_str(), "user.k", v, sizeof(v)), 1);
  EXPECT_EQ(access(Mnt(f).c_str(), R_OK), 0);
}

TEST_F(ReadOnlySubtree, TheRestStaysWritableWithKernelPassthrough) {
  ASSERT_EQ(mkdir(Src("frozen").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("a/frozen").c_str(), 0755), 0);  // same name, another place
  const auto before = daemon().Stats();
  ASSERT_TRUE(WriteFile(Mnt("a/frozen/f"), std::string(65536, 'w')));
  EXPECT_EQ(ReadFileOrError(Mnt("a/frozen/f")), std::string(65536, 'w'));
  const auto after = daemon().Stats();
  EXPECT_EQ(after.at("opens_passthrough") - before.at("opens_passthrough"), 2);
  EXPECT_EQ(after.at("requests_read") - before.at("requests_read"), 0);
  EXPECT_EQ(after.at("requests_write") - before.at("requests_write"), 0);
  EXPECT_EQ(Err(rename(Mnt("a/frozen/f").c_str(), Mnt("a/g").c_str())), "ok");
  EXPECT_EQ(Err(mkdir(Mnt("frozen-not").c_str(), 0755)), "ok") << "a sibling with a prefix name";
  EXPECT_EQ(Err(mkdir(Mnt("frozen-not/x").c_str(), 0755)), "ok");
  EXPECT_EQ(Err(rename(Mnt("a").c_str(), Mnt("b").c_str())), "ok") << "not on the way to PATH";
  EXPECT_EQ(Err(chmod(Mnt("b/g").c_str(), 0600)), "ok");
  EXPECT_EQ(Err(unlink(Mnt("b/g").c_str())), "ok");
}

TEST_F(ReadOnlySubtree, APathThroughASymlinkGuardsWhereItLeads) {
  EXPECT_EQ(Err(mkdir(Mnt("real/target/x").c_str(), 0755)), "EROFS");
  EXPECT_EQ(Err(mkdir(Mnt("via-link/x").c_str(), 0755)), "EROFS");
  EXPECT_EQ(Err(rename(Mnt("real").c_str(), Mnt("moved").c_str())), "EROFS")
      << "a directory on the way to PATH";
  EXPECT_EQ(Err(mkdir(Mnt("real/y").c_str(), 0755)), "ok");
}

TEST_F(ReadOnlySubtree, ASubtreeMovedOnTheHostIsJudgedWhereItIsNow) {
  ASSERT_EQ(mkdir(Src("frozen").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("elsewhere").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("elsewhere/d").c_str(), 0755), 0);
  // The kernel knows the directory, then it moves into PATH behind its back.
  const int fd = open(Mnt("elsewhere/d").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(rename(Src("elsewhere/d").c_str(), Src("frozen/d").c_str()), 0);
  EXPECT_EQ(Err(openat(fd, "x", O_WRONLY | O_CREAT, 0644)), "EROFS");
  close(fd);
}

}  // namespace
}  // namespace ptfs::mounttest
