// Host syscall wrappers. Every function returns Result/Errno with the errno
// captured immediately after the call. Nothing here takes a path relative to
// the process's cwd: all access is relative to a directory fd.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sys/fd.h"
#include "ptfs/result.h"

namespace ptfs::sys {

// openat2(2) flags we need, spelled out so old headers do not matter.
inline constexpr uint64_t kResolveNoXdev = 0x01;
inline constexpr uint64_t kResolveNoMagiclinks = 0x02;
inline constexpr uint64_t kResolveNoSymlinks = 0x04;
inline constexpr uint64_t kResolveBeneath = 0x08;

// When an open fails with EMFILE (the process is at RLIMIT_NOFILE), the
// handler set here may close fds it can spare (cached ones); if it says it
// did, the open is tried once more. One handler per process; setting
// another replaces it, and ClearFdPressureHandler(token) removes it only if
// it is still the one `token` (from SetFdPressureHandler) set.
using FdPressureHandler = bool (*)(void* arg);
uint64_t SetFdPressureHandler(FdPressureHandler handler, void* arg);
void ClearFdPressureHandler(uint64_t token);

Result<UniqueFd> OpenAt(int dirfd, const char* name, int flags, mode_t mode = 0);
// An O_PATH fd on a detached copy of the mount tree at `path` (open_tree(2)
// with OPEN_TREE_CLONE | AT_RECURSIVE; Linux 5.2+, needs CAP_SYS_ADMIN): the
// same files, reached through mounts only this process uses. fanotify can
// then tell the process's own file accesses from everyone else's by mount.
Result<UniqueFd> OpenTreeClone(const char* path);
// How reads update access times on a mount (MOUNT_ATTR_RELATIME, ...).
enum class AtimeRule { kRelatime, kNoatime, kStrictatime };
// Sets the access-time rule (and nodiratime) of the detached mount tree
// `tree_fd` (from OpenTreeClone) and every mount in it (mount_setattr).
Errno SetTreeAtime(int tree_fd, AtimeRule rule, bool nodiratime);
Result<UniqueFd> OpenAt2(int dirfd, const char* name, uint64_t flags, uint64_t mode,
                         uint64_t resolve);
// Opens an O_PATH fd as a real file description with `flags` via /proc/self/fd,
// so the permission check happens on the inode without a path walk.
Result<UniqueFd> Reopen(int path_fd, int flags);
// Reopen for a directory: opens "." relative to it, a one-step walk that
// costs a fraction of resolving the /proc magic link. That needs search
// permission on the directory, which a plain open does not, so a refusal
// (or any other failure) falls back to Reopen.
Result<UniqueFd> ReopenDir(int path_fd, int flags);
Result<struct statx> StatxFd(int fd, unsigned mask);  // AT_EMPTY_PATH, no follow
Result<struct statx> StatxAt(int dirfd, const char* name, unsigned mask);  // no follow

// Linux file handles.
struct HandleBlob {
  // struct file_handle header (handle_bytes, handle_type) followed by f_handle.
  std::vector<unsigned char> bytes;
  bool empty() const { return bytes.empty(); }
};
// Returns the handle for dirfd/name (or dirfd itself when name is empty) and
// the mount id it lives on.
Result<HandleBlob> NameToHandle(int dirfd, const char* name, int* mount_id);
Result<UniqueFd> OpenByHandle(int mount_fd, const HandleBlob& handle, int flags);

// Fills buf with linux_dirent64 records; returns bytes used (0 at end).
Result<size_t> GetDents64(int dirfd, std::span<char> buf);

// The /proc magic link of an fd, named for *at() calls: relative to an fd on
// /proc/self/fd kept open by the process (a one-step walk), or as the full
// path where that is not open. Resolving the magic link reaches the inode
// itself, never a path. No allocation.
class ProcFd {
 public:
  explicit ProcFd(int fd);
  int dir() const { return dir_; }            // for *at() calls, with name()
  const char* name() const { return name_; }  // "N", or the full path
  const char* path() const { return path_; }  // "/proc/self/fd/N"

 private:
  int dir_;
  const char* name_;
  char path_[32];
};

// The path xattr calls on a ProcFd: getxattrat() and friends (Linux 6.13)
// relative to /proc/self/fd, else the path-based calls. They follow the
// magic link, so a symlink's own xattrs are reached through its O_PATH fd.
Result<size_t> GetXattr(const ProcFd& file, const char* name, void* value, size_t size);
Result<size_t> ListXattr(const ProcFd& file, char* list, size_t size);
Errno SetXattr(const ProcFd& file, const char* name, const void* value, size_t size, int flags);
Errno RemoveXattr(const ProcFd& file, const char* name);

// Number of fds open in this process (for reporting).
int CountOpenFds();

}  // namespace ptfs::sys

namespace ptfs::sys {
// Sets the umask of the calling thread only. The first call unshares the
// thread's fs_struct (CLONE_FS), which makes umask per-thread; the server
// needs that to create files with each caller's umask (FUSE_DONT_MASK), so
// that default ACLs on the parent apply as they do natively.
Errno SetThreadUmask(mode_t mask);
}  // namespace ptfs::sys

namespace ptfs::sys {
// Whether the calling thread has capability `cap` (CAP_*) in its effective set.
bool HasCapability(int cap);
}  // namespace ptfs::sys

namespace ptfs::sys {
// Hands the allocator's free memory back to the kernel: malloc_trim(0), which
// releases the free pages inside every arena's heap, not only at its top.
// Without it, memory freed by a thread stays resident in that thread's arena.
// Takes each arena's lock in turn: keep it off hot paths. Returns how long it
// took, in microseconds.
int64_t ReleaseFreeMemory();

// Prepares the allocator for ReleaseFreeMemory; call before threads start.
// Turns off glibc's fastbins (M_MXFAST 0), unless GLIBC_TUNABLES sets them.
// Why: malloc_trim first merges the fastbins' chunks into their neighbours,
// and where those reach a per-thread arena's top chunk the top grows, and
// malloc_trim never shrinks a per-thread arena's top (glibc's mtrim trims
// only the main arena's). Measured on a 100,000-inode walk forgotten (2
// workers, 5 cycles): 7-31 MB kept after the trim with fastbins, 7.4-7.5 MB
// without, since freed chunks then merge at once and free() shrinks the top
// itself (and the trim took 5 ms instead of 60). Small blocks still come from
// the per-thread tcache.
void PrepareAllocatorForRelease();
}  // namespace ptfs::sys
