// --restartable: the process that mounted stays as a supervisor holding the
// FUSE connection (the /dev/fuse fd and the restart state file) and runs the
// server in a child. When the child dies of a signal (kill -9, a crash) and
// the mount is still there, it starts another, which takes the connection
// over (docs/persistent-identity.md): the kernel keeps the mount, its
// inodes, open files and queued requests meanwhile; nothing is unmounted.
#pragma once

#include <signal.h>

#include <functional>
#include <string>

namespace ptfs::cmd {

// A server's exit status when it handed the connection over (live upgrade):
// it answered what it held and stopped reading; nothing was released.
inline constexpr int kExitHandedOver = 75;
// Sent by such a server to the supervisor as soon as it has stopped reading
// (before its exit, which takes a while in a large process): the next server
// may start at once.
inline int HandedOverSignal() { return SIGRTMIN + 1; }

struct SupervisorConfig {
  // The mount: its id (0: unknown) says whether it is still there.
  unsigned mount_id = 0;
  std::string mountpoint;
  // Blocked in this process; forwarded to the serving child.
  sigset_t signals;
  // When to stop (the supervisor ends, and the connection with it): after
  // this many servers in a row died before they served (a server that
  // cannot take over), or this many in a row lived less than
  // `short_life_ms` (a request that kills every server it is resent to).
  int max_failed_starts = 3;
  int max_short_lives = 10;
  int short_life_ms = 500;
  // Closed once the first child runs (its copy is the one that is used:
  // daemon mode's readiness pipe to the waiting parent).
  int close_after_first_start = -1;
  // Live upgrade, in the supervisor that took over by exec: the server the
  // previous binary started, told to hand over (SIGUSR2) and waited for
  // before the first server of this binary starts; and that one's
  // generation (it takes the connection over).
  pid_t hand_over_from = 0;
  int first_generation = 0;
  // SIGUSR2 to the supervisor: upgrade. Called with the serving child's
  // pid and generation; execs the binary on disk (supervisor, take-over
  // mode) and returns only if that failed (logged; serving goes on).
  std::function<void(pid_t server, int generation)> upgrade;
};

// Waits for the server `pid` (a child of this process) to end, forwarding
// `signals` to it; its exit status (1 if it died of a signal).
int Outlive(pid_t pid, const sigset_t& signals);

// Runs `serve(generation, ready_fd)` in a child process (generation 0, then
// 1, 2, ... for each restart) and returns the exit status of the last child
// that exited by itself (0 once unmounted), or 1 when it gave up. The child
// writes a byte to `ready_fd` once it serves (INIT answered, or the
// connection taken over).
int Supervise(const SupervisorConfig& config,
              const std::function<int(int generation, int ready_fd)>& serve);

}  // namespace ptfs::cmd
