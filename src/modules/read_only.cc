#include "modules/read_only.h"

#include <optional>
#include <utility>

#include "modules/paths.h"

namespace ptfs::modules {
namespace {

constexpr Errno kReadOnly{EROFS};

// Passes entries up with inode passthrough's setattr bit cleared for those
// inside a read-only subtree (the kernel must not change them itself).
class ClearSetattrInside final : public DirentSink {
 public:
  ClearSetattrInside(ReadOnlyModule* module, FileSystem* below, NodeId dir, DirentSink& out)
      : module_(module), below_(below), dir_(dir), out_(out) {}
  bool plus() const override { return out_.plus(); }
  bool Fits(std::string_view name) const override { return out_.Fits(name); }
  void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next) override {
    out_.Add(name, ino, dtype, next);
  }
  void AddPlus(std::string_view name, const Entry& entry, uint64_t next) override {
    if ((entry.inode_passthrough_ops & kInodeOpSetattr) == 0 || name == "." || name == "..") {
      out_.AddPlus(name, entry, next);
      return;
    }
    if (!dir_path_) {
      auto dir = below_->PathOf(dir_);
      dir_path_ = dir.ok() ? std::move(*dir) : std::string("\0", 1);  // no path: nothing inside
    }
    Entry e = entry;
    if (module_->Frozen(JoinPath(*dir_path_, name))) e.inode_passthrough_ops &= ~kInodeOpSetattr;
    out_.AddPlus(name, e, next);
  }

 private:
  ReadOnlyModule* module_;
  FileSystem* below_;
  NodeId dir_;
  DirentSink& out_;
  std::optional<std::string> dir_path_;
};

}  // namespace

ReadOnlyModule::ReadOnlyModule(FileSystem* inner, std::vector<std::string> roots)
    : Module(inner), roots_(std::move(roots)) {}

bool ReadOnlyModule::Frozen(std::string_view path) const {
  for (const std::string& root : roots_) {
    if (IsAtOrUnder(path, root)) return true;
  }
  return false;
}

bool ReadOnlyModule::LeadsToRoot(std::string_view path) const {
  for (const std::string& root : roots_) {
    if (LeadsTo(path, root)) return true;
  }
  return false;
}

bool ReadOnlyModule::FrozenNode(NodeId node) {
  auto path = inner()->PathOf(node);
  return path.ok() && Frozen(*path);
}

bool ReadOnlyModule::FrozenName(NodeId parent, std::string_view name) {
  auto dir = inner()->PathOf(parent);
  return dir.ok() && Frozen(JoinPath(*dir, name));
}

Result<Entry> ReadOnlyModule::Lookup(const Context& ctx, NodeId parent, std::string_view name) {
  Result<Entry> e = Module::Lookup(ctx, parent, name);
  // Only where the kernel could change the inode itself is the path asked.
  if (e.ok() && (e->inode_passthrough_ops & kInodeOpSetattr) != 0 && FrozenName(parent, name)) {
    e->inode_passthrough_ops &= ~kInodeOpSetattr;
  }
  return e;
}

Result<Attr> ReadOnlyModule::SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) {
  if (FrozenNode(node)) return kReadOnly;
  return Module::SetAttr(ctx, node, in);
}

Errno ReadOnlyModule::Access(const Context& ctx, NodeId node, uint32_t mask) {
  if ((mask & W_OK) != 0 && FrozenNode(node)) return kReadOnly;
  return Module::Access(ctx, node, mask);
}

Result<Entry> ReadOnlyModule::Symlink(const Context& ctx, NodeId parent, std::string_view name,
                                      std::string_view target) {
  if (FrozenName(parent, name)) return kReadOnly;
  return Module::Symlink(ctx, parent, name, target);
}

Result<Entry> ReadOnlyModule::MkNod(const Context& ctx, NodeId parent, std::string_view name,
                                    uint32_t mode, uint32_t rdev, uint32_t umask) {
  if (FrozenName(parent, name)) return kReadOnly;
  return Module::MkNod(ctx, parent, name, mode, rdev, umask);
}

Result<Entry> ReadOnlyModule::MkDir(const Context& ctx, NodeId parent, std::string_view name,
                                    uint32_t mode, uint32_t umask) {
  if (FrozenName(parent, name)) return kReadOnly;
  return Module::MkDir(ctx, parent, name, mode, umask);
}

