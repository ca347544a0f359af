#include "cmd/passthroughfs/supervisor.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "sys/mountinfo.h"
#include "util/log.h"

namespace ptfs::cmd {

namespace {

bool StillMounted(unsigned mount_id) {
  if (mount_id == 0) return true;  // cannot tell: assume so (the next child finds out)
  for (const sys::MountInfo& m : sys::ReadMountInfo()) {
    if (m.id == mount_id) return true;
  }
  return false;
}

// What WaitForChild saw: the child's wait status, or that it handed the
// connection over and is exiting on its own (reaped later).
constexpr int kHandedOverStatus = -1;

// Waits for `pid` to end (or to say it handed over), forwarding the other
// signals in `wait_for` to it meanwhile; returns its wait status. SIGUSR2
// (upgrade) calls `upgrade` (which returns only if it could not exec).
// Reaps any other child that ended (a server that handed over).
int WaitForChild(pid_t pid, const sigset_t& wait_for, const std::function<void()>& upgrade) {
  // Every wake-up, and every tenth of a second, reaps what has ended: a
  // SIGCHLD merged with another (they do not queue) must not leave a
  // server that handed over as a zombie, nor hide `pid`'s end.
  const timespec tick{0, 100 * 1000 * 1000};
  for (;;) {
    int status = 0;
    for (pid_t done; (done = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      if (done == pid) return status;
    }
    siginfo_t info;
    const int sig = sigtimedwait(&wait_for, &info, &tick);
    if (sig < 0) continue;  // EAGAIN (the tick) or EINTR
    if (sig == SIGUSR2) {
      if (upgrade) upgrade();
      continue;
    }
    if (sig == HandedOverSignal()) {
      if (info.si_pid == pid) return kHandedOverStatus;
      continue;
    }
    if (sig != SIGCHLD) {
      (void)::kill(pid, sig);  // SIGTERM unmounts, SIGUSR1 writes stats: the server's to do
    }
  }
}

}  // namespace

int Outlive(pid_t pid, const sigset_t& signals) {
  sigset_t wait_for = signals;
  sigaddset(&wait_for, SIGCHLD);
  sigaddset(&wait_for, HandedOverSignal());
  pthread_sigmask(SIG_BLOCK, &wait_for, nullptr);
  for (;;) {
    const int status = WaitForChild(pid, wait_for, nullptr);
    if (status == kHandedOverStatus) continue;  // it cannot hand over to anyone: it exits
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
}

int Supervise(const SupervisorConfig& config,
              const std::function<int(int generation, int ready_fd)>& serve) {
  sigset_t wait_for = config.signals;
  sigaddset(&wait_for, SIGCHLD);
  sigaddset(&wait_for, HandedOverSignal());
  pthread_sigmask(SIG_BLOCK, &wait_for, nullptr);
  int failed_starts = 0, short_lives = 0;
  if (config.hand_over_from != 0) {
    // The previous binary's server: it answers what it holds, stops and
    // exits kExitHandedOver; requests made meanwhile wait in the kernel.
    (void)::kill(config.hand_over_from, SIGUSR2);
    const int status = WaitForChild(config.hand_over_from, wait_for, nullptr);
    if (status != kHandedOverStatus && WIFEXITED(status) &&
        WEXITSTATUS(status) != kExitHandedOver) {
      return WEXITSTATUS(status);  // it ended by itself first (unmounted: 0)
    }
    if (!StillMounted(config.mount_id)) return 0;
  }
  for (int generation = config.first_generation;; ++generation) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC | O_NONBLOCK) < 0) {
      LOG_ERROR("--restartable: cannot start the server: pipe: %s", strerror(errno));
      return 1;
    }
    const auto started = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) {
      LOG_ERROR("--restartable: cannot start the server: %s", strerror(errno));
      return 1;
    }
    if (pid == 0) {
      ::close(ready[0]);
      sigset_t child;
      sigemptyset(&child);
      sigaddset(&child, SIGCHLD);
      pthread_sigmask(SIG_UNBLOCK, &child, nullptr);
      const int code = serve(generation, ready[1]);
      fflush(nullptr);
      // Not exit(): this copy of the supervisor's objects is not ours to
      // tear down, and threads may still run.
      _exit(code);
    }
    ::close(ready[1]);
    if (generation == config.first_generation) {
      if (config.close_after_first_start >= 0) ::close(config.close_after_first_start);
      LOG_INFO("--restartable: serving in process %d; this process (%d) keeps the connection",
               pid, getpid());
    }
    const int status = WaitForChild(pid, wait_for, [&] {
      if (config.upgrade) config.upgrade(pid, generation);
    });
    char byte;
    const bool served = ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
    if (status == kHandedOverStatus) {
      // Told to hand over (SIGUSR2 sent to it directly): the next one takes over.
      failed_starts = short_lives = 0;
      continue;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != kExitHandedOver) return WEXITSTATUS(status);
    const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (!StillMounted(config.mount_id)) {
      LOG_INFO("the server (process %d) ended by signal %d and %s is no longer mounted", pid, sig,
               config.mountpoint.c_str());
      return 0;
    }
    const auto lived = std::chrono::steady_clock::now() - started;
    failed_starts = served ? 0 : failed_starts + 1;
    short_lives = lived < std::chrono::milliseconds(config.short_life_ms) ? short_lives + 1 : 0;
    if (failed_starts >= config.max_failed_starts || short_lives >= config.max_short_lives) {
      LOG_ERROR("the server keeps dying (process %d, signal %d; %d in a row before serving, %d "
                "in a row within %d ms): giving up; the mount ends with this process",
                pid, sig, failed_starts, short_lives, config.short_life_ms);
      return 1;
    }
    LOG_WARN("the server (process %d) died of signal %d (%s); starting it again (restart %d)",
             pid, sig, strsignal(sig), generation + 1);
  }
}

}  // namespace ptfs::cmd
