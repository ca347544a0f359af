#include "transport/unmount_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "sys/mountinfo.h"

extern char** environ;

namespace ptfs::transport {
namespace {

constexpr int kGuardFd = 3;

// What identifies the mount: its id, its device and its source (an id and
// a device number are reused once free, so one alone could name a later
// mount at the same place).
std::string IdentityOf(const sys::MountInfo& m) {
  return std::to_string(m.id) + ":" + std::to_string(m.major) + ":" + std::to_string(m.minor) +
         ":" + m.source;
}

}  // namespace

Errno StartUnmountGuard(Mounted* mounted) {
  const std::optional<sys::MountInfo>& mount = mounted->info;
  if (!mount) return Errno(ENOENT);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return Errno::Last();
  sys::UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears FD_CLOEXEC on the copy: the guard keeps only the read end,
  // and the terminal is not held by it.
  posix_spawn_file_actions_adddup2(&actions, read_end.get(), kGuardFd);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session: a Ctrl-C or hang-up meant for the command is not for it.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  const std::string identity = IdentityOf(*mount);
  const std::string method = mounted->method == MountMethod::kSyscall ? "syscall" : "fusermount";
  std::vector<char*> argv = {const_cast<char*>(kUnmountGuardName),
                             const_cast<char*>(mount->mount_point.c_str()),
                             const_cast<char*>(identity.c_str()), const_cast<char*>(method.c_str()),
                             nullptr};
  pid_t pid;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Errno(rc);
  mounted->unmount_guard = std::move(write_end);
  return Errno::Ok();
}

int RunUnmountGuard(int argc, char** argv) {
  if (argc != 4) return 2;
  const std::string mountpoint = argv[1], identity = argv[2], method = argv[3];
  ::close_range(kGuardFd + 1, ~0U, 0);
  char byte;
  for (;;) {
    const ssize_t n = ::read(kGuardFd, &byte, 1);
    if (n == 0) break;                       // the daemon is gone
    if (n < 0 && errno != EINTR) return 1;   // not a pipe: nothing to guard
  }
  const auto mount = sys::FindMount(sys::ReadMountInfo(), mountpoint);
  if (!mount || IdentityOf(*mount) != identity) return 0;  // unmounted already
  const MountMethod how = method == "syscall" ? MountMethod::kSyscall : MountMethod::kFusermount;
  return Unmount(mountpoint, how, mount->id) ? 1 : 0;
}

}  // namespace ptfs::transport
