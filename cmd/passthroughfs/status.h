// `passthroughfs status MOUNTPOINT`: what a running daemon reports about its
// mount (docs/status.md).
//
// The daemon listens on a unix socket in the abstract namespace named after
// its mount's device ("passthroughfs/status/0:52"), found again from
// /proc/self/mountinfo by the command. Chosen over a file under /run (no
// stale socket after a kill -9, the same rule for root's and a user's
// mounts whether or not $XDG_RUNTIME_DIR exists) and over a virtual file in
// the mount (which a mirror must not invent, and which a hung daemon could
// not answer without hanging its reader). Both ends check the other with
// SO_PEERCRED: the daemon answers only root and its own user; the command
// trusts only a socket held by root or by the mount's owner (user_id=), so
// a name taken first by someone else is refused, not believed.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ptfs/result.h"
#include "sys/fd.h"

namespace ptfs::cmd {

// key: value pairs in the order added; values are text or numbers (numbers
// stay numbers in JSON).
class StatusReport {
 public:
  void Text(std::string key, std::string value) {
    fields_.push_back({std::move(key), std::move(value), false});
  }
  void Number(std::string key, long long value) {
    fields_.push_back({std::move(key), std::to_string(value), true});
  }
  // "key: value" lines (a newline in a value is written as \n).
  std::string Lines() const;
  // One JSON object on one line, with its newline.
  std::string Json() const;

 private:
  struct Field {
    std::string key;
    std::string value;
    bool number;
  };
  std::vector<Field> fields_;
};

// The socket's name for the mount with device major:minor (without the
// abstract namespace's leading NUL).
std::string StatusSocketName(unsigned major, unsigned minor);

// The daemon's end: answers each connection with the report `make` builds,
// in a thread of its own, until destroyed.
class StatusServer {
 public:
  // Listens on `name`; only root and `owner` are answered. Errno on failure.
  // A name held by another process (EADDRINUSE) is waited for, in the
  // background, for up to `wait_for_name`: the kernel gives a new mount the
  // device number of one just unmounted, whose daemon may still be ending
  // and holding the name (seen under fstests, which remounts at once), and
  // an upgraded server's predecessor frees it as it exits. If it stays
  // taken, a warning says there is no status command.
  static Result<std::unique_ptr<StatusServer>> Start(
      const std::string& name, uid_t owner, std::function<StatusReport()> make,
      std::chrono::milliseconds wait_for_name = std::chrono::seconds(5));
  ~StatusServer();
  // Frees the socket's name at once (a server handing over, which exits
  // right after): no join of the answering thread.
  void StopListening();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

 private:
  StatusServer(std::string name, sys::UniqueFd listener, uid_t owner,
               std::function<StatusReport()> make, std::chrono::milliseconds wait_for_name);
  void Loop();
  // Tells the answering thread to end (stop_ and the eventfd it polls).
  void WakeToStop();
  // Binds the name once it is free: the listening fd, or -1 (stopped, or
  // still taken after wait_for_name_).
  int WaitForName();
  void Answer(int conn);

  const std::string name_;
  std::mutex mu_;
  sys::UniqueFd listener_;  // set once, by Start or WaitForName (mu_)
  sys::UniqueFd wake_;      // eventfd: stop
  std::atomic<bool> stop_{false};
  uid_t owner_;
  std::function<StatusReport()> make_;
  const std::chrono::milliseconds wait_for_name_;
  std::thread thread_;
};

// The command: `args` are what follows "status". Prints the report (or one
// line saying why not) and returns the exit status.
int RunStatus(const std::vector<std::string>& args);
// `passthroughfs upgrade MOUNTPOINT` (--restartable): the mount's supervisor
// runs the binary on disk, which takes the connection over; prints the new
// server's pid and version and how long the hand-over took.
int RunUpgrade(const std::vector<std::string>& args);

}  // namespace ptfs::cmd
