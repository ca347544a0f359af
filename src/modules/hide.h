// HideModule (--hide=GLOB): names that match a glob do not exist through
// the mount.
//
// A glob without '/' matches a name's final component (fnmatch(3), so
// `*.key` or `.git`); one with '/' matches the path relative to SOURCE
// (`FNM_PATHNAME`: `build/*/cache`). A hidden name answers ENOENT to LOOKUP,
// UNLINK, RMDIR and as the source of RENAME, is left out of READDIR and
// READDIRPLUS (references the mirror took for such an entry are given
// back), and creating, renaming or linking onto it answers EACCES. What
// lies below a hidden directory is unreachable by name, so it is hidden
// too. Directories are never listed by the kernel itself (inode
// passthrough's readdir bit is cleared), since their listings must be
// filtered. A file with another, visible hard link is reachable through
// that name: the rule is about names, as the option says. A directory on
// the way to a path glob's matches (`build` or `build/x` for
// `build/*/cache`) cannot be renamed (EACCES): the names below it would
// leave the glob and show.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptfs/module.h"

namespace ptfs::modules {

class HideModule final : public Module {
 public:
  HideModule(FileSystem* inner, const std::vector<std::string>& globs);

  // Whether `name` in directory `parent` is hidden.
  bool Hidden(NodeId parent, std::string_view name);
  // The same, given the directory's path under SOURCE (`dir_path`, asked
  // only when a path glob needs it and then kept: a listing asks once).
  bool Hidden(NodeId parent, std::string_view name, std::optional<std::string>* dir_path);

  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override;
  BackingId AttachInodeBacking(NodeId node, uint32_t inode_ops) override;
  Result<Entry> Symlink(const Context& ctx, NodeId parent, std::string_view name,
                        std::string_view target) override;
  Result<Entry> MkNod(const Context& ctx, NodeId parent, std::string_view name, uint32_t mode,
                      uint32_t rdev, uint32_t umask) override;
  Result<Entry> MkDir(const Context& ctx, NodeId parent, std::string_view name, uint32_t mode,
                      uint32_t umask) override;
  Result<Entry> Link(const Context& ctx, NodeId node, NodeId new_parent,
                     std::string_view new_name) override;
  Errno Unlink(const Context& ctx, NodeId parent, std::string_view name) override;
  Errno RmDir(const Context& ctx, NodeId parent, std::string_view name) override;
  Errno Rename(const Context& ctx, NodeId parent, std::string_view name, NodeId new_parent,
               std::string_view new_name, RenameFlags flags) override;
  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                         OpenFlags flags, uint32_t mode, uint32_t umask) override;
  Errno ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                DirentSink& sink) override;

  // Whether the inode at `path` (under SOURCE) is hidden: any of its
  // components is, or lies under one that is.
  bool HiddenPath(std::string_view path) const;

  // Whether the directory at `path` (under SOURCE) lies on the way to what
  // a path glob matches: its components match the glob's first ones.
  bool LeadsToPathGlob(std::string_view path) const;

 private:
  // Whether a name glob matches the single component `name`.
  bool NameGlobMatches(const std::string& name) const;

  std::vector<std::string> name_globs_;  // match the final component
  // Match the path under SOURCE. Under FNM_PATHNAME only a '/' in the glob
  // matches a '/', so a path can match only if its last component matches
  // the glob's: that cheap test comes first, and only then the directory's
  // path is asked for (a readlink and a stat).
  struct PathGlob {
    std::string full;
    std::string last;                   // after the glob's last '/'
    std::vector<std::string> prefixes;  // its first 1..n-1 components, joined
  };
  std::vector<PathGlob> path_globs_;
};

}  // namespace ptfs::modules
