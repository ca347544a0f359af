// Kernel features of Linux 6.14-6.18 the daemon negotiates when offered,
// each shown engaged on this kernel: request timeouts (7.43) and
// FUSE_NOTIFY_PRUNE (7.45). (FUSE_NOTIFY_INC_EPOCH, 7.44: restart_test.cc.)
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

using Clock = std::chrono::steady_clock;

// `passthroughfs status MOUNTPOINT`, as text.
std::string StatusReport(const std::string& mountpoint) {
  std::string report;
  if (FILE* p = popen((std::string(PTFS_DAEMON) + " status " + mountpoint).c_str(), "r")) {
    char line[512];
    while (fgets(line, sizeof line, p) != nullptr) report += line;
    pclose(p);
  }
  return report;
}

// FUSE_DEV_IOC_SYNC_INIT (Linux 6.18): INIT is answered while mount(2)
// waits, so the mount is complete when mount(2) returns (the harness mounts
// as root, through mount(2)); --sync-init=off keeps the old order.
class SyncInit : public MountTestBase {};
class SyncInitOff : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"--sync-init=off"}; }
};

TEST_F(SyncInit, InitIsAnsweredDuringMount) {
  const std::string report = StatusReport(mnt());
  EXPECT_NE(report.find("\ninit: answered during mount(2) (FUSE_DEV_IOC_SYNC_INIT)\n"),
            std::string::npos)
      << report;
  ASSERT_TRUE(WriteFile(Mnt("f"), "served"));
  EXPECT_EQ(ReadFileOrError(Src("f")), "served");
  EXPECT_EQ(daemon().Stats()["opcode_INIT"], 1) << "counted once, as the request it was";
}

TEST_F(SyncInitOff, InitIsAnsweredAfterMount) {
  const std::string report = StatusReport(mnt());
  EXPECT_NE(report.find("\ninit: answered after mount(2)\n"), std::string::npos) << report;
  EXPECT_EQ(daemon().Stats()["opcode_INIT"], 1) << "the server answered INIT itself";
}

// -o request_timeout=1: a daemon that stops answering (here SIGSTOP) makes
// the kernel abort the connection after 1 s, checked every 15 s, instead of
// leaving its callers hanging for ever.
class RequestTimeout : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"-o", "request_timeout=1"}; }
};

TEST_F(RequestTimeout, AHungDaemonFailsItsCallersInsteadOfHangingThem) {
  // Negotiated at INIT (Linux 6.14+): the status report says what is in force.
  const std::string report = StatusReport(mnt());
  ASSERT_NE(report.find("\nrequest_timeout: 1\n"), std::string::npos) << report;
  ASSERT_NE(report.find("REQUEST_TIMEOUT"), std::string::npos) << report;
  const pid_t daemon_pid = daemon().pid();
  ASSERT_EQ(kill(daemon_pid, SIGSTOP), 0);
  const auto start = Clock::now();
  const pid_t caller = fork();
  if (caller == 0) {
    struct stat sb;
    const int r = lstat(Mnt("never-looked-up").c_str(), &sb);
    _exit(r == 0 ? 0 : errno);
  }
  int status = 0;
  bool ended = false;
  while (Clock::now() - start < std::chrono::seconds(45)) {
    if (waitpid(caller, &status, WNOHANG) == caller) {
      ended = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  if (!ended) {
    kill(caller, SIGKILL);
    waitpid(caller, nullptr, 0);
  }
  kill(daemon_pid, SIGCONT);
  ASSERT_TRUE(ended) << "the caller still hung after 45 s";
  ASSERT_TRUE(WIFEXITED(status));
  const int err = WEXITSTATUS(status);
  EXPECT_TRUE(err == ECONNABORTED || err == ENOTCONN) << "lstat: " << strerror(err);
  EXPECT_GE(waited, 1.0);
  std::printf("[request_timeout] the caller of a stopped daemon got %s after %.1f s\n",
              strerror(err), waited);
}

// At the process's fd limit the daemon closes half its cached fds and asks
// the kernel to forget those inodes if unused (FUSE_NOTIFY_PRUNE): the
// kernel FORGETs them, and the daemon's table shrinks with it.
class Prune : public MountTestBase {};

TEST_F(Prune, AtTheFdLimitTheKernelForgetsUnusedInodes) {
  constexpr int kFiles = 400, kHeld = 200;
  ASSERT_EQ(mkdir(Src("d").c_str(), 0755), 0);
  for (int i = 0; i < kFiles; ++i) ASSERT_TRUE(WriteFile(Src("d/f" + std::to_string(i)), "x"));
  daemon().SettleWatch();
  struct stat sb;
  for (int i = 0; i < kFiles; ++i) ASSERT_EQ(stat(Mnt("d/f" + std::to_string(i)).c_str(), &sb), 0);
  auto before = daemon().Stats();
  ASSERT_GE(before["inodes"], kFiles);
  struct rlimit was;
  ASSERT_TRUE(daemon().SetFdLimit(static_cast<rlim_t>(before["process_fds"] + 100), &was));
  std::vector<int> held;
  for (int i = 0; i < kHeld; ++i) {
    const int fd = open(Mnt("d/f" + std::to_string(i)).c_str(), O_RDONLY);
    if (fd >= 0) held.push_back(fd);
  }
  EXPECT_EQ(held.size(), static_cast<size_t>(kHeld)) << "opens failed at the limit";
  // FORGETs come asynchronously.
  std::map<std::string, long> after;
  for (int i = 0; i < 100; ++i) {
    after = daemon().Stats();
    if (after["nodeids_forgotten"] > before["nodeids_forgotten"]) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int fd : held) {
    char c = 0;
    EXPECT_EQ(pread(fd, &c, 1, 0), 1) << "a held file broke";
  }
  for (int fd : held) close(fd);
  ASSERT_TRUE(daemon().SetFdLimit(was));
  EXPECT_GT(after["fds_shed"], 0);
  EXPECT_GT(after["prune_asked"], 0) << "the kernel was not asked to prune";
  EXPECT_GT(after["nodeids_forgotten"], before["nodeids_forgotten"])
      << "no FORGET followed the prune";
  EXPECT_LT(after["inodes"], before["inodes"]);
  std::printf("[prune] asked %ld, forgotten %ld, inodes %ld -> %ld\n", after["prune_asked"],
              after["nodeids_forgotten"] - before["nodeids_forgotten"], before["inodes"],
              after["inodes"]);
  // Every file still reads right through the mount.
  for (int i = 0; i < kFiles; i += 37) {
    EXPECT_EQ(stat(Mnt("d/f" + std::to_string(i)).c_str(), &sb), 0);
    EXPECT_EQ(sb.st_size, 1);
  }
}

}  // namespace
}  // namespace ptfs::mounttest
