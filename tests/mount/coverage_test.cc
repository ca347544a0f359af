// Which requests reach the server: one mount with --debug (every request is
// logged) runs a short program touching every operation, and the log must
// show each opcode the kernel sends to a /dev/fuse server. This proves the
// parity traces exercise the server and not only the kernel's caches.
//
// Never sent by the kernel to a /dev/fuse mount, so not expected here (the
// fakekernel tier covers them): SYNCFS (virtiofs only), DESTROY (fuseblk
// only), BMAP (block devices), SETUPMAPPING/REMOVEMAPPING (DAX),
// NOTIFY_REPLY (we never ask for one).
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class OpcodeCoverageTest : public MountTestBase {
 protected:
  // nodefault_permissions: the kernel then asks the server (ACCESS).
  std::vector<std::string> DaemonArgs() const override {
    return {"--debug", "--nocache", "--passthrough=off", "-o", "allow_other,nodefault_permissions"};
  }
};

std::set<std::string> OpcodesIn(const std::string& log) {
  std::set<std::string> ops;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find("<- ");
    if (at == std::string::npos) continue;
    std::istringstream words(line.substr(at + 3));
    std::string op;
    words >> op;
    ops.insert(op);
  }
  return ops;
}

void Ignore(long) {}

TEST_F(OpcodeCoverageTest, EveryOpcodeTheKernelSendsIsExercised) {
  const std::string m = mnt();
  auto p = [&](const char* rel) { return m + "/" + rel; };
  ASSERT_EQ(mkdir(p("d").c_str(), 0755), 0);
  int fd = open(p("f").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "hello", 5), 5);
  char buf[64];
  ASSERT_EQ(pread(fd, buf, sizeof buf, 0), 5);
  EXPECT_EQ(fsync(fd), 0);
  EXPECT_EQ(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8192), 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_HOLE), 5);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  EXPECT_EQ(fcntl(fd, F_GETLK, &fl), 0);
  fl.l_type = F_WRLCK;
  EXPECT_EQ(fcntl(fd, F_SETLK, &fl), 0);
  EXPECT_EQ(fcntl(fd, F_SETLKW, &fl), 0);
  EXPECT_EQ(flock(fd, LOCK_EX), 0);
  int flags;
  EXPECT_EQ(ioctl(fd, FS_IOC_GETFLAGS, &flags), -1);
  struct pollfd pfd = {fd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  int out = open(p("copy").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(out, 0);
  loff_t off_in = 0;
  EXPECT_EQ(copy_file_range(fd, &off_in, out, nullptr, 5, 0), 5);
  close(out);
  close(fd);
  struct stat st;
  EXPECT_EQ(stat(p("f").c_str(), &st), 0);
  struct statx sx;
  EXPECT_EQ(statx(AT_FDCWD, p("f").c_str(), 0, STATX_BTIME, &sx), 0);
  EXPECT_EQ(chmod(p("f").c_str(), 0600), 0);
  EXPECT_EQ(symlink("f", p("l").c_str()), 0);
  EXPECT_EQ(readlink(p("l").c_str(), buf, sizeof buf), 1);
  EXPECT_EQ(mknod(p("fifo").c_str(), S_IFIFO | 0644, 0), 0);
  EXPECT_EQ(link(p("f").c_str(), p("hard").c_str()), 0);
  EXPECT_EQ(rename(p("hard").c_str(), p("hard2").c_str()), 0);
  EXPECT_EQ(renameat2(AT_FDCWD, p("hard2").c_str(), AT_FDCWD, p("hard3").c_str(), RENAME_NOREPLACE),
            0);
  EXPECT_EQ(unlink(p("hard3").c_str()), 0);
  EXPECT_EQ(rmdir(p("d").c_str()), 0);
  fd = open(m.c_str(), O_TMPFILE | O_RDWR, 0600);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
  // A directory large enough that listing it takes several requests: the
  // first is READDIRPLUS, the later ones plain READDIR.
  ASSERT_EQ(mkdir(p("big").c_str(), 0755), 0);
  for (int i = 0; i < 400; ++i) {
    ASSERT_EQ(mknod((m + "/big/entry" + std::to_string(i)).c_str(), S_IFREG | 0644, 0), 0);
  }
  EXPECT_EQ(ListDir(p("big")).size(), 400u);
  int dfd = open(p("big").c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(fsync(dfd), 0);
  close(dfd);
  struct statvfs sv;
  EXPECT_EQ(statvfs(m.c_str(), &sv), 0);
  EXPECT_EQ(setxattr(p("f").c_str(), "user.a", "v", 1, 0), 0);
  EXPECT_EQ(getxattr(p("f").c_str(), "user.a", buf, sizeof buf), 1);
  EXPECT_GT(listxattr(p("f").c_str(), buf, sizeof buf), 0);
  EXPECT_EQ(removexattr(p("f").c_str(), "user.a"), 0);
  EXPECT_EQ(access(p("f").c_str(), R_OK), 0);
  // INTERRUPT: a child blocked in F_SETLKW gets a signal.
  fd = open(p("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  fl.l_type = F_WRLCK;
  ASSERT_EQ(fcntl(fd, F_SETLK, &fl), 0);
  pid_t child = fork();
  if (child == 0) {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigaction(SIGUSR1, &sa, nullptr);  // no SA_RESTART
    int cfd = open(p("f").c_str(), O_RDWR);
    struct flock w {};
    w.l_type = F_WRLCK;
    w.l_whence = SEEK_SET;
    int rc = fcntl(cfd, F_SETLKW, &w);
    _exit(rc < 0 && errno == EINTR ? 0 : 1);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(child, SIGUSR1);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "F_SETLKW was not interrupted";
  close(fd);
  // FORGET: unlinked inodes are evicted once nothing uses them.
  for (int i = 0; i < 400; ++i) Ignore(unlink((m + "/big/entry" + std::to_string(i)).c_str()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  const std::set<std::string> seen = OpcodesIn(daemon().Log());
  for (const char* op :
       {"INIT",      "LOOKUP",      "GETATTR",   "SETATTR", "READLINK", "SYMLINK",     "MKNOD",
        "MKDIR",     "UNLINK",      "RMDIR",     "RENAME",  "RENAME2",  "LINK",        "OPEN",
        "READ",      "WRITE",       "STATFS",    "RELEASE", "FSYNC",    "SETXATTR",    "GETXATTR",
        "LISTXATTR", "REMOVEXATTR", "FLUSH",     "OPENDIR", "READDIR",  "READDIRPLUS", "RELEASEDIR",
        "FSYNCDIR",  "GETLK",       "SETLK",     "SETLKW",  "ACCESS",   "CREATE",      "INTERRUPT",
        "IOCTL",     "POLL",        "FALLOCATE", "LSEEK",   "TMPFILE",  "STATX"}) {
    EXPECT_TRUE(seen.count(op)) << op << " never reached the server";
  }
  EXPECT_TRUE(seen.count("COPY_FILE_RANGE") || seen.count("COPY_FILE_RANGE_64"))
      << "COPY_FILE_RANGE never reached the server";
  EXPECT_TRUE(seen.count("FORGET") || seen.count("BATCH_FORGET"))
      << "FORGET never reached the server";
}

}  // namespace
}  // namespace ptfs::mounttest
