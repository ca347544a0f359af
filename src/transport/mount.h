// Mounting and unmounting a FUSE filesystem, following libfuse's conventions:
// as root with mount(2) on a freshly opened /dev/fuse; otherwise through the
// setuid helper fusermount3, which passes the device fd back over a socket.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "sys/fd.h"
#include "sys/mountinfo.h"
#include "ptfs/result.h"

namespace ptfs::transport {

struct MountRequest {
  std::string mountpoint;
  std::string fsname;   // shown as the mount's source
  std::string subtype;  // "passthroughfs": type fuse.passthroughfs
  bool allow_other = false;
  bool default_permissions = true;
  bool read_only = false;
  unsigned long flags = 0;  // extra MS_* flags (nosuid, nodev, noatime, ...)
  std::string fusermount_options;  // generic options only fusermount3 understands
  // Among them, auto_unmount: fusermount3 then stays after passing the
  // device fd back and unmounts when this process ends (Mounted).
  bool auto_unmount = false;
  friend bool operator==(const MountRequest&, const MountRequest&) = default;
};

enum class MountMethod { kSyscall, kFusermount };

struct Mounted {
  sys::UniqueFd device;  // the session's /dev/fuse fd
  MountMethod method = MountMethod::kSyscall;
  // With -o auto_unmount (fusermount3 only): the socket fusermount3 keeps
  // reading; when it closes, as this process ends however it ends,
  // fusermount3 unmounts. Kept for as long as the mount is served.
  sys::UniqueFd auto_unmount_socket;
  // The mount as /proc/self/mountinfo shows it right after mounting (its
  // id and device), read once for all who need it: the unmount guard, the
  // status socket's name, and Unmount's check; nullopt if it did not show.
  std::optional<sys::MountInfo> info;
  // With -o auto_unmount: the write end of the unmount guard's pipe
  // (unmount_guard.h), held for as long as the mount is served.
  sys::UniqueFd unmount_guard;
  // INIT was answered during mount(2) (FUSE_DEV_IOC_SYNC_INIT): the mount
  // was complete when mount(2) returned.
  bool init_during_mount = false;
};

// Answers INIT during mount(2) (FUSE_DEV_IOC_SYNC_INIT, Linux 6.18), on a
// thread of its own while mount(2) waits: reads INIT from `dev_fd`, answers
// it, and returns whether it accepted it. `stop` is set (and the thread
// signalled, so a blocked read returns EINTR) when mount(2) failed without
// sending INIT: it must then return false.
using InitAnswerer = std::function<bool(int dev_fd, const std::atomic<bool>& stop)>;

// Mounts; on failure returns the errno and fills `why` with a one-line reason.
// With `answer_init`, where the kernel offers it and mount(2) is used (root),
// INIT is answered during mount(2) (Mounted::init_during_mount); otherwise
// it comes later, to the server, as before.
Result<Mounted> Mount(const MountRequest& request, std::string* why,
                      const InitAnswerer& answer_init = nullptr);
// Changes the flags of the FUSE mount at request.mountpoint (ro/rw, nosuid,
// nodev, noexec, sync, dirsync, lazytime) with mount(2) MS_REMOUNT, which the
// kernel applies without asking the daemon; the daemon keeps serving. The
// access-time rule cannot change this way: the daemon applies it to SOURCE's
// files itself (docs/decisions.md), so a remount that would change it is
// refused. Needs CAP_SYS_ADMIN (fusermount3 has no remount).
Errno Remount(const MountRequest& request, std::string* why);
// Lazily unmounts (MNT_DETACH / fusermount3 -u -z). With `mount_id`
// (mountinfo's first field, Mounted::info) and mount(2)'s method, never by
// path alone: MOUNTPOINT is opened (O_PATH, no request to the daemon), the
// fd's mount checked to be that one (ESTALE if not) and unmounted through
// the fd, so that whoever can write a directory above MOUNTPOINT cannot
// swap in a symlink and have another mount unmounted. (fusermount3 does its
// own checks.)
Errno Unmount(const std::string& mountpoint, MountMethod method, unsigned mount_id = 0);

}  // namespace ptfs::transport
