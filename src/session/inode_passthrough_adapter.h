// The session's adapter for the DRAFT inode-passthrough protocol
// (abi/fuse_draft_inode_passthrough.h): when it is used, how InodeOps map to
// the kernel's ops mask, and how entry replies look on such a connection.
//
// The draft is used only when the user asked for inode passthrough AND the
// kernel offered FUSE_PASSTHROUGH_INO together with FUSE_PASSTHROUGH; on
// any other connection none of its bits or fields is ever sent.
#pragma once

#include <cstdint>

#include "abi/fuse_abi.h"
#include "ptfs/types.h"
#include "session/reply.h"

namespace ptfs::session {

// INIT flags to ask for on top of the mainline ones. `kernel_passthrough`:
// the daemon can register backing files at all (FUSE_PASSTHROUGH wanted).
// Needs a 64-bit ino_t: nodeids are the backing inodes' numbers.
uint64_t WantedInodePassthroughFlags(uint32_t inode_ops, bool kernel_passthrough);

// Whether the negotiated INIT flags put the connection in the draft's mode.
bool InodePassthroughNegotiated(uint64_t flags);

// InodeOps -> the draft's fuse_backing_map ops mask (0 for 0).
uint64_t DraftOpsMask(uint32_t inode_ops);

// Sends the entry reply of a draft connection: fuse_entry2_out as laid out
// in the draft header, carrying `backing` (0: none), followed by `open` for
// CREATE and TMPFILE. Returns whether the kernel took it (Reply::Send).
bool SendEntry2(Reply& reply, const Entry& e, BackingId backing,
                const abi::fuse_open_out* open = nullptr);

}  // namespace ptfs::session
