// Nodeids that name an object for the life of SOURCE's filesystem, derived
// from SOURCE's own file handles and turned back into them without any
// memory (docs/persistent-identity.md): the ground for NFS export and for
// restarting the daemon on a live mount (issue 21).
//
// For the handle layouts below, whose content is exactly an inode number
// and a 32-bit generation, nodeid = generation << 32 | ino (ino < 2^32) and
// the entry's generation is that generation. A reused inode number comes
// with a new generation, hence a new nodeid: one nodeid never names two
// objects. Pure: no system call.
#pragma once

#include <cstdint>
#include <optional>

#include "ptfs/types.h"
#include "sys/syscalls.h"

namespace ptfs::mirror {

enum class HandleLayout {
  kNone,     // not derivable: a persistent table or no export (not built yet)
  kIno32Gen, // ext2/3/4, xfs with 32-bit inodes: type 1, {ino, gen}
  kShmem,    // tmpfs: type 1, {gen, ino low, ino high}
  kXfsIno64, // xfs with 64-bit inodes: type 0x81, {ino low, ino high, gen}
  kTable,    // not derived: a persistent nodeid <-> handle table (node_table.h)
};

// The layout SOURCE's handles have, from statfs(2)'s f_type; kNone where
// the handle holds more than an inode number and a generation (btrfs: its
// subvolume) or is unknown.
HandleLayout LayoutForFilesystem(int64_t f_type);

struct HandleIdentity {
  NodeId node;
  uint32_t generation = 0;
  friend bool operator==(const HandleIdentity&, const HandleIdentity&) = default;
};

// The nodeid and generation `handle` stands for; nullopt when it is not of
// `layout`'s shape or its inode number does not fit 32 bits, or when the
// nodeid would be 0 or 1 (0 is no node, 1 the root: kept for SOURCE).
std::optional<HandleIdentity> IdentityOfHandle(const sys::HandleBlob& handle, HandleLayout layout);

// The handle a nodeid of `layout` came from; nullopt for kNone.
std::optional<sys::HandleBlob> HandleOfNode(NodeId node, HandleLayout layout);

}  // namespace ptfs::mirror
