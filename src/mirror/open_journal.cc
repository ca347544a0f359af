#include "mirror/open_journal.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/log.h"

namespace ptfs::mirror {

namespace {
uint64_t SlotOffset(uint32_t slot) {
  return OpenJournal::kRecordsOffset + uint64_t{slot} * sizeof(OpenJournal::Record);
}
}  // namespace

OpenJournal::OpenJournal(int fd, const std::vector<Record>& kept,
                         const std::vector<Record>& dropped)
    : fd_(fd) {
  MutexLock lock(&mu_);
  // Read returns live records with their slot in reserved0 (see Read).
  for (const Record& r : kept) {
    const uint32_t slot = r.reserved0;
    slots_[KeyOf(r)] = slot;
    next_slot_ = std::max(next_slot_, slot + 1);
  }
  for (const Record& r : dropped) {
    WriteSlot(r.reserved0, Record{});
    next_slot_ = std::max(next_slot_, r.reserved0 + 1);
  }
  std::vector<bool> used(next_slot_, false);
  for (const auto& [key, slot] : slots_) used[slot] = true;
  for (uint32_t s = 0; s < next_slot_; ++s) {
    if (!used[s]) free_.push_back(s);
  }
}

Result<std::vector<OpenJournal::Record>> OpenJournal::Read(int fd) {
  std::vector<Record> live;
  Record page[4096 / sizeof(Record)];
  for (uint32_t first = 0;; first += std::size(page)) {
    const ssize_t n = ::pread(fd, page, sizeof page, static_cast<off_t>(SlotOffset(first)));
    if (n < 0) return Errno::Last();
    const size_t records = static_cast<size_t>(n) / sizeof(Record);
    for (size_t i = 0; i < records; ++i) {
      if (page[i].kind == Kind::kFree) continue;
      Record r = page[i];
      r.reserved0 = first + static_cast<uint32_t>(i);  // its slot, for the constructor
      live.push_back(r);
    }
    if (records < std::size(page)) return live;
  }
}

void OpenJournal::FileOpened(FileHandle fh, NodeId node, uint32_t open_flags) {
  Record r;
  r.kind = Kind::kFile;
  r.fh = fh.value;
  r.node = node.value;
  r.open_flags = open_flags;
  Put(FileKey(fh), r);
}

void OpenJournal::DirOpened(FileHandle fh, NodeId node) {
  Record r;
  r.kind = Kind::kDir;
  r.fh = fh.value;
  r.node = node.value;
  Put(DirKey(fh), r);
}

void OpenJournal::FileClosed(FileHandle fh) { Drop(FileKey(fh)); }

void OpenJournal::DirClosed(FileHandle fh) { Drop(DirKey(fh)); }

uint64_t OpenJournal::KeyOf(const Record& r) {
  switch (r.kind) {
    case Kind::kDir:
      return DirKey(FileHandle{r.fh});
    case Kind::kBacking:
      return BackingKey(NodeId{r.node});
    default:
      return FileKey(FileHandle{r.fh});
  }
}

void OpenJournal::BackingRegistered(NodeId node, BackingId id) {
  Record r;
  r.kind = Kind::kBacking;
  r.node = node.value;
  r.backing = id.value;
  Put(BackingKey(node), r);
}

void OpenJournal::BackingClosed(NodeId node) { Drop(BackingKey(node)); }

uint64_t OpenJournal::writes() const {
  MutexLock lock(&mu_);
  return writes_;
}

void OpenJournal::Put(uint64_t key, const Record& r) {
  MutexLock lock(&mu_);
  auto [it, fresh] = slots_.try_emplace(key, 0);
  if (fresh) {
    if (free_.empty()) {
      it->second = next_slot_++;
    } else {
      it->second = free_.back();
      free_.pop_back();
    }
  }
  WriteSlot(it->second, r);
}

void OpenJournal::Drop(uint64_t key) {
  MutexLock lock(&mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  WriteSlot(it->second, Record{});
  free_.push_back(it->second);
  slots_.erase(it);
}

void OpenJournal::WriteSlot(uint32_t slot, const Record& r) {
  ++writes_;
  const ssize_t n = ::pwrite(fd_, &r, sizeof r, static_cast<off_t>(SlotOffset(slot)));
  if (n == static_cast<ssize_t>(sizeof r) || warned_) return;
  warned_ = true;
  LOG_WARN("cannot write the restart journal (%s): a restart after this may not find every "
           "open file", n < 0 ? strerror(errno) : "short write");
}

}  // namespace ptfs::mirror
