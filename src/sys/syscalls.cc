#include "sys/syscalls.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>

namespace ptfs::sys {

namespace {

std::mutex fd_pressure_mu;
FdPressureHandler fd_pressure_handler = nullptr;
void* fd_pressure_arg = nullptr;
uint64_t fd_pressure_token = 0;

// Runs `open` (returning an fd or -1 with errno); on EMFILE lets the handler
// free fds and runs it once more.
template <typename Open>
int OpenRelievingFdPressure(Open open) {
  int fd = open();
  if (fd >= 0 || errno != EMFILE) return fd;
  bool relieved = false;
  {
    std::lock_guard<std::mutex> lock(fd_pressure_mu);
    if (fd_pressure_handler != nullptr) relieved = fd_pressure_handler(fd_pressure_arg);
  }
  if (!relieved) {
    errno = EMFILE;
    return -1;
  }
  return open();
}

}  // namespace

uint64_t SetFdPressureHandler(FdPressureHandler handler, void* arg) {
  std::lock_guard<std::mutex> lock(fd_pressure_mu);
  fd_pressure_handler = handler;
  fd_pressure_arg = arg;
  return ++fd_pressure_token;
}

void ClearFdPressureHandler(uint64_t token) {
  std::lock_guard<std::mutex> lock(fd_pressure_mu);
  if (token != fd_pressure_token) return;
  fd_pressure_handler = nullptr;
  fd_pressure_arg = nullptr;
}

Result<UniqueFd> OpenAt(int dirfd, const char* name, int flags, mode_t mode) {
  int fd = OpenRelievingFdPressure([&] { return ::openat(dirfd, name, flags | O_CLOEXEC, mode); });
  if (fd < 0) return Errno::Last();
  return UniqueFd(fd);
}

Result<UniqueFd> OpenTreeClone(const char* path) {
  constexpr unsigned kOpenTreeClone = 1;  // OPEN_TREE_CLONE, <linux/mount.h>
#ifndef SYS_open_tree
  constexpr long SYS_open_tree = 428;
#endif
  const long fd = ::syscall(SYS_open_tree, AT_FDCWD, path,
                            kOpenTreeClone | O_CLOEXEC | AT_RECURSIVE);
  if (fd < 0) return Errno::Last();
  return UniqueFd(static_cast<int>(fd));
}

Errno SetTreeAtime(int tree_fd, AtimeRule rule, bool nodiratime) {
#ifndef SYS_mount_setattr
  constexpr long SYS_mount_setattr = 442;
#endif
  // struct mount_attr and MOUNT_ATTR_* of <linux/mount.h>.
  struct {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
  } attr{};
  constexpr uint64_t kRelatime = 0x0, kNoatime = 0x10, kStrictatime = 0x20, kAtimeMask = 0x70,
                     kNodiratime = 0x80;
  attr.attr_set = rule == AtimeRule::kNoatime       ? kNoatime
                  : rule == AtimeRule::kStrictatime ? kStrictatime
                                                    : kRelatime;
  attr.attr_clr = kAtimeMask;
  if (nodiratime) {
    attr.attr_set |= kNodiratime;
  } else {
    attr.attr_clr |= kNodiratime;
  }
  return CheckSys(static_cast<int>(::syscall(SYS_mount_setattr, tree_fd, "",
                                             AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr))));
}

Result<UniqueFd> OpenAt2(int dirfd, const char* name, uint64_t flags, uint64_t mode,
                         uint64_t resolve) {
  struct {
    uint64_t flags, mode, resolve;
  } how{flags | O_CLOEXEC, mode, resolve};
  long fd = OpenRelievingFdPressure(
      [&] { return static_cast<int>(::syscall(SYS_openat2, dirfd, name, &how, sizeof(how))); });
  if (fd < 0) return Errno::Last();
  return UniqueFd(static_cast<int>(fd));
}

