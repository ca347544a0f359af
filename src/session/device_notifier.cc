#include "session/device_notifier.h"

#include <algorithm>
#include <array>

#include "abi/fuse_abi.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT

Errno DeviceNotifier::Send(int32_t code, std::span<const struct iovec> payload) {
  std::array<struct iovec, 4> iov{};
  fuse_out_header out{};
  out.len = sizeof(out);
  for (const auto& p : payload) out.len += static_cast<uint32_t>(p.iov_len);
  out.error = code;
  out.unique = 0;
  iov[0] = {&out, sizeof(out)};
  size_t n = 1;
  for (const auto& p : payload) iov[n++] = p;
  MutexLock lock(&mu_);
  return channel_->Send({iov.data(), n});
}

Errno DeviceNotifier::InvalidateInode(NodeId node, int64_t offset, int64_t length) {
  fuse_notify_inval_inode_out arg{};
  arg.ino = node.value;
  arg.off = offset;
  arg.len = length;
  struct iovec iov {
    &arg, sizeof(arg)
  };
  return Send(FUSE_NOTIFY_INVAL_INODE, {&iov, 1});
}

Errno DeviceNotifier::InvalidateEntry(NodeId parent, std::string_view name) {
  fuse_notify_inval_entry_out arg{};
  arg.parent = parent.value;
  arg.namelen = static_cast<uint32_t>(name.size());
  static const char kNul = '\0';
  std::array<struct iovec, 3> iov{{{&arg, sizeof(arg)},
                                   {const_cast<char*>(name.data()), name.size()},
                                   {const_cast<char*>(&kNul), 1}}};
  return Send(FUSE_NOTIFY_INVAL_ENTRY, iov);
}

Errno DeviceNotifier::InvalidateAllEntries() { return Send(FUSE_NOTIFY_INC_EPOCH, {}); }

Errno DeviceNotifier::Prune(std::span<const NodeId> nodes) {
  static_assert(sizeof(NodeId) == sizeof(uint64_t), "sent as the kernel's u64 nodeids");
  for (size_t at = 0; at < nodes.size(); at += kPruneBatch) {
    const size_t n = std::min(kPruneBatch, nodes.size() - at);
    fuse_notify_prune_out arg{};
    arg.count = static_cast<uint32_t>(n);
    std::array<struct iovec, 2> iov{
        {{&arg, sizeof(arg)}, {const_cast<NodeId*>(nodes.data() + at), n * sizeof(NodeId)}}};
    PTFS_TRY(Send(FUSE_NOTIFY_PRUNE, iov));
  }
  return Errno::Ok();
}

Errno DeviceNotifier::ResendUnanswered() { return Send(FUSE_NOTIFY_RESEND, {}); }

}  // namespace ptfs::session
