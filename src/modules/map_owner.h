// MapOwnerModule (--map-owner=FROM:TO, --map-group=FROM:TO): owners shown
// through the mount and owners stored in SOURCE translated both ways, with
// bindfs's --map semantics:
//  - a file owned by FROM in SOURCE is shown as owned by TO (stat, statx,
//    listings with attributes, every entry the kernel caches);
//  - a caller TO acts on SOURCE as FROM: the files it creates are stored as
//    FROM (and shown as TO), and SOURCE checks its access as FROM's;
//  - chown (or chgrp) to TO through the mount stores FROM.
// The kernel checks permissions on the shown owners (default_permissions,
// required), so TO has the owner's rights to FROM's files and FROM, through
// the mount, has them no more. Ids not named pass unchanged; a file owned
// by TO natively is shown as TO but TO acts as FROM on SOURCE, so it keeps
// only the rights FROM has there (bindfs, which acts as root after the
// kernel's check, would allow): do not map onto an id that owns files in
// SOURCE. POSIX ACL entries naming users or groups are not translated.
// The kernel's inode passthrough of getattr and setattr is cleared for
// every inode (it would show and set the stored owners).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ptfs/module.h"

namespace ptfs::modules {

struct IdMap {
  uint32_t from = 0;  // stored in SOURCE
  uint32_t to = 0;    // shown through the mount
  friend bool operator==(const IdMap&, const IdMap&) = default;
};

class MapOwnerModule final : public Module {
 public:
  MapOwnerModule(FileSystem* inner, const std::vector<IdMap>& users,
                 const std::vector<IdMap>& groups);

  // What the mount shows for a stored uid/gid, and what is stored for a
  // shown one.
  uint32_t ShownUid(uint32_t stored) const { return Translate(shown_uid_, stored); }
  uint32_t ShownGid(uint32_t stored) const { return Translate(shown_gid_, stored); }
  uint32_t StoredUid(uint32_t shown) const { return Translate(stored_uid_, shown); }
  uint32_t StoredGid(uint32_t shown) const { return Translate(stored_gid_, shown); }

  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override;
  BackingId AttachInodeBacking(NodeId node, uint32_t inode_ops) override;
  Result<Attr> GetAttr(const Context& ctx, NodeId node, const FileHandle* fh) override;
  Result<Attr> Statx(const Context& ctx, NodeId node, const FileHandle* fh, uint32_t sx_flags,
                     uint32_t sx_mask) override;
  Result<Attr> SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) override;
  Result<std::string> ReadLink(const Context& ctx, NodeId node) override;
  Errno Access(const Context& ctx, NodeId node, uint32_t mask) override;
  Result<struct statvfs> StatFs(const Context& ctx, NodeId node) override;
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
  Result<size_t> Read(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                      std::span<char> out) override;
  Result<size_t> Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                       std::span<const char> data, WriteFlags flags) override;
  Errno Flush(const Context& ctx, NodeId node, FileHandle fh, uint64_t lock_owner) override;
  Errno Release(const Context& ctx, NodeId node, FileHandle fh, uint32_t release_flags,
                uint64_t lock_owner) override;
  Errno Fsync(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind) override;
  Errno Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode, uint64_t offset,
                  uint64_t length) override;
  Result<uint64_t> Lseek(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                         uint32_t whence) override;
  Result<uint64_t> CopyFileRange(const Context& ctx, NodeId node_in, FileHandle fh_in,
                                 uint64_t off_in, NodeId node_out, FileHandle fh_out,
                                 uint64_t off_out, uint64_t len, uint64_t flags) override;
  Result<LockIn> GetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner,
                       const LockIn& lock) override;
  Errno SetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner, const LockIn& lock,
              LockKind kind) override;
  Result<Opened> OpenDir(const Context& ctx, NodeId node, OpenFlags flags) override;
  Errno ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                DirentSink& sink) override;
  Errno ReleaseDir(const Context& ctx, NodeId node, FileHandle fh) override;
  Errno FsyncDir(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind) override;
  Errno SetXattr(const Context& ctx, NodeId node, std::string_view name,
                 std::span<const char> value, uint32_t flags) override;
  Result<size_t> GetXattr(const Context& ctx, NodeId node, std::string_view name,
                          std::span<char> out) override;
  Result<size_t> ListXattr(const Context& ctx, NodeId node, std::span<char> out) override;
  Errno RemoveXattr(const Context& ctx, NodeId node, std::string_view name) override;
  Errno SyncFs(const Context& ctx, NodeId node) override;

  // The caller as SOURCE should see it (uid, gid and groups stored-side).
  // `groups` holds translated supplementary groups for the context's life.
  class Caller {
   public:
    Caller(const MapOwnerModule& m, const Context& ctx);
    const Context& ctx() const { return ctx_; }

   private:
    std::vector<uint32_t> groups_;
    Context ctx_;
  };

  // Shows an entry's or attributes' owners as the mount does.
  void Show(struct statx& attr) const;
  Entry Shown(Entry e) const;

 private:
  using Table = std::unordered_map<uint32_t, uint32_t>;
  static uint32_t Translate(const Table& t, uint32_t id) {
    auto it = t.find(id);
    return it == t.end() ? id : it->second;
  }
  Result<Entry> Shown(Result<Entry> e) const;
  Result<Created> Shown(Result<Created> c) const;
  Result<Attr> Shown(Result<Attr> a) const;

  Table shown_uid_, stored_uid_, shown_gid_, stored_gid_;
};

}  // namespace ptfs::modules