namespace {

// An fd on /proc/self/fd, opened at first use. "self" is resolved then, so a
// forked child must not inherit it: it would name the parent's fds.
std::atomic<int> proc_fd_dir{-2};  // -2: not opened yet; -1: unavailable

void ForgetProcFdDirInChild() {
  const int fd = proc_fd_dir.exchange(-2);
  if (fd >= 0) ::close(fd);
}

int ProcFdDir() {
  int fd = proc_fd_dir.load(std::memory_order_acquire);
  if (fd != -2) return fd;
  static const bool registered = [] { return ::pthread_atfork(nullptr, nullptr, ForgetProcFdDirInChild) == 0; }();
  if (!registered) return -1;
  int opened = ::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (opened < 0) opened = -1;
  int expected = -2;
  if (!proc_fd_dir.compare_exchange_strong(expected, opened)) {
    if (opened >= 0) ::close(opened);  // another thread was first
    return expected;
  }
  return opened;
}

}  // namespace

ProcFd::ProcFd(int fd) {
  constexpr char kPrefix[] = "/proc/self/fd/";
  constexpr size_t kPrefixLen = sizeof kPrefix - 1;
  std::memcpy(path_, kPrefix, kPrefixLen);
  auto [end, ec] = std::to_chars(path_ + kPrefixLen, path_ + sizeof path_ - 1, fd);
  *end = '\0';
  dir_ = ProcFdDir();
  if (dir_ >= 0) {
    name_ = path_ + kPrefixLen;
  } else {
    dir_ = AT_FDCWD;
    name_ = path_;
  }
}

Result<UniqueFd> Reopen(int path_fd, int flags) {
  // O_NOFOLLOW is wrong here: the magic link must be followed to the inode.
  const ProcFd proc(path_fd);
  int fd = OpenRelievingFdPressure(
      [&] { return ::openat(proc.dir(), proc.name(), (flags & ~O_NOFOLLOW) | O_CLOEXEC); });
  if (fd < 0) return Errno::Last();
  return UniqueFd(fd);
}

namespace {

// The *xattrat() calls (Linux 6.13; the same numbers on every architecture).
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif
struct XattrArgs {  // struct xattr_args
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};
std::atomic<bool> xattrat_missing{false};

// Runs the *at variant where the kernel has it, else the path variant.
template <typename At, typename Path>
long XattrCall(const ProcFd& file, At at, Path path) {
  if (file.dir() != AT_FDCWD && !xattrat_missing.load(std::memory_order_relaxed)) {
    const long r = at();
    if (r >= 0 || errno != ENOSYS) return r;
    xattrat_missing.store(true, std::memory_order_relaxed);
  }
  return path();
}

}  // namespace

Result<size_t> GetXattr(const ProcFd& file, const char* name, void* value, size_t size) {
  const long n = XattrCall(
      file,
      [&] {
        XattrArgs args{reinterpret_cast<uintptr_t>(value), static_cast<uint32_t>(size), 0};
        return ::syscall(SYS_getxattrat, file.dir(), file.name(), 0, name, &args, sizeof args);
      },
      [&] { return static_cast<long>(::getxattr(file.path(), name, value, size)); });
  if (n < 0) return Errno::Last();
  return static_cast<size_t>(n);
}

Result<size_t> ListXattr(const ProcFd& file, char* list, size_t size) {
  const long n = XattrCall(
      file, [&] { return ::syscall(SYS_listxattrat, file.dir(), file.name(), 0, list, size); },
      [&] { return static_cast<long>(::listxattr(file.path(), list, size)); });
  if (n < 0) return Errno::Last();
  return static_cast<size_t>(n);
}

Errno SetXattr(const ProcFd& file, const char* name, const void* value, size_t size, int flags) {
  const long r = XattrCall(
      file,
      [&] {
        XattrArgs args{reinterpret_cast<uintptr_t>(value), static_cast<uint32_t>(size),
                       static_cast<uint32_t>(flags)};
        return ::syscall(SYS_setxattrat, file.dir(), file.name(), 0, name, &args, sizeof args);
      },
      [&] { return static_cast<long>(::setxattr(file.path(), name, value, size, flags)); });
  return r < 0 ? Errno::Last() : Errno::Ok();
}

Errno RemoveXattr(const ProcFd& file, const char* name) {
  const long r = XattrCall(
      file, [&] { return ::syscall(SYS_removexattrat, file.dir(), file.name(), 0, name); },
      [&] { return static_cast<long>(::removexattr(file.path(), name)); });
  return r < 0 ? Errno::Last() : Errno::Ok();
}

