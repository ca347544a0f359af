#include "session/reply.h"

#include <cassert>
#include <cstring>
#include <vector>

#include "proto/encode.h"
#include "proto/opcode_table.h"
#include "util/log.h"

namespace ptfs::session {

Reply::~Reply() {
  if (channel_ != nullptr) {
    LOG_ERROR("%s (unique %llu) was not answered; answering EIO", proto::OpName(opcode_),
              static_cast<unsigned long long>(unique_));
    (void)SendError(Errno(EIO));
  }
}

bool Reply::SendRaw(int error, std::span<const struct iovec> payload) {
  assert(channel_ != nullptr && "a Reply is sent at most once");
  size_t len = 0;
  for (const auto& v : payload) len += v.iov_len;
  abi::fuse_out_header h = proto::MakeOutHeader(unique_, error, len);
  struct iovec stack_iov[4];
  std::vector<struct iovec> heap_iov;
  struct iovec* iov = stack_iov;
  if (payload.size() + 1 > std::size(stack_iov)) {
    heap_iov.resize(payload.size() + 1);
    iov = heap_iov.data();
  }
  iov[0] = {&h, sizeof(h)};
  for (size_t i = 0; i < payload.size(); ++i) iov[i + 1] = payload[i];
  transport::Channel* ch = std::exchange(channel_, nullptr);
  Errno e = ch->Send({iov, payload.size() + 1});
  if (e && e.value() != ENOENT) {
    LOG_WARN("sending reply to %s (unique %llu) failed: %s", proto::OpName(opcode_),
             static_cast<unsigned long long>(unique_), strerror(e.value()));
  }
  return e.ok();
}

bool Reply::Send(std::span<const struct iovec> payload) { return SendRaw(0, payload); }

bool Reply::SendError(Errno error) {
  assert(!error.ok());
  return SendRaw(error.value(), {});
}

}  // namespace ptfs::session
