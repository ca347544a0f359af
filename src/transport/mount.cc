#include "transport/mount.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "abi/fuse_abi.h"

extern char** environ;

namespace ptfs::transport {
namespace {

std::string MountData(const MountRequest& r, int fd, mode_t rootmode) {
  std::string d = "fd=" + std::to_string(fd);
  char mode[16];
  snprintf(mode, sizeof(mode), "%o", rootmode & S_IFMT);
  d += ",rootmode=";
  d += mode;
  d += ",user_id=" + std::to_string(getuid()) + ",group_id=" + std::to_string(getgid());
  if (r.default_permissions) d += ",default_permissions";
  if (r.allow_other) d += ",allow_other";
  return d;
}

// Interrupts the INIT answerer's read when mount(2) failed before INIT.
int InitInterruptSignal() { return SIGRTMIN + 2; }
void IgnoreSignal(int) {}

// Runs `answer_init` on its own thread while `mount` runs on this one.
// Returns mount's result; `*answered`: INIT was answered and accepted.
template <typename MountCall>
int MountWhileAnsweringInit(int fd, const InitAnswerer& answer_init, MountCall mount,
                            bool* answered) {
  struct sigaction sa{};
  sa.sa_handler = IgnoreSignal;  // no SA_RESTART: the read returns EINTR
  sigemptyset(&sa.sa_mask);
  ::sigaction(InitInterruptSignal(), &sa, nullptr);
  std::atomic<bool> stop{false}, done{false}, accepted{false};
  std::thread answerer([&] {
    sigset_t mine;
    sigemptyset(&mine);
    sigaddset(&mine, InitInterruptSignal());
    ::pthread_sigmask(SIG_UNBLOCK, &mine, nullptr);
    accepted = answer_init(fd, stop);
    done = true;
  });
  const int rc = mount();
  const int saved = errno;
  if (rc < 0) {
    // mount(2) failed; if it did so before sending INIT, the answerer is
    // still waiting for it.
    stop = true;
    while (!done) {
      ::pthread_kill(answerer.native_handle(), InitInterruptSignal());
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  answerer.join();
  *answered = rc == 0 && accepted;
  errno = saved;
  return rc;
}

Result<Mounted> MountSyscall(const MountRequest& r, mode_t rootmode, std::string* why,
                             const InitAnswerer& answer_init) {
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    Errno e = Errno::Last();
    *why = std::string("cannot open /dev/fuse: ") + strerror(e.value());
    return e;
  }
  sys::UniqueFd dev(fd);
  const std::string type = r.subtype.empty() ? "fuse" : "fuse." + r.subtype;
  const std::string data = MountData(r, fd, rootmode);
  unsigned long flags = r.flags | (r.read_only ? MS_RDONLY : 0);
  auto mount = [&] {
    return ::mount(r.fsname.c_str(), r.mountpoint.c_str(), type.c_str(), flags, data.c_str());
  };
  // ENOTTY before Linux 6.18: INIT comes after mount(2), to the server.
  const bool sync_init =
      answer_init != nullptr && ::ioctl(fd, abi::FUSE_DEV_IOC_SYNC_INIT) == 0;
  bool answered = false;
  const int rc = sync_init ? MountWhileAnsweringInit(fd, answer_init, mount, &answered) : mount();
  if (rc < 0) {
    Errno e = Errno::Last();
    *why = "mount(2) on " + r.mountpoint + " failed: " + strerror(e.value());
    if (sync_init) *why += " (INIT was to be answered during mount(2); see the log)";
    return e;
  }
  Mounted m{std::move(dev), MountMethod::kSyscall};
  m.init_during_mount = answered;
  return m;
}

// Receives one fd sent with SCM_RIGHTS.
int ReceiveFd(int sock) {
  char byte;
  struct iovec iov{&byte, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return -1;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(fd));
  return fd;
}

// Starts fusermount3 with `args`, handing it `pass_fd` (its end of the
// socket it sends the device fd over); the pid, or -1 if it cannot run.
pid_t SpawnFusermount(const std::vector<std::string>& args, int pass_fd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (strncmp(*e, "_FUSE_COMMFD=", 13) != 0) envp.push_back(*e);
  }
  if (pass_fd >= 0) {
    env_store.push_back("_FUSE_COMMFD=" + std::to_string(pass_fd));
    envp.push_back(env_store.back().data());
  }
  envp.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, argv.data(), envp.data()) != 0) {
    return -1;
  }
  return pid;
}

