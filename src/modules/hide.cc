#include "modules/hide.h"

#include <fnmatch.h>

#include "modules/listing_veto.h"

namespace ptfs::modules {
namespace {

// Passes on the entries that are not hidden.
class VisibleOnly final : public DirentSink {
 public:
  VisibleOnly(HideModule* hide, FileSystem* below, NodeId dir, DirentSink& out)
      : hide_(hide), below_(below), dir_(dir), out_(out) {}
  bool plus() const override { return out_.plus(); }
  bool Fits(std::string_view name) const override { return out_.Fits(name); }
  void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next) override {
    if (!hide_->Hidden(dir_, name, &dir_path_)) out_.Add(name, ino, dtype, next);
  }
  void AddPlus(std::string_view name, const Entry& entry, uint64_t next) override {
    if (!hide_->Hidden(dir_, name, &dir_path_)) {
      out_.AddPlus(name, WithoutReaddirPassthrough(entry), next);
    } else if (entry.node.value != 0) {
      below_->Forget(entry.node, 1);  // the reference the listing took
    }
  }

 private:
  HideModule* hide_;
  FileSystem* below_;
  NodeId dir_;
  DirentSink& out_;
  std::optional<std::string> dir_path_;  // asked once per listing chunk
};

}  // namespace

HideModule::HideModule(FileSystem* inner, const std::vector<std::string>& globs)
    : Module(inner) {
  for (const std::string& g : globs) {
    const size_t slash = g.rfind('/');
    if (slash == std::string::npos) {
      name_globs_.push_back(g);
    } else {
      PathGlob pg{g, g.substr(slash + 1), {}};
      for (size_t at = g.find('/'); at != std::string::npos; at = g.find('/', at + 1)) {
        if (at > 0) pg.prefixes.push_back(g.substr(0, at));
      }
      path_globs_.push_back(std::move(pg));
    }
  }
}

