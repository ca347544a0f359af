// Channel: receives one request message and sends one reply, whatever carries
// them (/dev/fuse, io_uring, the test harness's socket). DeviceControl: the
// device's ioctls (clone, backing registration), which the test harness fakes.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>

#include "ptfs/result.h"

namespace ptfs::transport {

class Channel {
 public:
  virtual ~Channel() = default;
  // Reads exactly one message into `buf`. ENODEV: the connection is gone (the
  // filesystem was unmounted); EINTR/EAGAIN/ENOENT: retry.
  virtual Result<size_t> Receive(std::span<char> buf) = 0;
  // Sends one reply (or notification) assembled from `iov`. ENOENT means the
  // request was interrupted and the reply is no longer wanted.
  virtual Errno Send(std::span<const struct iovec> iov) = 0;
};

class DeviceControl {
 public:
  virtual ~DeviceControl() = default;
  // A new channel on the same connection, for another worker thread.
  virtual Result<std::unique_ptr<Channel>> Clone() = 0;
  // FUSE_DEV_IOC_BACKING_OPEN / _CLOSE. A non-zero `ops_mask` (the DRAFT
  // inode-passthrough protocol) goes where mainline has zero padding.
  virtual Result<int32_t> BackingOpen(int fd, uint32_t flags, uint64_t ops_mask) = 0;
  virtual Errno BackingClose(int32_t backing_id) = 0;
};

// A Channel over a file descriptor with message semantics (/dev/fuse or a
// SOCK_SEQPACKET socket): read(2) returns one message, writev(2) sends one.
class FdChannel final : public Channel {
 public:
  explicit FdChannel(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~FdChannel() override;
  Result<size_t> Receive(std::span<char> buf) override;
  Errno Send(std::span<const struct iovec> iov) override;
  int fd() const { return fd_; }

 private:
  int fd_;
  bool owned_;
};

// DeviceControl for a real /dev/fuse connection.
class FuseDeviceControl final : public DeviceControl {
 public:
  explicit FuseDeviceControl(int session_fd) : session_fd_(session_fd) {}
  Result<std::unique_ptr<Channel>> Clone() override;
  Result<int32_t> BackingOpen(int fd, uint32_t flags, uint64_t ops_mask) override;
  Errno BackingClose(int32_t backing_id) override;

 private:
  int session_fd_;
};

}  // namespace ptfs::transport
