// DeviceNotifier: KernelNotifier over a FUSE connection. A notification is an
// unsolicited message (unique 0, the notify code in the error field) written
// to any fd of the connection. Callable from any thread; never from a worker
// while it handles a request in the directory concerned (the kernel takes the
// directory's lock for INVAL_ENTRY), which is why MirrorFs sends entry
// invalidations only from its watcher thread. An attribute-only INVAL_INODE
// (offset < 0) takes no lock the requester may hold, so workers may send it.
#pragma once

#include <memory>

#include "ptfs/notifier.h"
#include "transport/channel.h"
#include "util/thread_annotations.h"

namespace ptfs::session {

class DeviceNotifier final : public KernelNotifier {
 public:
  explicit DeviceNotifier(std::unique_ptr<transport::Channel> channel)
      : channel_(std::move(channel)) {}
  Errno InvalidateInode(NodeId node, int64_t offset, int64_t length) override;
  Errno InvalidateEntry(NodeId parent, std::string_view name) override;
  // FUSE_NOTIFY_INC_EPOCH (7.44, Linux 6.16): a header alone.
  Errno InvalidateAllEntries() override;
  // FUSE_NOTIFY_PRUNE (7.45, Linux 6.18), in batches of kPruneBatch.
  Errno Prune(std::span<const NodeId> nodes) override;
  static constexpr size_t kPruneBatch = 512;
  // FUSE_NOTIFY_RESEND (protocol 7.40): the kernel queues again every
  // request a server had read and not answered (a restarted server's first
  // word: the dead one's requests are not lost).
  Errno ResendUnanswered();

 private:
  Errno Send(int32_t code, std::span<const struct iovec> payload);
  Mutex mu_;
  std::unique_ptr<transport::Channel> channel_ GUARDED_BY(mu_);
};

}  // namespace ptfs::session
