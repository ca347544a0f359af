#include "transport/channel.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "abi/fuse_abi.h"
#include "abi/fuse_draft_inode_passthrough.h"

namespace ptfs::transport {

FdChannel::~FdChannel() {
  if (owned_) ::close(fd_);
}

Result<size_t> FdChannel::Receive(std::span<char> buf) {
  ssize_t n = ::read(fd_, buf.data(), buf.size());
  if (n < 0) return Errno::Last();
  if (n == 0) return Errno(ENODEV);  // socket peer closed: same as unmount
  return static_cast<size_t>(n);
}

Errno FdChannel::Send(std::span<const struct iovec> iov) {
  ssize_t n = ::writev(fd_, iov.data(), static_cast<int>(iov.size()));
  if (n < 0) return Errno::Last();
  return Errno::Ok();
}

Result<std::unique_ptr<Channel>> FuseDeviceControl::Clone() {
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno::Last();
  uint32_t master = static_cast<uint32_t>(session_fd_);
  if (::ioctl(fd, abi::FUSE_DEV_IOC_CLONE, &master) < 0) {
    Errno e = Errno::Last();
    ::close(fd);
    return e;
  }
  return std::unique_ptr<Channel>(new FdChannel(fd, /*owned=*/true));
}

Result<int32_t> FuseDeviceControl::BackingOpen(int fd, uint32_t flags, uint64_t ops_mask) {
  int id;
  if (ops_mask == 0) {
    abi::fuse_backing_map map{fd, flags, 0};
    id = ::ioctl(session_fd_, abi::FUSE_DEV_IOC_BACKING_OPEN, &map);
  } else {
    abi::draft::fuse_backing_map_ops map{fd, flags, ops_mask};
    id = ::ioctl(session_fd_, abi::FUSE_DEV_IOC_BACKING_OPEN, &map);
  }
  if (id < 0) return Errno::Last();
  return static_cast<int32_t>(id);
}

Errno FuseDeviceControl::BackingClose(int32_t backing_id) {
  uint32_t id = static_cast<uint32_t>(backing_id);
  return CheckSys(::ioctl(session_fd_, abi::FUSE_DEV_IOC_BACKING_CLOSE, &id));
}

}  // namespace ptfs::transport
