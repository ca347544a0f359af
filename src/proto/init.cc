#include "proto/init.h"

#include <algorithm>
#include <cstring>

namespace ptfs::proto {

using namespace ptfs::abi;  // NOLINT

InitOutcome NegotiateInit(std::span<const char> init_in, const InitConfig& config) {
  InitOutcome r;
  fuse_init_in in{};
  std::memcpy(&in, init_in.data(), std::min(init_in.size(), sizeof(in)));
  r.kernel_major = in.major;
  r.kernel_minor = in.minor;
  if (in.major > kKernelVersion) {
    // Tell a newer kernel which major we speak; it re-sends INIT.
    r.kind = InitOutcome::Kind::kAskOlderMajor;
    r.out.major = kKernelVersion;
    r.out.minor = kKernelMinorVersion;
    r.out_size = sizeof(fuse_init_out);
    return r;
  }
  if (in.major < kKernelVersion || in.minor < kMinSupportedMinor) {
    r.kind = InitOutcome::Kind::kRefused;
    r.error = EPROTO;
    return r;
  }
  uint64_t offered = in.flags;
  if ((in.flags & FUSE_INIT_EXT) != 0 && init_in.size() >= offsetof(fuse_init_in, flags2) + 4) {
    offered |= static_cast<uint64_t>(in.flags2) << 32;
  }
  r.kernel_flags = offered;
  uint64_t wanted = config.wanted_flags;
  if (config.request_timeout != 0) wanted |= FUSE_REQUEST_TIMEOUT;
  uint64_t flags = offered & wanted;
  // flags2 can only be sent back when the kernel offered INIT_EXT.
  if ((offered & FUSE_INIT_EXT) != 0)
    flags |= FUSE_INIT_EXT;
  else
    flags &= 0xffffffffULL;
  r.flags = flags;

  r.max_readahead = std::min(in.max_readahead, config.max_readahead);
  constexpr uint32_t kPage = 4096;
  constexpr uint32_t kDefaultMaxPages = 32;  // FUSE_DEFAULT_MAX_PAGES_PER_REQ
  uint32_t max_write = std::max<uint32_t>(config.max_write, kPage);
  uint16_t max_pages = 0;
  if ((flags & FUSE_MAX_PAGES) != 0) {
    max_pages = static_cast<uint16_t>(std::min<uint32_t>((max_write + kPage - 1) / kPage, 256));
    max_write = std::min<uint32_t>(max_write, max_pages * kPage);
  } else {
    max_write = std::min<uint32_t>(max_write, kDefaultMaxPages * kPage);
  }
  r.max_write = max_write;

  fuse_init_out& out = r.out;
  out.major = kKernelVersion;
  out.minor = kKernelMinorVersion;
  out.max_readahead = r.max_readahead;
  out.flags = static_cast<uint32_t>(flags);
  out.flags2 = static_cast<uint32_t>(flags >> 32);
  out.max_background = config.max_background;
  out.congestion_threshold = config.congestion_threshold;
  out.max_write = max_write;
  out.time_gran = 1;
  out.max_pages = max_pages;
  if ((flags & FUSE_PASSTHROUGH) != 0) out.max_stack_depth = config.max_stack_depth;
  if ((flags & FUSE_REQUEST_TIMEOUT) != 0) out.request_timeout = config.request_timeout;
  r.out_size = sizeof(fuse_init_out);
  r.kind = InitOutcome::Kind::kAccepted;
  return r;
}

std::string DescribeInitFlags(uint64_t flags) {
  static constexpr const char* kNames[] = {"ASYNC_READ",
                                           "POSIX_LOCKS",
                                           "FILE_OPS",
                                           "ATOMIC_O_TRUNC",
                                           "EXPORT_SUPPORT",
                                           "BIG_WRITES",
                                           "DONT_MASK",
                                           "SPLICE_WRITE",
                                           "SPLICE_MOVE",
                                           "SPLICE_READ",
                                           "FLOCK_LOCKS",
                                           "HAS_IOCTL_DIR",
                                           "AUTO_INVAL_DATA",
                                           "DO_READDIRPLUS",
                                           "READDIRPLUS_AUTO",
                                           "ASYNC_DIO",
                                           "WRITEBACK_CACHE",
                                           "NO_OPEN_SUPPORT",
                                           "PARALLEL_DIROPS",
                                           "HANDLE_KILLPRIV",
                                           "POSIX_ACL",
                                           "ABORT_ERROR",
                                           "MAX_PAGES",
                                           "CACHE_SYMLINKS",
                                           "NO_OPENDIR_SUPPORT",
                                           "EXPLICIT_INVAL_DATA",
                                           "MAP_ALIGNMENT",
                                           "SUBMOUNTS",
                                           "HANDLE_KILLPRIV_V2",
                                           "SETXATTR_EXT",
                                           "INIT_EXT",
                                           "INIT_RESERVED",
                                           "SECURITY_CTX",
                                           "HAS_INODE_DAX",
                                           "CREATE_SUPP_GROUP",
                                           "HAS_EXPIRE_ONLY",
                                           "DIRECT_IO_ALLOW_MMAP",
                                           "PASSTHROUGH",
                                           "NO_EXPORT_SUPPORT",
                                           "HAS_RESEND",
                                           "ALLOW_IDMAP",
                                           "OVER_IO_URING",
                                           "REQUEST_TIMEOUT"};
  std::string s;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if ((flags & (1ULL << bit)) == 0) continue;
    if (!s.empty()) s += ',';
    if (bit < std::size(kNames))
      s += kNames[bit];
    else
      s += "bit" + std::to_string(bit);
  }
  return s.empty() ? "none" : s;
}

}  // namespace ptfs::proto
