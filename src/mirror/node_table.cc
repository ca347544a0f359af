#include "mirror/node_table.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace ptfs::mirror {

namespace {
std::string KeyOf(const sys::HandleBlob& h) {
  return std::string(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
}
}  // namespace

Result<std::unique_ptr<NodeTable>> NodeTable::Open(int fd) {
  std::unique_ptr<NodeTable> table(new NodeTable(fd));
  PTFS_TRY(table->Reload());
  return table;
}

Errno NodeTable::Reload() {
  MutexLock lock(&mu_);
  Record page[28];  // 4032 bytes
  uint64_t n = 0;
  for (;;) {
    const ssize_t got = ::pread(fd_, page, sizeof page, static_cast<off_t>(n * sizeof(Record)));
    if (got < 0) return Errno::Last();
    const size_t count = static_cast<size_t>(got) / sizeof(Record);
    for (size_t i = 0; i < count; ++i) {
      const Record& r = page[i];
      if (r.node == 0 || r.length > sizeof r.handle) {
        // A record cut short by a crash: the table ends before it.
        records_ = n + i;
        return Errno::Ok();
      }
      sys::HandleBlob h;
      h.bytes.assign(r.handle, r.handle + r.length);
      by_handle_[KeyOf(h)] = r.node;
      by_id_[r.node] = std::move(h);
      next_seq_ = std::max<uint64_t>(next_seq_, (r.node >> 8) + 1);
    }
    n += count;
    if (count < std::size(page)) break;
  }
  records_ = n;
  return Errno::Ok();
}

Result<NodeId> NodeTable::IdFor(const sys::HandleBlob& handle, unsigned shard,
                                unsigned shard_bits) {
  if (handle.empty() || handle.bytes.size() > sizeof(Record::handle)) return Errno(EXDEV);
  MutexLock lock(&mu_);
  const std::string key = KeyOf(handle);
  if (auto it = by_handle_.find(key); it != by_handle_.end()) return NodeId{it->second};
  // Sequence numbers are kept above the shard bits of every shard layout
  // up to 8 bits (Reload reads the sequence back as node >> 8).
  const uint64_t id = (next_seq_++ << 8) | (shard & ((1U << shard_bits) - 1));
  Record r{};
  r.node = id;
  r.length = static_cast<uint32_t>(handle.bytes.size());
  std::memcpy(r.handle, handle.bytes.data(), handle.bytes.size());
  const ssize_t n = ::pwrite(fd_, &r, sizeof r, static_cast<off_t>(records_ * sizeof r));
  if (n != static_cast<ssize_t>(sizeof r)) return n < 0 ? Errno::Last() : Errno(EIO);
  ++records_;
  by_handle_[key] = id;
  by_id_[id] = handle;
  return NodeId{id};
}

std::optional<sys::HandleBlob> NodeTable::HandleOf(NodeId id) const {
  MutexLock lock(&mu_);
  auto it = by_id_.find(id.value);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

size_t NodeTable::size() const {
  MutexLock lock(&mu_);
  return by_id_.size();
}

}  // namespace ptfs::mirror
