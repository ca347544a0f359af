// Keeps the test harnesses that drive the real server in-process (the fake
// kernel, the session fuzzer) away from the host's devices.
//
// A real kernel never sends OPEN for a device node on a FUSE mount, which is
// nodev; a harness plays the kernel and sends whatever it is told. Issue 17: a
// fuzz input MKNODed a block device node in the harness's SOURCE, OPENed and
// WROTE it, and, run as root, wrote to a loop device of the CI machine. So
// before it starts the server, a harness running with CAP_MKNOD puts its
// temporary directories where a device node cannot be opened: /tmp is
// bind-mounted onto itself nodev,nosuid in a private mount namespace of the
// test process (the same filesystem, so renames between SOURCE and other
// temporary directories still work; nothing changes for the rest of the
// machine). Opening any device node there fails with EACCES, whoever created
// it. Where a mount namespace is refused (no CAP_SYS_ADMIN), CAP_MKNOD is
// dropped instead, so no device node can be created at all.
#pragma once

#include <string>

namespace ptfs::testing {

enum class DeviceIsolation {
  kNone,        // IsolateFromHostDevices has not run
  kNotNeeded,   // no CAP_MKNOD and no CAP_SYS_ADMIN: no device node can be made
  kNodevMount,  // /tmp is nodev in this process's private mount namespace
  kNoMknod,     // CAP_MKNOD dropped
};

// Isolates the process as above. Call before any thread starts: the mount
// namespace and the capability sets are per thread, and only threads created
// afterwards inherit them. Aborts when it can do neither. Idempotent.
DeviceIsolation IsolateFromHostDevices();
DeviceIsolation CurrentDeviceIsolation();
const char* Describe(DeviceIsolation isolation);

// Whether a device node under `dir` cannot reach a device: the filesystem is
// mounted nodev there, or the calling thread cannot create device nodes.
// Harnesses check their SOURCE with it and refuse to run otherwise.
bool DevicesUnreachableUnder(const std::string& dir);

}  // namespace ptfs::testing
