// Values from the wire turned into host syscall arguments, for the
// MirrorFs translation units.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ptfs/types.h"

namespace ptfs::mirror {

// What MirrorFs asks statx for an entry's or GETATTR's attributes.
constexpr unsigned kStatxMask = STATX_BASIC_STATS | STATX_BTIME;

inline uint64_t DevOf(const struct statx& stx) {
  return makedev(stx.stx_dev_major, stx.stx_dev_minor);
}

// A NUL-terminated copy of a wire name (the views are not terminated).
class CName {
 public:
  explicit CName(std::string_view s) : s_(s) {}
  const char* c_str() const { return s_.c_str(); }

 private:
  std::string s_;
};

// Decodes the kernel's 32-bit rdev (new_encode_dev) into a dev_t.
inline dev_t DecodeRdev(uint32_t rdev) {
  const unsigned major = (rdev & 0xfff00) >> 8;
  const unsigned minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return makedev(major, minor);
}

// The kernel's __FMODE_EXEC, which it leaves in the flags of the open that
// execve(2) and uselib make (the FUSE OPEN carries the file's f_flags).
constexpr uint32_t kOpenForExec = OpenFlags::kOpenForExec;

// Flags of a host open on behalf of the kernel: O_DIRECT is dropped because
// WRITE payloads sit at unaligned offsets in the request buffer (the kernel
// already bypassed its own page cache for the caller); creation flags were
// handled by the kernel or are added explicitly by CREATE.
inline int HostOpenFlags(uint32_t flags) {
  return (static_cast<int>(flags & ~kOpenForExec) & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT)) |
         O_CLOEXEC;
}

}  // namespace ptfs::mirror
