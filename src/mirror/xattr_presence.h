// Inode::xattr_presence: whether an inode is known to have no extended
// attributes, so that GETXATTR can answer ENODATA without a host call (see
// MirrorFs::GetXattr). The low bits say what is known, the rest count
// possible changes.
#pragma once

#include <atomic>
#include <cstdint>

#include "mirror/inode_table.h"

namespace ptfs::mirror {

enum XattrPresence : uint32_t { kXattrsUnknown = 0, kNoXattrs = 1, kSomeXattrs = 2 };
constexpr uint32_t kXattrPresenceBits = 3;
constexpr uint32_t kXattrGenerationStep = 4;

// After any change that may add an extended attribute: back to unknown, in a
// new generation.
inline void ForgetXattrPresence(Inode& inode) {
  uint32_t v = inode.xattr_presence.load(std::memory_order_relaxed);
  while (!inode.xattr_presence.compare_exchange_weak(
      v, (v + kXattrGenerationStep) & ~kXattrPresenceBits, std::memory_order_acq_rel)) {
  }
}

// Records `presence` unless a change came between reading `seen` and now.
inline void LearnXattrPresence(Inode& inode, uint32_t seen, XattrPresence presence) {
  (void)inode.xattr_presence.compare_exchange_strong(seen, (seen & ~kXattrPresenceBits) | presence,
                                                     std::memory_order_acq_rel);
}

}  // namespace ptfs::mirror