bool HideModule::NameGlobMatches(const std::string& name) const {
  for (const std::string& g : name_globs_) {
    if (::fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

bool HideModule::Hidden(NodeId parent, std::string_view name) {
  std::optional<std::string> dir_path;
  return Hidden(parent, name, &dir_path);
}

bool HideModule::Hidden(NodeId parent, std::string_view name,
                        std::optional<std::string>* dir_path) {
  if (name == "." || name == "..") return false;
  const std::string n(name);
  if (NameGlobMatches(n)) return true;
  for (const PathGlob& g : path_globs_) {
    if (::fnmatch(g.last.c_str(), n.c_str(), 0) != 0) continue;
    // Only a name that could match costs a look at where the directory is
    // (a readlink and a stat), once per request or listing chunk.
    if (!dir_path->has_value()) {
      auto dir = inner()->PathOf(parent);
      if (!dir.ok()) return false;  // gone: the operation fails below anyway
      *dir_path = std::move(*dir);
    }
    const std::string& d = **dir_path;
    const std::string path = d.empty() ? n : d + "/" + n;
    if (::fnmatch(g.full.c_str(), path.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

bool HideModule::HiddenPath(std::string_view path) const {
  if (path.empty()) return false;  // SOURCE itself
  for (size_t end = path.find('/');; end = path.find('/', end + 1)) {
    const std::string prefix(path.substr(0, end));
    const size_t slash = prefix.rfind('/');
    const std::string last = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
    if (NameGlobMatches(last)) return true;
    for (const PathGlob& g : path_globs_) {
      if (::fnmatch(g.full.c_str(), prefix.c_str(), FNM_PATHNAME) == 0) return true;
    }
    if (end == std::string_view::npos) return false;
  }
}

Result<Entry> HideModule::Lookup(const Context& ctx, NodeId parent, std::string_view name) {
  if (name == "." || name == "..") {
    // An inode found again by its nodeid (a file handle: NFS, open_by_handle_at)
    // or a directory's parent, with no name to judge: judged by where it is.
    // One that cannot be placed under SOURCE is refused too.
    Result<Entry> e = Module::Lookup(ctx, parent, name);
    if (e.ok() && e->node != kRootNode) {
      Result<std::string> path = inner()->PathOf(e->node);
      if (!path.ok() || HiddenPath(*path)) {
        inner()->Forget(e->node, 1);
        return Errno(ESTALE);
      }
    }
    return WithoutReaddirPassthrough(e);
  }
  if (Hidden(parent, name)) return Errno(ENOENT);
  return WithoutReaddirPassthrough(Module::Lookup(ctx, parent, name));
}

BackingId HideModule::AttachInodeBacking(NodeId node, uint32_t inode_ops) {
  // The root's listing too (its entry is not one this module passes up).
  return Module::AttachInodeBacking(node, ListingVetoMask(inode_ops));
}

Result<Entry> HideModule::Symlink(const Context& ctx, NodeId parent, std::string_view name,
                                  std::string_view target) {
  if (Hidden(parent, name)) return Errno(EACCES);
  return Module::Symlink(ctx, parent, name, target);
}

Result<Entry> HideModule::MkNod(const Context& ctx, NodeId parent, std::string_view name,
                                uint32_t mode, uint32_t rdev, uint32_t umask) {
  if (Hidden(parent, name)) return Errno(EACCES);
  return Module::MkNod(ctx, parent, name, mode, rdev, umask);
}

Result<Entry> HideModule::MkDir(const Context& ctx, NodeId parent, std::string_view name,
                                uint32_t mode, uint32_t umask) {
  if (Hidden(parent, name)) return Errno(EACCES);
  return WithoutReaddirPassthrough(Module::MkDir(ctx, parent, name, mode, umask));
}

Result<Entry> HideModule::Link(const Context& ctx, NodeId node, NodeId new_parent,
                               std::string_view new_name) {
  if (Hidden(new_parent, new_name)) return Errno(EACCES);
  return Module::Link(ctx, node, new_parent, new_name);
}

Errno HideModule::Unlink(const Context& ctx, NodeId parent, std::string_view name) {
  if (Hidden(parent, name)) return Errno(ENOENT);
  return Module::Unlink(ctx, parent, name);
}

Errno HideModule::RmDir(const Context& ctx, NodeId parent, std::string_view name) {
  if (Hidden(parent, name)) return Errno(ENOENT);
  return Module::RmDir(ctx, parent, name);
}

bool HideModule::LeadsToPathGlob(std::string_view path) const {
  const std::string p(path);
  for (const PathGlob& g : path_globs_) {
    for (const std::string& prefix : g.prefixes) {
      if (::fnmatch(prefix.c_str(), p.c_str(), FNM_PATHNAME) == 0) return true;
    }
  }
  return false;
}

Errno HideModule::Rename(const Context& ctx, NodeId parent, std::string_view name,
                         NodeId new_parent, std::string_view new_name, RenameFlags flags) {
  if (Hidden(parent, name)) return Errno(ENOENT);
  if (Hidden(new_parent, new_name)) return Errno(EACCES);
  if (!path_globs_.empty()) {
    // Moving a directory on the way to a path glob's matches would move
    // them out of it (and an exchange moves both names' trees).
    const std::pair<NodeId, std::string_view> moved[] = {{parent, name}, {new_parent, new_name}};
    for (size_t i = 0; i < (flags.exchange() ? 2u : 1u); ++i) {
      const auto& [dir, n] = moved[i];
      auto dir_path = inner()->PathOf(dir);
      if (!dir_path.ok() || !LeadsToPathGlob(dir_path->empty() ? std::string(n)
                                                                : *dir_path + "/" + std::string(n))) {
        continue;
      }
      Result<Entry> e = inner()->Lookup(ctx, dir, n);
      if (!e.ok() || e->node.value == 0) continue;
      inner()->Forget(e->node, 1);
      if (S_ISDIR(e->attr.stx_mode)) return Errno(EACCES);
    }
  }
  return Module::Rename(ctx, parent, name, new_parent, new_name, flags);
}

Result<Created> HideModule::Create(const Context& ctx, NodeId parent, std::string_view name,
                                   OpenFlags flags, uint32_t mode, uint32_t umask) {
  if (Hidden(parent, name)) return Errno(EACCES);
  return Module::Create(ctx, parent, name, flags, mode, umask);
}

Errno HideModule::ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                          DirentSink& sink) {
  VisibleOnly visible(this, inner(), node, sink);
  return Module::ReadDir(ctx, node, fh, offset, visible);
}

}  // namespace ptfs::modules
