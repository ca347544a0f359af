// ReadOnlyModule (--read-only=PATH): everything at or under PATH answers
// EROFS to every change through the mount, while the rest stays writable.
//
// PATH is relative to SOURCE (paths.h's form). "Under PATH" is decided by
// where a node is now (FileSystem::PathOf), so a subtree moved on the host
// is judged where it lies. Refused with EROFS:
//  - creating, removing, linking or renaming a name at or under PATH, and
//    renaming a directory on the way to PATH (which would move it);
//  - renaming out of and into the subtree; a hard link to a file inside it
//    from anywhere (a second name outside would let it be changed there);
//  - SETATTR (chmod, chown, truncate, utimes), SETXATTR, REMOVEXATTR,
//    FALLOCATE and COPY_FILE_RANGE onto a node inside, also through a file
//    descriptor opened before (fchmod, fsetxattr on an O_RDONLY fd);
//  - opening for writing or with O_TRUNC; access(W_OK) (without
//    default_permissions, where the kernel asks).
// No open for writing of a file inside can be made through the mount, so
// WRITE needs no check (and writes of files outside keep kernel
// passthrough). Inodes inside never get setattr done by the kernel (inode
// passthrough's setattr bit is cleared on their entries).
// What this does not see, as for a read-only bind mount: a file with a
// hard link made outside PATH on the host, written through that name, and a
// file moved into PATH on the host while a descriptor for writing is open.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ptfs/module.h"

namespace ptfs::modules {

class ReadOnlyModule final : public Module {
 public:
  // `roots`: normalised paths (NormalizeRelativePath).
  ReadOnlyModule(FileSystem* inner, std::vector<std::string> roots);

  // Whether `path` (relative to SOURCE) is at or under a read-only root.
  bool Frozen(std::string_view path) const;
  // Whether `path` is a directory on the way to a root.
  bool LeadsToRoot(std::string_view path) const;

  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override;
  Result<Attr> SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) override;
  Errno Access(const Context& ctx, NodeId node, uint32_t mask) override;
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
  Result<Opened> Open(const Context& ctx, NodeId node, OpenFlags flags) override;
  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                         OpenFlags flags, uint32_t mode, uint32_t umask) override;
  Result<Created> TmpFile(const Context& ctx, NodeId parent, OpenFlags flags, uint32_t mode,
                          uint32_t umask) override;
  Errno Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode, uint64_t offset,
                  uint64_t length) override;
  Result<uint64_t> CopyFileRange(const Context& ctx, NodeId node_in, FileHandle fh_in,
                                 uint64_t off_in, NodeId node_out, FileHandle fh_out,
                                 uint64_t off_out, uint64_t len, uint64_t flags) override;
  Errno SetXattr(const Context& ctx, NodeId node, std::string_view name,
                 std::span<const char> value, uint32_t flags) override;
  Errno RemoveXattr(const Context& ctx, NodeId node, std::string_view name) override;
  Errno ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                DirentSink& sink) override;

 private:
  // Whether `node` / `name` in `parent` is inside, by where it is now. A
  // node with no name under SOURCE (removed) is not inside anything.
  bool FrozenNode(NodeId node);
  bool FrozenName(NodeId parent, std::string_view name);

  const std::vector<std::string> roots_;
};

}  // namespace ptfs::modules
