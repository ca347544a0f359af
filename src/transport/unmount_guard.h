// -o auto_unmount that holds whatever ends the daemon: kill -9, a crash.
//
// fusermount3's own auto_unmount (which it does for normal users' mounts)
// checks the mount by opening it as root; a mount without allow_other or
// allow_root refuses root with EACCES, and fusermount3 3.14 (Debian 12)
// then leaves the dead mount in place (libfuse issue #586, fixed in 3.15).
// And as root there is no fusermount3 at all. So the daemon starts a guard
// of its own: a small process (the daemon's executable run as
// "passthroughfs-unmount-guard", so ps shows what it is) that holds the read
// end of a pipe whose write end only the daemon holds. When the daemon is
// gone, however it ended, the read sees end-of-file, and the guard unmounts
// MOUNTPOINT if the mount there is still this one (the same mount id,
// device and source in mountinfo; after a clean unmount it is not), with
// transport::Unmount given the mount id (as root through an fd on that
// mount, never by path alone; `fusermount3 -u -z` as a normal user), then
// exits.
#pragma once

#include <string>

#include "ptfs/result.h"
#include "transport/mount.h"

namespace ptfs::transport {

// argv[0] under which the daemon's executable runs as the guard.
inline constexpr const char* kUnmountGuardName = "passthroughfs-unmount-guard";

// Starts the guard for the mount just made (`mounted`, whose info names
// it), and keeps the pipe's write end in mounted->unmount_guard.
Errno StartUnmountGuard(Mounted* mounted);

// The guard's main: argv as given to the executable (argv[0] is
// kUnmountGuardName); fd 3 is the pipe's read end. Returns the exit status.
int RunUnmountGuard(int argc, char** argv);

}  // namespace ptfs::transport