Result<Entry> ReadOnlyModule::Link(const Context& ctx, NodeId node, NodeId new_parent,
                                   std::string_view new_name) {
  // A second name outside would make the file writable there.
  if (FrozenNode(node) || FrozenName(new_parent, new_name)) return kReadOnly;
  return Module::Link(ctx, node, new_parent, new_name);
}

Errno ReadOnlyModule::Unlink(const Context& ctx, NodeId parent, std::string_view name) {
  if (FrozenName(parent, name)) return kReadOnly;
  return Module::Unlink(ctx, parent, name);
}

Errno ReadOnlyModule::RmDir(const Context& ctx, NodeId parent, std::string_view name) {
  if (FrozenName(parent, name)) return kReadOnly;
  return Module::RmDir(ctx, parent, name);
}

Errno ReadOnlyModule::Rename(const Context& ctx, NodeId parent, std::string_view name,
                             NodeId new_parent, std::string_view new_name, RenameFlags flags) {
  auto from_dir = inner()->PathOf(parent);
  auto to_dir = parent == new_parent ? from_dir : inner()->PathOf(new_parent);
  if (from_dir.ok() && to_dir.ok()) {
    const std::string from = JoinPath(*from_dir, name);
    const std::string to = JoinPath(*to_dir, new_name);
    // Out of, into, within, or moving (or replacing) a directory on the way.
    if (Frozen(from) || Frozen(to) || LeadsToRoot(from) || LeadsToRoot(to)) return kReadOnly;
  }
  return Module::Rename(ctx, parent, name, new_parent, new_name, flags);
}

Result<Opened> ReadOnlyModule::Open(const Context& ctx, NodeId node, OpenFlags flags) {
  const bool changes = flags.access_mode() != O_RDONLY || (flags.posix & O_TRUNC) != 0;
  if (changes && FrozenNode(node)) return kReadOnly;
  return Module::Open(ctx, node, flags);
}

Result<Created> ReadOnlyModule::Create(const Context& ctx, NodeId parent, std::string_view name,
                                       OpenFlags flags, uint32_t mode, uint32_t umask) {
  if (FrozenName(parent, name)) return kReadOnly;
  return Module::Create(ctx, parent, name, flags, mode, umask);
}

Result<Created> ReadOnlyModule::TmpFile(const Context& ctx, NodeId parent, OpenFlags flags,
                                        uint32_t mode, uint32_t umask) {
  // An unnamed file could be linked in later, and is written meanwhile.
  if (FrozenNode(parent)) return kReadOnly;
  return Module::TmpFile(ctx, parent, flags, mode, umask);
}

Errno ReadOnlyModule::Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode,
                                uint64_t offset, uint64_t length) {
  if (FrozenNode(node)) return kReadOnly;
  return Module::Fallocate(ctx, node, fh, mode, offset, length);
}

Result<uint64_t> ReadOnlyModule::CopyFileRange(const Context& ctx, NodeId node_in,
                                               FileHandle fh_in, uint64_t off_in,
                                               NodeId node_out, FileHandle fh_out,
                                               uint64_t off_out, uint64_t len, uint64_t flags) {
  if (FrozenNode(node_out)) return kReadOnly;
  return Module::CopyFileRange(ctx, node_in, fh_in, off_in, node_out, fh_out, off_out, len,
                               flags);
}

Errno ReadOnlyModule::SetXattr(const Context& ctx, NodeId node, std::string_view name,
                               std::span<const char> value, uint32_t flags) {
  if (FrozenNode(node)) return kReadOnly;
  return Module::SetXattr(ctx, node, name, value, flags);
}

Errno ReadOnlyModule::RemoveXattr(const Context& ctx, NodeId node, std::string_view name) {
  if (FrozenNode(node)) return kReadOnly;
  return Module::RemoveXattr(ctx, node, name);
}

Errno ReadOnlyModule::ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                              DirentSink& sink) {
  if (!sink.plus()) return Module::ReadDir(ctx, node, fh, offset, sink);
  ClearSetattrInside filtered(this, inner(), node, sink);
  return Module::ReadDir(ctx, node, fh, offset, filtered);
}

}  // namespace ptfs::modules
