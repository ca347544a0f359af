// sys::ProcFd and the xattr calls on it: the daemon's way to reach an inode
// it holds as an O_PATH fd (real files in a temporary directory; no mount).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "sys/syscalls.h"

namespace ptfs::sys {
namespace {

class ProcFdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ptfs-procfd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(ProcFdTest, NamesTheFdRelativeToProcSelfFd) {
  const ProcFd proc(7);
  EXPECT_STREQ(proc.path(), "/proc/self/fd/7");
  ASSERT_GE(proc.dir(), 0) << "/proc/self/fd is open";
  EXPECT_STREQ(proc.name(), "7");
}

TEST_F(ProcFdTest, XattrsGoThroughAnOPathFd) {
  const std::string file = dir_ + "/f";
  ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0644));
  const int fd = ::open(file.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const ProcFd proc(fd);
  const std::string value = "v1";
  ASSERT_FALSE(SetXattr(proc, "user.a", value.data(), value.size(), 0)) << strerror(errno);
  EXPECT_EQ(SetXattr(proc, "user.a", value.data(), value.size(), XATTR_CREATE).value(), EEXIST);
  char buf[64];
  auto n = GetXattr(proc, "user.a", buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "v1");
  EXPECT_EQ(*GetXattr(proc, "user.a", nullptr, 0), 2u) << "the size only";
  EXPECT_EQ(GetXattr(proc, "user.a", buf, 1).error().value(), ERANGE);
  EXPECT_EQ(GetXattr(proc, "user.none", buf, sizeof buf).error().value(), ENODATA);
  auto listed = ListXattr(proc, buf, sizeof buf);
  ASSERT_TRUE(listed.ok());
  EXPECT_NE(std::string(buf, *listed).find("user.a"), std::string::npos);
  EXPECT_FALSE(RemoveXattr(proc, "user.a"));
  EXPECT_EQ(GetXattr(proc, "user.a", buf, sizeof buf).error().value(), ENODATA);
  ::close(fd);
}

TEST_F(ProcFdTest, ASymlinksOwnXattrsNotItsTargets) {
  const std::string target = dir_ + "/target", link = dir_ + "/link";
  ::close(::open(target.c_str(), O_CREAT | O_WRONLY, 0644));
  ASSERT_EQ(::symlink("target", link.c_str()), 0);
  const int fd = ::open(link.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  // user.* is refused on symlinks (EPERM): proof the call reached the link
  // itself; the target would have accepted it.
  EXPECT_EQ(SetXattr(ProcFd(fd), "user.a", "x", 1, 0).value(), EPERM);
  ::close(fd);
}

TEST_F(ProcFdTest, AForkedChildNamesItsOwnFds) {
  (void)ProcFd(0);  // the parent has /proc/self/fd open now
  const std::string file = dir_ + "/child-only";
  ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0644));
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // An fd number the parent does not have open: through the parent's
    // /proc/PID/fd it would not resolve, or resolve to another file.
    int fd = ::open(file.c_str(), O_PATH | O_CLOEXEC);
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 900);
    auto reopened = Reopen(high, O_RDONLY);
    struct stat a, b;
    const bool same = reopened.ok() && ::fstat(reopened->get(), &a) == 0 &&
                      ::stat(file.c_str(), &b) == 0 && a.st_ino == b.st_ino;
    ::_exit(same ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace ptfs::sys