Result<UniqueFd> ReopenDir(int path_fd, int flags) {
  const int fd = OpenRelievingFdPressure(
      [&] { return ::openat(path_fd, ".", (flags & ~O_NOFOLLOW) | O_DIRECTORY | O_CLOEXEC); });
  if (fd >= 0) return UniqueFd(fd);
  if (errno == EMFILE) return Errno::Last();
  return Reopen(path_fd, flags | O_DIRECTORY);
}

Result<struct statx> StatxFd(int fd, unsigned mask) {
  struct statx stx;
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, mask,
              &stx) < 0) {
    return Errno::Last();
  }
  return stx;
}

Result<struct statx> StatxAt(int dirfd, const char* name, unsigned mask) {
  struct statx stx;
  if (::statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, mask, &stx) < 0) {
    return Errno::Last();
  }
  return stx;
}

Result<HandleBlob> NameToHandle(int dirfd, const char* name, int* mount_id) {
  // MAX_HANDLE_SZ is 128; allocate it all once rather than probing the size.
  constexpr size_t kMaxHandle = 128;
  HandleBlob blob;
  blob.bytes.resize(sizeof(struct file_handle) + kMaxHandle);
  auto* fh = reinterpret_cast<struct file_handle*>(blob.bytes.data());
  fh->handle_bytes = kMaxHandle;
  const int flags = name[0] == '\0' ? AT_EMPTY_PATH : 0;
  if (::name_to_handle_at(dirfd, name, fh, mount_id, flags) < 0) return Errno::Last();
  blob.bytes.resize(sizeof(struct file_handle) + fh->handle_bytes);
  blob.bytes.shrink_to_fit();
  return blob;
}

Result<UniqueFd> OpenByHandle(int mount_fd, const HandleBlob& handle, int flags) {
  auto* fh = reinterpret_cast<struct file_handle*>(const_cast<unsigned char*>(handle.bytes.data()));
  int fd = OpenRelievingFdPressure([&] { return ::open_by_handle_at(mount_fd, fh, flags | O_CLOEXEC); });
  if (fd < 0) return Errno::Last();
  return UniqueFd(fd);
}

Result<size_t> GetDents64(int dirfd, std::span<char> buf) {
  long n = ::syscall(SYS_getdents64, dirfd, buf.data(), buf.size());
  if (n < 0) return Errno::Last();
  return static_cast<size_t>(n);
}

int CountOpenFds() {
  int dfd = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -1;
  DIR* d = ::fdopendir(dfd);
  if (d == nullptr) {
    ::close(dfd);
    return -1;
  }
  int n = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory fd itself
}

}  // namespace ptfs::sys

#include <sched.h>

namespace ptfs::sys {
Errno SetThreadUmask(mode_t mask) {
  thread_local bool unshared = false;
  // The thread's umask after unshare() is the process's; -1: not known yet.
  thread_local int current = -1;
  if (!unshared) {
    if (::unshare(CLONE_FS) < 0) return Errno::Last();
    unshared = true;
  }
  // Nothing else changes this thread's (unshared) umask: most creates ask
  // for the one already set, and skip the syscall.
  if (current != static_cast<int>(mask)) {
    ::umask(mask);
    current = static_cast<int>(mask);
  }
  return Errno::Ok();
}
}  // namespace ptfs::sys

#include <linux/capability.h>

namespace ptfs::sys {
bool HasCapability(int cap) {
  struct __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) < 0) return false;
  return (data[cap / 32].effective & (1U << (cap % 32))) != 0;
}
}  // namespace ptfs::sys

#include <malloc.h>
#include <stdlib.h>
#include <time.h>

namespace ptfs::sys {
int64_t ReleaseFreeMemory() {
  struct timespec a, b;
  ::clock_gettime(CLOCK_MONOTONIC, &a);
  ::malloc_trim(0);
  ::clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
}

void PrepareAllocatorForRelease() {
  const char* tunables = ::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.mxfast") != nullptr) return;
  ::mallopt(M_MXFAST, 0);
}
}  // namespace ptfs::sys
