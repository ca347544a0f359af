#include "tests/datapath/daemon_mount.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace ptfs::testing {
namespace {
bool IsMounted(const std::string& mnt) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + mnt + " ") != std::string::npos) return true;
  }
  return false;
}
}  // namespace

bool EnableUring() {
  const char* param = "/sys/module/fuse/parameters/enable_uring";
  int dev = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);  // loads the fuse module
  if (dev >= 0) ::close(dev);
  int fd = ::open(param, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "this kernel cannot serve FUSE over io_uring (" << param << ": "
                  << strerror(errno) << ")";
    return false;
  }
  const bool ok = ::write(fd, "Y", 1) == 1;
  ::close(fd);
  EXPECT_TRUE(ok) << "writing Y to " << param;
  return ok;
}

DaemonMount::DaemonMount(std::vector<std::string> extra_args) {
  char tmpl[] = "/tmp/ptfs-datapath-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  source_ = dir_ + "/src";
  mnt_ = dir_ + "/mnt";
  stats_ = dir_ + "/stats";
  ::mkdir(source_.c_str(), 0755);
  ::mkdir(mnt_.c_str(), 0755);
  std::vector<std::string> args = {PTFS_DAEMON, "-f", "--stats-file=" + stats_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.push_back(source_);
  args.push_back(mnt_);
  pid_ = ::fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 500 && !IsMounted(mnt_); ++i) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "daemon exited before mounting";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ok_ = IsMounted(mnt_);
  EXPECT_TRUE(ok_) << "mount did not appear";
}

DaemonMount::~DaemonMount() {
  if (pid_ > 0) {
    ::umount2(mnt_.c_str(), MNT_DETACH);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "daemon " << (WIFSIGNALED(status) ? "killed by signal " : "exited with status ")
        << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::map<std::string, long> DaemonMount::Stats() {
  std::map<std::string, long> out;
  ::unlink(stats_.c_str());
  ::kill(pid_, SIGUSR1);
  for (int i = 0; i < 500 && ::access(stats_.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::ifstream in(stats_);
  std::string name;
  long value;
  while (in >> name >> value) out[name] = value;
  EXPECT_FALSE(out.empty()) << "no stats from the daemon";
  return out;
}

}  // namespace ptfs::testing
