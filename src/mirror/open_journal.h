// OpenJournal: what a restarted daemon cannot rebuild from nodeids alone,
// kept in a file that outlives the serving process (a memfd the supervisor
// holds: docs/persistent-identity.md). Two kinds of record:
//   - an open file or directory: its fh (the kernel keeps using it after a
//     restart), its nodeid and open flags, to be reopened by handle;
//   - a backing id registered with the kernel, and the nodeid it serves: the
//     kernel keeps it registered for the connection's life, so a restarted
//     daemon must know it to reuse it or close it (none may leak).
//
// Layout: a header page the session owns (the INIT outcome), then 64-byte
// records, each written with one pwrite. A record never straddles a page, so
// a process killed while writing one leaves it either as it was or as it
// was to become.
#pragma once

#include <atomic>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "ptfs/types.h"
#include "ptfs/result.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

class OpenJournal {
 public:
  // Offset of the first record in the file: the page before is the header.
  static constexpr uint64_t kRecordsOffset = 4096;
  // Where the list of files shown begins (--export's HeldFileBefore, for a
  // SOURCE inside a larger filesystem): 8 bytes per nodeid, appended. The
  // file is sparse (a memfd): the gap costs nothing.
  static constexpr uint64_t kShownOffset = uint64_t{1} << 30;

  enum class Kind : uint32_t { kFree = 0, kFile = 1, kDir = 2, kBacking = 3 };
  struct Record {
    Kind kind = Kind::kFree;
    uint32_t open_flags = 0;  // kFile: the open's flags (O_ACCMODE, O_APPEND, ...)
    uint64_t fh = 0;          // kFile, kDir
    uint64_t node = 0;
    int32_t backing = 0;  // kBacking: the id
    uint32_t reserved0 = 0;
    uint64_t reserved[4] = {};
  };
  static_assert(sizeof(Record) == 64);

  // `fd`: the state file (not owned). Starts empty, or (restart) goes on
  // from records read back from it (Read): `kept` keep their slots, the
  // slots of `dropped` are cleared.
  explicit OpenJournal(int fd, const std::vector<Record>& kept = {},
                       const std::vector<Record>& dropped = {});

  // The records in `fd`, for a restarted daemon.
  static Result<std::vector<Record>> Read(int fd);
  // The nodeids of files shown, and (restart) how many there are already.
  static Result<std::vector<uint64_t>> ReadShown(int fd);
  void FileShown(NodeId node);
  void SetShownCount(uint64_t n);

  void FileOpened(FileHandle fh, NodeId node, uint32_t open_flags);
  void DirOpened(FileHandle fh, NodeId node);
  void FileClosed(FileHandle fh);
  void DirClosed(FileHandle fh);
  void BackingRegistered(NodeId node, BackingId id);
  void BackingClosed(NodeId node);

 private:
  // Keys: files and directories have fh values of their own (both count
  // from 1), backings are named by nodeid; two top bits keep them apart.
  static uint64_t FileKey(FileHandle fh) { return fh.value; }
  static uint64_t DirKey(FileHandle fh) { return fh.value | (1ULL << 62); }
  static uint64_t BackingKey(NodeId node) { return node.value | (1ULL << 63); }
  static uint64_t KeyOf(const Record& r);
  // Writes `r` in the slot of its key (KeyOf), taking a free one if new.
  void Put(const Record& r);
  void Drop(uint64_t key);
  void WriteSlot(uint32_t slot, const Record& r) REQUIRES(mu_);

  const int fd_;
  mutable Mutex mu_;
  std::unordered_map<uint64_t, uint32_t> slots_ GUARDED_BY(mu_);
  std::vector<uint32_t> free_ GUARDED_BY(mu_);
  uint32_t next_slot_ GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> shown_{0};
  bool warned_ GUARDED_BY(mu_) = false;
};

}  // namespace ptfs::mirror
