// *** DRAFT ABI — NOT IN ANY RELEASED KERNEL ***
//
// The proposed "fuse: extend passthrough to inode operations" series (v2,
// Joanne Koong, 2026-05-15): a backing inode attached to a FUSE inode by the
// entry reply, with an ops mask naming the inode operations the kernel then
// performs on the backing inode itself (GETATTR/STATX, SETATTR; READDIR for
// directories opened with FOPEN_PASSTHROUGH).
//
// Every constant and layout of that draft lives in this one header, so that
// when the series changes (or lands) only this file and its adapter
// (session/inode_passthrough_adapter.*) move. Verified against the series'
// companion libfuse (branch extended_passthrough_v2, commit 40c61f8:
// include/fuse_kernel.h, lib/fuse_lowlevel.c, example/passthrough_hp.cc);
// docs/draft-inode-passthrough-research.md has the details:
//   - FUSE_PASSTHROUGH_INO is 1ULL << 43 (bit 11 of flags2). The same bit is
//     claimed by other unmerged series (LOOKUP_HANDLE, io_uring REDUCED_Q),
//     so the daemon sets it only when the user asked for inode passthrough
//     AND the kernel offered it.
//   - fuse_backing_map's former `padding` is `ops_mask`; an op's bit is
//     1 << (opcode - 1). A kernel without the draft rejects a non-zero
//     padding with EINVAL: a clean fallback.
//   - fuse_entry2_out (312 bytes, below) answers LOOKUP (negative entries
//     too, nodeid 0), MKNOD, MKDIR, SYMLINK and LINK; CREATE and TMPFILE
//     append fuse_open_out. READDIRPLUS keeps fuse_direntplus.
//   - nodeid == the backing inode's st_ino (64-bit ino_t only); the root
//     stays FUSE_ROOT_ID (1).
#pragma once

#include <cstddef>
#include <cstdint>

#include "abi/fuse_abi.h"

namespace ptfs::abi::draft {

// INIT flag (in flags2 as bit 11): nodeids are backing inode numbers and entry
// replies are fuse_entry2_out.
inline constexpr uint64_t FUSE_PASSTHROUGH_INO = 1ULL << 43;

// One bit per opcode in fuse_backing_map_ops.ops_mask.
constexpr uint64_t FUSE_PASSTHROUGH_OP(uint32_t opcode) { return 1ULL << (opcode - 1); }

// The ops this server asks for. v2 dropped the OPEN and STATX bits (GETATTR
// covers STATX; opens are still sent to the server, which answers with the
// inode's backing id). READ and WRITE go with regular files, READDIR with
// directories, whose OPENDIR reply must then carry FOPEN_PASSTHROUGH and
// the backing id (and not FOPEN_CACHE_DIR).
inline constexpr uint64_t kOpGetattr = FUSE_PASSTHROUGH_OP(FUSE_GETATTR);
inline constexpr uint64_t kOpSetattr = FUSE_PASSTHROUGH_OP(FUSE_SETATTR);
inline constexpr uint64_t kOpRead = FUSE_PASSTHROUGH_OP(FUSE_READ);
inline constexpr uint64_t kOpWrite = FUSE_PASSTHROUGH_OP(FUSE_WRITE);
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
// fuse_entry_out. Its first 40 bytes are fuse_entry_out's (nodeid,
// generation, entry_valid, attr_valid, entry_valid_nsec, attr_valid_nsec);
// then the backing id (0: none, every op of this inode goes to the server),
// flags and reserved (0; no flag is defined), and the attributes as statx.
struct fuse_entry2_out {
  uint64_t nodeid;
  uint64_t generation;
  uint64_t entry_valid;
  uint64_t attr_valid;
  uint32_t entry_valid_nsec;
  uint32_t attr_valid_nsec;
  int32_t backing_id;
  uint32_t flags;
  uint64_t reserved;
  fuse_statx statx;
};
static_assert(offsetof(fuse_entry2_out, nodeid) == 0);
static_assert(offsetof(fuse_entry2_out, generation) == 8);
static_assert(offsetof(fuse_entry2_out, entry_valid) == 16);
static_assert(offsetof(fuse_entry2_out, attr_valid) == 24);
static_assert(offsetof(fuse_entry2_out, entry_valid_nsec) == 32);
static_assert(offsetof(fuse_entry2_out, attr_valid_nsec) == 36);
static_assert(offsetof(fuse_entry2_out, backing_id) == 40);
static_assert(offsetof(fuse_entry2_out, flags) == 44);
static_assert(offsetof(fuse_entry2_out, reserved) == 48);
static_assert(offsetof(fuse_entry2_out, statx) == 56);
static_assert(sizeof(fuse_statx) == 256);
static_assert(sizeof(fuse_entry2_out) == 312);
static_assert(offsetof(fuse_entry2_out, attr_valid) == offsetof(fuse_entry_out, attr_valid) &&
                  offsetof(fuse_entry2_out, attr_valid_nsec) ==
                      offsetof(fuse_entry_out, attr_valid_nsec),
              "the first 40 bytes are fuse_entry_out's");

}  // namespace ptfs::abi::draft
