#include "modules/map_owner.h"

#include <optional>

namespace ptfs::modules {
namespace {

// The caller as SOURCE sees it, for one forwarded call.
#define AS_STORED(ctx) Caller(*this, ctx).ctx()

// Adds the owners shown to the entries of a READDIRPLUS listing.
class ShownSink final : public DirentSink {
 public:
  ShownSink(const MapOwnerModule* m, DirentSink& out) : m_(m), out_(out) {}
  bool plus() const override { return out_.plus(); }
  bool Fits(std::string_view name) const override { return out_.Fits(name); }
  void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next) override {
    out_.Add(name, ino, dtype, next);
  }
  void AddPlus(std::string_view name, const Entry& entry, uint64_t next) override {
    out_.AddPlus(name, m_->Shown(entry), next);
  }

 private:
  const MapOwnerModule* m_;
  DirentSink& out_;
};

}  // namespace

MapOwnerModule::MapOwnerModule(FileSystem* inner, const std::vector<IdMap>& users,
                               const std::vector<IdMap>& groups)
    : Module(inner) {
  for (const IdMap& m : users) {
    shown_uid_[m.from] = m.to;
    stored_uid_[m.to] = m.from;
  }
  for (const IdMap& m : groups) {
    shown_gid_[m.from] = m.to;
    stored_gid_[m.to] = m.from;
  }
}

MapOwnerModule::Caller::Caller(const MapOwnerModule& m, const Context& ctx) : ctx_(ctx) {
  ctx_.uid = m.StoredUid(ctx.uid);
  ctx_.gid = m.StoredGid(ctx.gid);
  if (!ctx.groups.empty() && !m.stored_gid_.empty()) {
    groups_.reserve(ctx.groups.size());
    for (uint32_t g : ctx.groups) groups_.push_back(m.StoredGid(g));
    ctx_.groups = groups_;
  }
}

void MapOwnerModule::Show(struct statx& attr) const {
  attr.stx_uid = ShownUid(attr.stx_uid);
  attr.stx_gid = ShownGid(attr.stx_gid);
}

Entry MapOwnerModule::Shown(Entry e) const {
  Show(e.attr);
  // The kernel would show (and set) the stored owners itself.
  e.inode_passthrough_ops &= ~(kInodeOpGetattr | kInodeOpSetattr);
  return e;
}

Result<Entry> MapOwnerModule::Shown(Result<Entry> e) const {
  if (e.ok()) *e = Shown(std::move(*e));
  return e;
}

Result<Created> MapOwnerModule::Shown(Result<Created> c) const {
  if (c.ok()) c->entry = Shown(std::move(c->entry));
  return c;
}

Result<Attr> MapOwnerModule::Shown(Result<Attr> a) const {
  if (a.ok()) Show(a->attr);
  return a;
}

// ---- calls whose answers carry owners

Result<Entry> MapOwnerModule::Lookup(const Context& ctx, NodeId parent, std::string_view name) {
  return Shown(Module::Lookup(AS_STORED(ctx), parent, name));
}

BackingId MapOwnerModule::AttachInodeBacking(NodeId node, uint32_t inode_ops) {
  // The root's too (its entry is not one this module passes up).
  return Module::AttachInodeBacking(node, inode_ops & ~(kInodeOpGetattr | kInodeOpSetattr));
}

Result<Attr> MapOwnerModule::GetAttr(const Context& ctx, NodeId node, const FileHandle* fh) {
  return Shown(Module::GetAttr(AS_STORED(ctx), node, fh));
}

Result<Attr> MapOwnerModule::Statx(const Context& ctx, NodeId node, const FileHandle* fh,
                                   uint32_t sx_flags, uint32_t sx_mask) {
  return Shown(Module::Statx(AS_STORED(ctx), node, fh, sx_flags, sx_mask));
}

Result<Attr> MapOwnerModule::SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) {
  SetAttrIn stored = in;
  if (in.valid & SetAttrIn::kUid) stored.uid = StoredUid(in.uid);
  if (in.valid & SetAttrIn::kGid) stored.gid = StoredGid(in.gid);
  return Shown(Module::SetAttr(AS_STORED(ctx), node, stored));
}

Result<Entry> MapOwnerModule::Symlink(const Context& ctx, NodeId parent, std::string_view name,
                                      std::string_view target) {
  return Shown(Module::Symlink(AS_STORED(ctx), parent, name, target));
}

Result<Entry> MapOwnerModule::MkNod(const Context& ctx, NodeId parent, std::string_view name,
                                    uint32_t mode, uint32_t rdev, uint32_t umask) {
  return Shown(Module::MkNod(AS_STORED(ctx), parent, name, mode, rdev, umask));
}

Result<Entry> MapOwnerModule::MkDir(const Context& ctx, NodeId parent, std::string_view name,
                                    uint32_t mode, uint32_t umask) {
  return Shown(Module::MkDir(AS_STORED(ctx), parent, name, mode, umask));
}

Result<Entry> MapOwnerModule::Link(const Context& ctx, NodeId node, NodeId new_parent,
                                   std::string_view new_name) {
  return Shown(Module::Link(AS_STORED(ctx), node, new_parent, new_name));
}

Result<Created> MapOwnerModule::Create(const Context& ctx, NodeId parent, std::string_view name,
                                       OpenFlags flags, uint32_t mode, uint32_t umask) {
  return Shown(Module::Create(AS_STORED(ctx), parent, name, flags, mode, umask));
}

Result<Created> MapOwnerModule::TmpFile(const Context& ctx, NodeId parent, OpenFlags flags,
                                        uint32_t mode, uint32_t umask) {
  return Shown(Module::TmpFile(AS_STORED(ctx), parent, flags, mode, umask));
}

