// Keeping directory listings at the server, for modules that must see or
// filter them (--hide, --audit-reads): the readdir bit of inode
// passthrough is cleared on every directory entry the module passes up,
// whether it came from a lookup, a mkdir or a READDIRPLUS listing; the
// root's backing is attached through AttachInodeBacking and needs the
// same mask (ListingVetoMask). Files keep every shortcut.
#pragma once

#include <sys/stat.h>

#include "ptfs/filesystem.h"

namespace ptfs::modules {

inline Entry WithoutReaddirPassthrough(Entry e) {
  if (S_ISDIR(e.attr.stx_mode)) e.inode_passthrough_ops &= ~kInodeOpReaddir;
  return e;
}

inline Result<Entry> WithoutReaddirPassthrough(Result<Entry> e) {
  if (e.ok()) *e = WithoutReaddirPassthrough(*e);
  return e;
}

// For AttachInodeBacking(node, ops): the root has no entry to clear.
inline uint32_t ListingVetoMask(uint32_t inode_ops) { return inode_ops & ~kInodeOpReaddir; }

// A READDIRPLUS sink that clears the bit on the directories it passes on.
class ReaddirPassthroughVetoSink final : public DirentSink {
 public:
  explicit ReaddirPassthroughVetoSink(DirentSink& out) : out_(out) {}
  bool plus() const override { return out_.plus(); }
  bool Fits(std::string_view name) const override { return out_.Fits(name); }
  void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next) override {
    out_.Add(name, ino, dtype, next);
  }
  void AddPlus(std::string_view name, const Entry& entry, uint64_t next) override {
    out_.AddPlus(name, WithoutReaddirPassthrough(entry), next);
  }

 private:
  DirentSink& out_;
};

}  // namespace ptfs::modules
