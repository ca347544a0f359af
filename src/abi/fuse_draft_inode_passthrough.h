// *** DRAFT ABI — NOT IN ANY RELEASED KERNEL ***
//
// The proposed "fuse: extend passthrough to inode operations" series (v2,
// May 2026): a backing inode attached to each FUSE inode when the server
// answers LOOKUP (and MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE), with an
// ops mask naming the inode operations the kernel then performs on the
// backing inode itself (GETATTR/STATX, SETATTR, READDIR).
//
// Every constant and layout of that draft lives in this one header, so that
// when the series changes (or lands) only this file and its adapter
// (session/inode_passthrough_adapter.*) move. What was verified and what is
// assumed is in docs/draft-inode-passthrough-research.md; in short:
//   - FUSE_PASSTHROUGH_INO: the name is verified, bit 43 is ASSUMED (the next
//     free bit after 7.45's REQUEST_TIMEOUT; also claimed by FUSE_IOMAP,
//     FUSE_HAS_LOOKUP_HANDLE and FUSE_REQUEST_BATCHING in other in-flight
//     series). The daemon therefore sets this bit only when the user asked
//     for inode passthrough and the kernel offered it.
//   - ops_mask replaces fuse_backing_map.padding (Amir Goldstein's 2024
//     sketch; consistent with, not proven for, v2). A kernel without the
//     draft rejects a non-zero padding with EINVAL: a clean fallback.
//   - FUSE_PASSTHROUGH_OP(op) = 1 << (op - 1): verified from the sketch.
//   - fuse_entry2_out: the name and its first fields follow Miklos Szeredi's
//     2026 proposal; where the backing id and the statx attributes sit is
//     ASSUMED (the v2 hunk was not readable).
//   - nodeid == the backing inode's st_ino (64-bit ino_t only); the root
//     stays FUSE_ROOT_ID (1).
#pragma once

#include <cstddef>
#include <cstdint>

#include "abi/fuse_abi.h"

namespace ptfs::abi::draft {

// INIT flag (in flags2 as bit 11): nodeids are backing inode numbers and entry
// replies are fuse_entry2_out. ASSUMED bit.
inline constexpr uint64_t FUSE_PASSTHROUGH_INO = 1ULL << 43;

// One bit per opcode in fuse_backing_map_ops.ops_mask.
constexpr uint64_t FUSE_PASSTHROUGH_OP(uint32_t opcode) { return 1ULL << (opcode - 1); }

// The ops this server ever asks for. STATX has no bit of its own in v1/v2:
// the GETATTR bit covers it.
inline constexpr uint64_t kOpGetattr = FUSE_PASSTHROUGH_OP(FUSE_GETATTR);
inline constexpr uint64_t kOpSetattr = FUSE_PASSTHROUGH_OP(FUSE_SETATTR);
inline constexpr uint64_t kOpReaddir = FUSE_PASSTHROUGH_OP(FUSE_READDIR);

// FUSE_DEV_IOC_BACKING_OPEN's argument with the draft's ops mask in the slot
// mainline calls `padding`. Same size, so the same ioctl number.
struct fuse_backing_map_ops {
  int32_t fd;
  uint32_t flags;
  uint64_t ops_mask;
};
static_assert(sizeof(fuse_backing_map_ops) == sizeof(fuse_backing_map));
static_assert(offsetof(fuse_backing_map_ops, ops_mask) == offsetof(fuse_backing_map, padding));

// The entry reply of a FUSE_PASSTHROUGH_INO connection, in place of
// fuse_entry_out (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK; followed by
// fuse_open_out for CREATE and TMPFILE). backing_id 0: no backing, every op
// of this inode goes to the server.
struct fuse_entry2_out {
  uint64_t nodeid;
  uint64_t generation;
  uint64_t entry_valid;
  uint32_t entry_valid_nsec;
  uint32_t flags;
  int32_t backing_id;
  uint32_t padding;
  uint64_t attr_valid;
  uint32_t attr_valid_nsec;
  uint32_t spare;
  fuse_statx attr;
};
static_assert(offsetof(fuse_entry2_out, nodeid) == offsetof(fuse_entry_out, nodeid),
              "nodeid first, as in fuse_entry_out");
static_assert(offsetof(fuse_entry2_out, backing_id) == 32);
static_assert(offsetof(fuse_entry2_out, attr) == 56);
static_assert(sizeof(fuse_entry2_out) == 312);

}  // namespace ptfs::abi::draft