Errno MapOwnerModule::ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                              DirentSink& sink) {
  if (!sink.plus()) return Module::ReadDir(AS_STORED(ctx), node, fh, offset, sink);
  ShownSink shown(this, sink);
  return Module::ReadDir(AS_STORED(ctx), node, fh, offset, shown);
}

// ---- the rest: only the caller is translated

Result<std::string> MapOwnerModule::ReadLink(const Context& ctx, NodeId node) {
  return Module::ReadLink(AS_STORED(ctx), node);
}
Errno MapOwnerModule::Access(const Context& ctx, NodeId node, uint32_t mask) {
  return Module::Access(AS_STORED(ctx), node, mask);
}
Result<struct statvfs> MapOwnerModule::StatFs(const Context& ctx, NodeId node) {
  return Module::StatFs(AS_STORED(ctx), node);
}
Errno MapOwnerModule::Unlink(const Context& ctx, NodeId parent, std::string_view name) {
  return Module::Unlink(AS_STORED(ctx), parent, name);
}
Errno MapOwnerModule::RmDir(const Context& ctx, NodeId parent, std::string_view name) {
  return Module::RmDir(AS_STORED(ctx), parent, name);
}
Errno MapOwnerModule::Rename(const Context& ctx, NodeId parent, std::string_view name,
                             NodeId new_parent, std::string_view new_name, RenameFlags flags) {
  return Module::Rename(AS_STORED(ctx), parent, name, new_parent, new_name, flags);
}
Result<Opened> MapOwnerModule::Open(const Context& ctx, NodeId node, OpenFlags flags) {
  return Module::Open(AS_STORED(ctx), node, flags);
}
Result<size_t> MapOwnerModule::Read(const Context& ctx, NodeId node, FileHandle fh,
                                    uint64_t offset, std::span<char> out) {
  return Module::Read(AS_STORED(ctx), node, fh, offset, out);
}
Result<size_t> MapOwnerModule::Write(const Context& ctx, NodeId node, FileHandle fh,
                                     uint64_t offset, std::span<const char> data,
                                     WriteFlags flags) {
  return Module::Write(AS_STORED(ctx), node, fh, offset, data, flags);
}
Errno MapOwnerModule::Flush(const Context& ctx, NodeId node, FileHandle fh,
                            uint64_t lock_owner) {
  return Module::Flush(AS_STORED(ctx), node, fh, lock_owner);
}
Errno MapOwnerModule::Release(const Context& ctx, NodeId node, FileHandle fh,
                              uint32_t release_flags, uint64_t lock_owner) {
  return Module::Release(AS_STORED(ctx), node, fh, release_flags, lock_owner);
}
Errno MapOwnerModule::Fsync(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind) {
  return Module::Fsync(AS_STORED(ctx), node, fh, kind);
}
Errno MapOwnerModule::Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode,
                                uint64_t offset, uint64_t length) {
  return Module::Fallocate(AS_STORED(ctx), node, fh, mode, offset, length);
}
Result<uint64_t> MapOwnerModule::Lseek(const Context& ctx, NodeId node, FileHandle fh,
                                       uint64_t offset, uint32_t whence) {
  return Module::Lseek(AS_STORED(ctx), node, fh, offset, whence);
}
Result<uint64_t> MapOwnerModule::CopyFileRange(const Context& ctx, NodeId node_in,
                                               FileHandle fh_in, uint64_t off_in,
                                               NodeId node_out, FileHandle fh_out,
                                               uint64_t off_out, uint64_t len, uint64_t flags) {
  return Module::CopyFileRange(AS_STORED(ctx), node_in, fh_in, off_in, node_out, fh_out, off_out,
                               len, flags);
}
Result<LockIn> MapOwnerModule::GetLk(const Context& ctx, NodeId node, FileHandle fh,
                                     uint64_t owner, const LockIn& lock) {
  return Module::GetLk(AS_STORED(ctx), node, fh, owner, lock);
}
Errno MapOwnerModule::SetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner,
                            const LockIn& lock, LockKind kind) {
  return Module::SetLk(AS_STORED(ctx), node, fh, owner, lock, kind);
}
Result<Opened> MapOwnerModule::OpenDir(const Context& ctx, NodeId node, OpenFlags flags) {
  return Module::OpenDir(AS_STORED(ctx), node, flags);
}
Errno MapOwnerModule::ReleaseDir(const Context& ctx, NodeId node, FileHandle fh) {
  return Module::ReleaseDir(AS_STORED(ctx), node, fh);
}
Errno MapOwnerModule::FsyncDir(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind) {
  return Module::FsyncDir(AS_STORED(ctx), node, fh, kind);
}
Errno MapOwnerModule::SetXattr(const Context& ctx, NodeId node, std::string_view name,
                               std::span<const char> value, uint32_t flags) {
  return Module::SetXattr(AS_STORED(ctx), node, name, value, flags);
}
Result<size_t> MapOwnerModule::GetXattr(const Context& ctx, NodeId node, std::string_view name,
                                        std::span<char> out) {
  return Module::GetXattr(AS_STORED(ctx), node, name, out);
}
Result<size_t> MapOwnerModule::ListXattr(const Context& ctx, NodeId node, std::span<char> out) {
  return Module::ListXattr(AS_STORED(ctx), node, out);
}
Errno MapOwnerModule::RemoveXattr(const Context& ctx, NodeId node, std::string_view name) {
  return Module::RemoveXattr(AS_STORED(ctx), node, name);
}
Errno MapOwnerModule::SyncFs(const Context& ctx, NodeId node) {
  return Module::SyncFs(AS_STORED(ctx), node);
}

}  // namespace ptfs::modules
