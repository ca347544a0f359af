#include "session/inode_passthrough_adapter.h"

#include <sys/types.h>

#include <cstring>

#include "abi/fuse_draft_inode_passthrough.h"
#include "proto/encode.h"

namespace ptfs::session {

namespace draft = abi::draft;

uint64_t WantedInodePassthroughFlags(uint32_t inode_ops, bool kernel_passthrough) {
  if (inode_ops == 0 || !kernel_passthrough || sizeof(ino_t) < 8) return 0;
  return draft::FUSE_PASSTHROUGH_INO;
}

bool InodePassthroughNegotiated(uint64_t flags) {
  return (flags & draft::FUSE_PASSTHROUGH_INO) != 0 && (flags & abi::FUSE_PASSTHROUGH) != 0;
}

uint64_t DraftOpsMask(uint32_t inode_ops) {
  uint64_t mask = 0;
  if (inode_ops & kInodeOpGetattr) mask |= draft::kOpGetattr;
  if (inode_ops & kInodeOpSetattr) mask |= draft::kOpSetattr;
  if (inode_ops & kInodeOpReaddir) mask |= draft::kOpReaddir;
  if (inode_ops & kInodeOpData) mask |= draft::kOpRead | draft::kOpWrite;
  return mask;
}

bool SendEntry2(Reply& reply, const Entry& e, BackingId backing, const abi::fuse_open_out* open) {
  draft::fuse_entry2_out o{};
  o.nodeid = e.node.value;
  o.generation = e.generation;
  o.entry_valid = e.entry_timeout.sec;
  o.entry_valid_nsec = e.entry_timeout.nsec;
  o.backing_id = backing.value;
  o.attr_valid = e.attr_timeout.sec;
  o.attr_valid_nsec = e.attr_timeout.nsec;
  proto::EncodeStatx(e.attr, &o.statx);
  struct iovec iov[2] = {{&o, sizeof(o)},
                         {const_cast<abi::fuse_open_out*>(open), sizeof(abi::fuse_open_out)}};
  return reply.Send({iov, open != nullptr ? 2U : 1U});
}

}  // namespace ptfs::session
