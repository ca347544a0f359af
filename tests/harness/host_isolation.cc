#include "tests/harness/host_isolation.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sys/syscalls.h"

namespace ptfs::testing {
namespace {

constexpr const char* kTempRoot = "/tmp";  // where every harness makes its directories

DeviceIsolation g_isolation = DeviceIsolation::kNone;

[[noreturn]] void Die(const char* what) {
  fprintf(stderr, "host isolation: %s: %s\n", what, strerror(errno));
  abort();
}

// A private mount namespace in which kTempRoot is nodev,nosuid. False if the
// namespace is refused; aborts if it fails half way.
bool NodevTempRoot() {
  if (::unshare(CLONE_NEWNS) != 0) return false;
  // Before anything is mounted: with shared propagation, the mounts below
  // would appear in the host's namespace too.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Die("making the new mount namespace private");
  }
  if (::mount(kTempRoot, kTempRoot, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    Die("bind-mounting /tmp onto itself");
  }
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID;
  if (::mount_setattr(AT_FDCWD, kTempRoot, AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
    Die("mount_setattr nodev,nosuid on /tmp");
  }
  return true;
}

// Drops CAP_MKNOD from the calling thread's effective, permitted and
// inheritable sets (and the bounding set where allowed).
void DropMknod() {
  (void)::prctl(PR_CAPBSET_DROP, CAP_MKNOD, 0, 0, 0);  // needs CAP_SETPCAP
  struct __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) Die("capget");
  const unsigned bit = 1U << (CAP_MKNOD % 32);
  data[CAP_MKNOD / 32].effective &= ~bit;
  data[CAP_MKNOD / 32].permitted &= ~bit;
  data[CAP_MKNOD / 32].inheritable &= ~bit;
  if (::syscall(SYS_capset, &header, data) != 0) Die("capset without CAP_MKNOD");
}

}  // namespace

DeviceIsolation IsolateFromHostDevices() {
  if (g_isolation != DeviceIsolation::kNone) return g_isolation;
  if (sys::HasCapability(CAP_SYS_ADMIN) && NodevTempRoot()) {
    g_isolation = DeviceIsolation::kNodevMount;
  } else if (sys::HasCapability(CAP_MKNOD)) {
    DropMknod();
    if (sys::HasCapability(CAP_MKNOD)) Die("CAP_MKNOD is still in force");
    g_isolation = DeviceIsolation::kNoMknod;
  } else {
    g_isolation = DeviceIsolation::kNotNeeded;
  }
  return g_isolation;
}

DeviceIsolation CurrentDeviceIsolation() { return g_isolation; }

const char* Describe(DeviceIsolation isolation) {
  switch (isolation) {
    case DeviceIsolation::kNone:
      return "not isolated";
    case DeviceIsolation::kNotNeeded:
      return "no CAP_MKNOD: device nodes cannot be created";
    case DeviceIsolation::kNodevMount:
      return "/tmp is nodev,nosuid in a private mount namespace";
    case DeviceIsolation::kNoMknod:
      return "CAP_MKNOD dropped: device nodes cannot be created";
  }
  return "?";
}

bool DevicesUnreachableUnder(const std::string& dir) {
  struct statvfs sv;
  if (::statvfs(dir.c_str(), &sv) == 0 && (sv.f_flag & ST_NODEV) != 0) return true;
  return !sys::HasCapability(CAP_MKNOD);
}

}  // namespace ptfs::testing
