// Reply: the one answer to one request. Move-only; consumed by exactly one of
// its Send* methods. A Reply destroyed unsent answers EIO and logs, so a
// handler that forgets to answer cannot hang the caller in the kernel.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <utility>

#include "transport/channel.h"
#include "ptfs/result.h"

namespace ptfs::session {

class Reply {
 public:
  Reply(transport::Channel* channel, uint64_t unique, uint32_t opcode)
      : channel_(channel), unique_(unique), opcode_(opcode) {}
  Reply(Reply&& other) noexcept
      : channel_(std::exchange(other.channel_, nullptr)),
        unique_(other.unique_),
        opcode_(other.opcode_) {}
  Reply& operator=(Reply&&) = delete;
  Reply(const Reply&) = delete;
  ~Reply();

  // Each Send* sends the header plus a payload and returns whether the kernel
  // took the reply: false when the request was interrupted meanwhile (ENOENT)
  // or the connection is gone. Callers that handed out references in the
  // reply (entries, opens) must take them back when it returns false.
  bool Send(std::span<const struct iovec> payload);
  bool SendEmpty() { return Send({}); }
  template <typename T>
  bool SendStruct(const T& value, size_t size = sizeof(T)) {
    struct iovec iov{const_cast<T*>(&value), size};
    return Send({&iov, 1});
  }
  bool SendData(std::span<const char> data) {
    struct iovec iov{const_cast<char*>(data.data()), data.size()};
    return Send({&iov, 1});
  }
  bool SendError(Errno error);
  // The answer of an op whose success carries no data: `status`'s error, or
  // an empty reply when it is ok.
  bool SendStatus(Errno status) { return status ? SendError(status) : SendEmpty(); }
  // The connection is gone: consume the reply without sending anything.
  void Abandon() { channel_ = nullptr; }

  uint64_t unique() const { return unique_; }
  bool sent() const { return channel_ == nullptr; }

 private:
  bool SendRaw(int error, std::span<const struct iovec> payload);
  transport::Channel* channel_;
  uint64_t unique_;
  uint32_t opcode_;
};

}  // namespace ptfs::session