// Its exit status, or -1 if it did not exit normally (or never ran).
int WaitFusermount(pid_t pid) {
  if (pid < 0) return -1;
  int status;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int RunFusermount(const std::vector<std::string>& args, int pass_fd) {
  return WaitFusermount(SpawnFusermount(args, pass_fd));
}

// The id of the mount `fd` lies on, from /proc/self/fdinfo (which asks
// nothing of a FUSE daemon); -1 if unknown.
long MountIdOfFd(int fd) {
  FILE* f = std::fopen(("/proc/self/fdinfo/" + std::to_string(fd)).c_str(), "re");
  if (f == nullptr) return -1;
  long id = -1;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "mnt_id: %ld", &id) == 1) break;
  }
  std::fclose(f);
  return id;
}

Result<Mounted> MountFusermount(const MountRequest& r, std::string* why) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return Errno::Last();
  sys::UniqueFd ours(sv[0]), theirs(sv[1]);
  ::fcntl(ours.get(), F_SETFD, FD_CLOEXEC);  // only the child's end is inherited
  std::string opts = r.read_only ? "ro" : "rw";
  if (r.flags & MS_NOSUID) opts += ",nosuid";
  if (r.flags & MS_NODEV) opts += ",nodev";
  if (r.flags & MS_NOEXEC) opts += ",noexec";
  if (r.flags & MS_NOATIME) opts += ",noatime";
  if (r.flags & MS_NODIRATIME) opts += ",nodiratime";
  if (r.flags & MS_SYNCHRONOUS) opts += ",sync";
  if (r.flags & MS_DIRSYNC) opts += ",dirsync";
  if (r.default_permissions) opts += ",default_permissions";
  if (r.allow_other) opts += ",allow_other";
  if (!r.fsname.empty()) opts += ",fsname=" + r.fsname;
  if (!r.subtype.empty()) opts += ",subtype=" + r.subtype;
  if (!r.fusermount_options.empty()) opts += "," + r.fusermount_options;
  // The device fd is received before fusermount3 is waited for: with
  // auto_unmount it does not exit after sending it but stays, reading the
  // socket, and unmounts once the socket closes (this process ended), so
  // waiting first never returned. Its end is closed here, so a fusermount3
  // that fails makes the receive see end-of-file.
  const pid_t pid = SpawnFusermount({"fusermount3", "-o", opts, "--", r.mountpoint}, theirs.get());
  theirs.Reset();
  if (pid < 0) {
    *why = "cannot run fusermount3 (install the fuse3 package)";
    return Errno(ENOENT);
  }
  sys::UniqueFd device(ReceiveFd(ours.get()));  // -1 when none came
  if (device.valid() && r.auto_unmount) {
    // fusermount3 stays; the socket lives as long as the mount is served.
    return Mounted{std::move(device), MountMethod::kFusermount, std::move(ours)};
  }
  if (WaitFusermount(pid) != 0) {
    *why = "fusermount3 failed to mount " + r.mountpoint + " (see its message above)";
    return Errno(EPERM);
  }
  if (!device.valid()) {
    *why = "fusermount3 did not pass back the /dev/fuse fd";
    return Errno(EIO);
  }
  return Mounted{std::move(device), MountMethod::kFusermount};
}

}  // namespace

