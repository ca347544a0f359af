// NodeTable: nodeids that outlive the daemon on filesystems whose file
// handles are not an inode number and a generation (btrfs: a subvolume
// too; anything else with handles), or wherever asked (--export-table):
// a persistent nodeid <-> handle table (docs/persistent-identity.md).
//
// Each object SOURCE shows gets a nodeid the first time its handle is seen,
// and keeps it: the handle is looked up before a new nodeid is made. The
// pairs are appended to a file (a state directory's, so that they outlive
// a remount too), one fixed-size record each, and read back at start. An
// object is named by its handle, which carries its generation, so a
// nodeid never names two objects; the entry generation is 0 for all.
// Only nodeids in the table can be opened by nodeid: a handle forged for an
// object never shown has no nodeid and answers ESTALE.
//
// Cost: a hash entry per object ever shown (never dropped: the kernel or an
// NFS client may hold its handle for ever) and 144 bytes of file each.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "ptfs/result.h"
#include "ptfs/types.h"
#include "sys/syscalls.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

class NodeTable {
 public:
  // Keeps the table in `fd` (not owned; appended to), reading back what it
  // holds.
  static Result<std::unique_ptr<NodeTable>> Open(int fd);

  // The nodeid of the object `handle` names: the one it was given before,
  // or a new one whose low `shard_bits` bits are `shard` (the inode table's
  // shard for the object). Errno if the record cannot be written (the
  // nodeid would not outlive this process).
  Result<NodeId> IdFor(const sys::HandleBlob& handle, unsigned shard, unsigned shard_bits);
  // The handle of `id`, if the table has it.
  std::optional<sys::HandleBlob> HandleOf(NodeId id) const;
  // Reads the file again (a restarted server: the one before it may have
  // added records since this copy of the table was read).
  Errno Reload();
  size_t size() const;

  // The on-file record, for tests.
  struct Record {
    uint64_t node;
    uint32_t length;  // bytes of `handle` used (struct file_handle and f_handle)
    uint32_t reserved;
    unsigned char handle[128];
  };
  static_assert(sizeof(Record) == 144);

 private:
  explicit NodeTable(int fd) : fd_(fd) {}
  const int fd_;
  mutable Mutex mu_;
  std::unordered_map<std::string, uint64_t> by_handle_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, sys::HandleBlob> by_id_ GUARDED_BY(mu_);
  uint64_t records_ GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
};

}  // namespace ptfs::mirror
