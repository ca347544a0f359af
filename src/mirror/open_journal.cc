#include "mirror/open_journal.h"

#include <sys/stat.h>
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
  // The records lie in [kRecordsOffset, kShownOffset), written from the low
  // slots up; the file is sparse, so only the parts ever written are read
  // (SEEK_DATA/SEEK_HOLE; a filesystem without them reads up to its size).
  std::vector<Record> live;
  struct stat st;
  if (::fstat(fd, &st) < 0) return Errno::Last();
  const uint64_t end = std::min<uint64_t>(kShownOffset, static_cast<uint64_t>(st.st_size));
  Record page[4096 / sizeof(Record)];
  for (uint64_t at = kRecordsOffset; at < end;) {
    off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // nothing written from here on
    if (data < 0) data = static_cast<off_t>(at);
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(end);
    const uint64_t from = static_cast<uint64_t>(data), to =
        std::min<uint64_t>(end, static_cast<uint64_t>(hole));
    if (from >= end) break;
    for (uint64_t pos = from - (from - kRecordsOffset) % sizeof(Record); pos < to;) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof page, to - pos));
      const ssize_t n = ::pread(fd, page, want, static_cast<off_t>(pos));
      if (n < 0) return Errno::Last();
      if (n == 0) break;
      const size_t records = static_cast<size_t>(n) / sizeof(Record);
      for (size_t i = 0; i < records; ++i) {
        if (page[i].kind == Kind::kFree) continue;
        Record r = page[i];
        // Its slot, for the constructor.
        r.reserved0 = static_cast<uint32_t>((pos - kRecordsOffset) / sizeof(Record) + i);
        live.push_back(r);
      }
      pos += records * sizeof(Record);
      if (records == 0) break;
    }
    at = to;
  }
  return live;
}

Result<std::vector<uint64_t>> OpenJournal::ReadShown(int fd) {
  std::vector<uint64_t> shown;
  uint64_t chunk[512];
  for (uint64_t at = kShownOffset;; at += sizeof chunk) {
    const ssize_t n = ::pread(fd, chunk, sizeof chunk, static_cast<off_t>(at));
    if (n < 0) return Errno::Last();
    const size_t count = static_cast<size_t>(n) / sizeof(uint64_t);
    for (size_t i = 0; i < count; ++i) {
      if (chunk[i] == 0) return shown;  // never written (a slot being appended)
      shown.push_back(chunk[i]);
    }
    if (count < std::size(chunk)) return shown;
  }
}

void OpenJournal::SetShownCount(uint64_t n) { shown_.store(n, std::memory_order_relaxed); }

void OpenJournal::FileShown(NodeId node) {
  const uint64_t slot = shown_.fetch_add(1, std::memory_order_relaxed);
  const ssize_t n = ::pwrite(fd_, &node.value, sizeof node.value,
                             static_cast<off_t>(kShownOffset + slot * sizeof(uint64_t)));
  if (n != static_cast<ssize_t>(sizeof node.value)) {
    MutexLock lock(&mu_);
    if (!warned_) {
      warned_ = true;
      LOG_WARN("cannot write the restart journal (%s): after a restart a file shown before may "
               "not be found by its handle", n < 0 ? strerror(errno) : "short write");
    }
  }
}

void OpenJournal::FileOpened(FileHandle fh, NodeId node, uint32_t open_flags) {
  Put(Record{.kind = Kind::kFile, .open_flags = open_flags, .fh = fh.value, .node = node.value});
}

void OpenJournal::DirOpened(FileHandle fh, NodeId node) {
  Put(Record{.kind = Kind::kDir, .fh = fh.value, .node = node.value});
}

void OpenJournal::BackingRegistered(NodeId node, BackingId id) {
  Put(Record{.kind = Kind::kBacking, .node = node.value, .backing = id.value});
}

void OpenJournal::FileClosed(FileHandle fh) { Drop(FileKey(fh)); }

void OpenJournal::DirClosed(FileHandle fh) { Drop(DirKey(fh)); }

void OpenJournal::BackingClosed(NodeId node) { Drop(BackingKey(node)); }

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

void OpenJournal::Put(const Record& r) {
  MutexLock lock(&mu_);
  auto [it, fresh] = slots_.try_emplace(KeyOf(r), 0);
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
  const ssize_t n = ::pwrite(fd_, &r, sizeof r, static_cast<off_t>(SlotOffset(slot)));
  if (n == static_cast<ssize_t>(sizeof r) || warned_) return;
  warned_ = true;
  LOG_WARN("cannot write the restart journal (%s): a restart after this may not find every "
           "open file", n < 0 ? strerror(errno) : "short write");
}

}  // namespace ptfs::mirror