Result<Mounted> Mount(const MountRequest& request, std::string* why,
                      const InitAnswerer& answer_init) {
  // AT_STATX_FORCE_SYNC: the attributes of a dead FUSE mount (its daemon
  // killed) may still be cached, and a plain stat() would succeed from the
  // cache and let a second mount stack on top; forced, it asks the dead
  // connection and fails with ENOTCONN. A daemon that served over io_uring
  // answers ECANCELED (or ECONNABORTED) instead for the moment between its
  // death and the kernel's asynchronous ring teardown aborting the
  // connection: the same dead mount, seen earlier.
  struct statx stx;
  if (::statx(AT_FDCWD, request.mountpoint.c_str(), AT_STATX_FORCE_SYNC, STATX_TYPE | STATX_MODE,
              &stx) < 0) {
    Errno e = Errno::Last();
    const bool dead_fuse =
        e.value() == ENOTCONN || e.value() == ECANCELED || e.value() == ECONNABORTED;
    *why = dead_fuse
               ? "mountpoint " + request.mountpoint +
                     " is busy: a dead FUSE mount is still there (fusermount3 -u it)"
               : "mountpoint " + request.mountpoint + ": " + strerror(e.value());
    return e;
  }
  if (!S_ISDIR(stx.stx_mode)) {
    *why = "mountpoint " + request.mountpoint + " is not a directory";
    return Errno(ENOTDIR);
  }
  Result<Mounted> mounted = ::geteuid() == 0
                                ? MountSyscall(request, stx.stx_mode, why, answer_init)
                                : MountFusermount(request, why);
  if (mounted.ok()) {
    mounted->info = sys::FindMount(sys::ReadMountInfo(), sys::MountPointPath(request.mountpoint));
  }
  return mounted;
}

Errno Remount(const MountRequest& request, std::string* why) {
  constexpr long kFuseSuperMagic = 0x65735546;
  const std::string& mnt = request.mountpoint;
  struct statfs fs;
  if (::statfs(mnt.c_str(), &fs) < 0) {
    Errno e = Errno::Last();
    *why = "cannot remount " + mnt + ": " + strerror(e.value());
    return e;
  }
  struct statx stx;
  if (fs.f_type != kFuseSuperMagic ||
      ::statx(AT_FDCWD, mnt.c_str(), 0, STATX_TYPE, &stx) < 0 ||
      (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) == 0 ||
      (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) == 0) {
    *why = "cannot remount " + mnt + ": it is not the root of a FUSE mount";
    return Errno(EINVAL);
  }
  // statfs(2)'s f_flags carry the mount's ST_* flags.
  constexpr unsigned long kAtimeFlags = ST_NOATIME | ST_RELATIME | ST_NODIRATIME;
  unsigned long wanted_atime = 0;
  if (request.flags & MS_NOATIME) wanted_atime |= ST_NOATIME;
  if (request.flags & MS_NODIRATIME) wanted_atime |= ST_NODIRATIME;
  // relatime is the kernel's default when no rule is given.
  if ((request.flags & (MS_NOATIME | MS_STRICTATIME)) == 0) wanted_atime |= ST_RELATIME;
  if ((static_cast<unsigned long>(fs.f_flags) & kAtimeFlags) != wanted_atime) {
    *why = "cannot remount " + mnt +
           ": the access-time rule (atime, noatime, relatime, strictatime, nodiratime) of a "
           "running mount cannot change; unmount and mount again";
    return Errno(EINVAL);
  }
  const unsigned long flags = MS_REMOUNT | request.flags | (request.read_only ? MS_RDONLY : 0);
  if (::mount(nullptr, mnt.c_str(), nullptr, flags, nullptr) < 0) {
    Errno e = Errno::Last();
    *why = "remount of " + mnt + " failed: " + strerror(e.value());
    if (e.value() == EPERM) *why += " (a remount needs root)";
    if (e.value() == EBUSY && request.read_only) *why += " (files are open for writing)";
    return e;
  }
  return Errno::Ok();
}

Errno Unmount(const std::string& mountpoint, MountMethod method, unsigned mount_id) {
  if (method == MountMethod::kSyscall) {
    if (mount_id == 0) return CheckSys(::umount2(mountpoint.c_str(), MNT_DETACH));
    sys::UniqueFd root(::open(mountpoint.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) return Errno::Last();
    if (MountIdOfFd(root.get()) != static_cast<long>(mount_id)) return Errno(ESTALE);
    const std::string magic = "/proc/self/fd/" + std::to_string(root.get());
    return CheckSys(::umount2(magic.c_str(), MNT_DETACH));
  }
  int rc = RunFusermount({"fusermount3", "-u", "-q", "-z", "--", mountpoint}, -1);
  return rc == 0 ? Errno::Ok() : Errno(EIO);
}

}  // namespace ptfs::transport
