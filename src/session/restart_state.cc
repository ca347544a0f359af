#include "session/restart_state.h"

#include <unistd.h>

#include <cstring>

namespace ptfs::session {

namespace {

// The on-file form: fixed-size fields, so that a newer binary taking over
// (an upgrade) reads what an older one wrote.
struct HeaderPage {
  char magic[8];  // "ptfsrst\0"
  uint32_t version;
  uint32_t initialized;
  uint64_t source_dev;
  uint64_t source_ino;
  uint32_t kernel_major;
  uint32_t kernel_minor;
  uint64_t kernel_flags;
  uint64_t flags;
  uint32_t max_write;
  uint32_t max_readahead;
  uint32_t out_size;
  uint32_t reserved;
  abi::fuse_init_out out;  // the INIT reply as sent (a kernel ABI struct)
};
static_assert(sizeof(HeaderPage) <= 4096);
constexpr char kMagic[8] = {'p', 't', 'f', 's', 'r', 's', 't', '\0'};
constexpr uint32_t kVersion = 1;

}  // namespace

Errno WriteRestartHeader(int fd, const RestartHeader& h) {
  HeaderPage page{};
  std::memcpy(page.magic, kMagic, sizeof kMagic);
  page.version = kVersion;
  page.initialized = h.initialized ? 1 : 0;
  page.source_dev = h.source_dev;
  page.source_ino = h.source_ino;
  page.kernel_major = h.init.kernel_major;
  page.kernel_minor = h.init.kernel_minor;
  page.kernel_flags = h.init.kernel_flags;
  page.flags = h.init.flags;
  page.max_write = h.init.max_write;
  page.max_readahead = h.init.max_readahead;
  page.out_size = static_cast<uint32_t>(h.init.out_size);
  page.out = h.init.out;
  const ssize_t n = ::pwrite(fd, &page, sizeof page, 0);
  if (n < 0) return Errno::Last();
  return n == static_cast<ssize_t>(sizeof page) ? Errno::Ok() : Errno(EIO);
}

Result<RestartHeader> ReadRestartHeader(int fd) {
  HeaderPage page{};
  const ssize_t n = ::pread(fd, &page, sizeof page, 0);
  if (n < 0) return Errno::Last();
  if (n != static_cast<ssize_t>(sizeof page) || std::memcmp(page.magic, kMagic, sizeof kMagic) != 0 ||
      page.version != kVersion || page.out_size > sizeof page.out) {
    return Errno(EINVAL);
  }
  RestartHeader h;
  h.initialized = page.initialized != 0;
  h.source_dev = page.source_dev;
  h.source_ino = page.source_ino;
  h.init.kind = proto::InitOutcome::Kind::kAccepted;
  h.init.kernel_major = page.kernel_major;
  h.init.kernel_minor = page.kernel_minor;
  h.init.kernel_flags = page.kernel_flags;
  h.init.flags = page.flags;
  h.init.max_write = page.max_write;
  h.init.max_readahead = page.max_readahead;
  h.init.out_size = page.out_size;
  h.init.out = page.out;
  return h;
}

}  // namespace ptfs::session
