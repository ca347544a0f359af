// Privilege dropping on a real mount compared with native: a process without
// CAP_FSETID writes to, truncates and O_TRUNC-opens suid/sgid files; the
// resulting modes must equal what the native filesystem produces.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "tests/datapath/daemon_mount.h"

namespace ptfs::testing {
namespace {

// Runs `f` in a child that dropped CAP_FSETID; returns the child's status.
int WithoutFsetid(const std::function<int()>& f) {
  pid_t pid = ::fork();
  if (pid == 0) {
    struct __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {};
    if (::syscall(SYS_capget, &h, d) < 0) _exit(100);
    d[CAP_FSETID / 32].effective &= ~(1U << (CAP_FSETID % 32));
    d[CAP_FSETID / 32].permitted &= ~(1U << (CAP_FSETID % 32));
    if (::syscall(SYS_capset, &h, d) < 0) _exit(101);
    _exit(f());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// One scenario on directory `dir`: returns the modes after each step.
std::vector<mode_t> Scenario(const std::string& dir) {
  std::vector<mode_t> modes;
  const mode_t start[] = {04755, 06755, 06745, 02775};
  for (mode_t m : start) {
    for (int step = 0; step < 3; ++step) {
      const std::string p = dir + "/f" + std::to_string(m) + "_" + std::to_string(step);
      int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
      EXPECT_GE(fd, 0);
      EXPECT_EQ(::write(fd, "abc", 3), 3);
      ::close(fd);
      EXPECT_EQ(::chmod(p.c_str(), m), 0);
      int rc = WithoutFsetid([&]() -> int {
        if (step == 0) {  // write
          int w = ::open(p.c_str(), O_WRONLY);
          return w >= 0 && ::write(w, "x", 1) == 1 ? 0 : 1;
        }
        if (step == 1) return ::truncate(p.c_str(), 1) == 0 ? 0 : 1;  // truncate
        int t = ::open(p.c_str(), O_WRONLY | O_TRUNC);                 // O_TRUNC open
        return t >= 0 ? 0 : 1;
      });
      EXPECT_EQ(rc, 0) << p;
      modes.push_back(ModeOf(p));
    }
  }
  return modes;
}

TEST(KillPrivMount, SuidSgidClearingMatchesNative) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CI runs as root)";
  for (const char* path_mode : {"--passthrough=auto", "--passthrough=off"}) {
    SCOPED_TRACE(path_mode);
    DaemonMount mount({path_mode});
    ASSERT_TRUE(mount.ok());
    char tmpl[] = "/tmp/ptfs-native-XXXXXX";
    const std::string native = ::mkdtemp(tmpl);
    const auto want = Scenario(native);
    const auto got = Scenario(mount.mnt());
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i], want[i]) << "case " << i << std::oct << ": native " << want[i]
                                 << ", mount " << got[i];
    }
    // Sanity: the scenario does clear bits natively, so this test can fail.
    EXPECT_EQ(want[0], 0755u);
    std::system(("rm -rf " + native).c_str());
  }
}

}  // namespace
}  // namespace ptfs::testing
