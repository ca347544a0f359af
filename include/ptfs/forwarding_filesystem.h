// ForwardingFileSystem: a FileSystem that passes every call to an inner one.
// The base of policy layers (hide, audit, remap): derive, override the calls
// the policy is about, and call the base for the rest. A policy that must
// see an inode's getattr or readdir clears those bits of
// Entry::inode_passthrough_ops on the entries it passes up; the kernel then
// keeps sending those ops for that inode (docs/inode-passthrough.md).
#pragma once

#include "ptfs/filesystem.h"

namespace ptfs {

class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem* inner) : inner_(inner) {}

  void Init(const ConnectionInfo& info) override { inner_->Init(info); }
  void Destroy() override { inner_->Destroy(); }
  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override {
    return inner_->Lookup(ctx, parent, name);
  }
  void Forget(NodeId node, uint64_t nlookup) override { return inner_->Forget(node, nlookup); }
  BackingId AttachInodeBacking(NodeId node, uint32_t inode_ops) override {
    return inner_->AttachInodeBacking(node, inode_ops);
  }
  Result<std::string> PathOf(NodeId node) override { return inner_->PathOf(node); }
  Result<std::string> PathOfRecent(NodeId node) override { return inner_->PathOfRecent(node); }
  Result<Attr> GetAttr(const Context& ctx, NodeId node, const FileHandle* fh) override {
    return inner_->GetAttr(ctx, node, fh);
  }
  Result<Attr> Statx(const Context& ctx, NodeId node, const FileHandle* fh, uint32_t sx_flags,
                     uint32_t sx_mask) override {
    return inner_->Statx(ctx, node, fh, sx_flags, sx_mask);
  }
  Result<Attr> SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) override {
    return inner_->SetAttr(ctx, node, in);
  }
  Result<std::string> ReadLink(const Context& ctx, NodeId node) override {
    return inner_->ReadLink(ctx, node);
  }
  Result<Entry> Symlink(const Context& ctx, NodeId parent, std::string_view name,
                        std::string_view target) override {
    return inner_->Symlink(ctx, parent, name, target);
  }
  Result<Entry> MkNod(const Context& ctx, NodeId parent, std::string_view name, uint32_t mode,
                      uint32_t rdev, uint32_t umask) override {
    return inner_->MkNod(ctx, parent, name, mode, rdev, umask);
  }
  Result<Entry> MkDir(const Context& ctx, NodeId parent, std::string_view name, uint32_t mode,
                      uint32_t umask) override {
    return inner_->MkDir(ctx, parent, name, mode, umask);
  }
  Errno Unlink(const Context& ctx, NodeId parent, std::string_view name) override {
    return inner_->Unlink(ctx, parent, name);
  }
  Errno RmDir(const Context& ctx, NodeId parent, std::string_view name) override {
    return inner_->RmDir(ctx, parent, name);
  }
  Errno Rename(const Context& ctx, NodeId parent, std::string_view name, NodeId new_parent,
               std::string_view new_name, RenameFlags flags) override {
    return inner_->Rename(ctx, parent, name, new_parent, new_name, flags);
  }
  Result<Entry> Link(const Context& ctx, NodeId node, NodeId new_parent,
                     std::string_view new_name) override {
    return inner_->Link(ctx, node, new_parent, new_name);
  }
  Result<Opened> Open(const Context& ctx, NodeId node, OpenFlags flags) override {
    return inner_->Open(ctx, node, flags);
  }
  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                         OpenFlags flags, uint32_t mode, uint32_t umask) override {
    return inner_->Create(ctx, parent, name, flags, mode, umask);
  }
  Result<Created> TmpFile(const Context& ctx, NodeId parent, OpenFlags flags, uint32_t mode,
                          uint32_t umask) override {
    return inner_->TmpFile(ctx, parent, flags, mode, umask);
  }
  Result<size_t> Read(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                      std::span<char> out) override {
    return inner_->Read(ctx, node, fh, offset, out);
  }
  Result<size_t> Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                       std::span<const char> data, WriteFlags flags) override {
    return inner_->Write(ctx, node, fh, offset, data, flags);
  }
  Errno Flush(const Context& ctx, NodeId node, FileHandle fh, uint64_t lock_owner) override {
    return inner_->Flush(ctx, node, fh, lock_owner);
  }
  Errno Release(const Context& ctx, NodeId node, FileHandle fh, uint32_t release_flags,
                uint64_t lock_owner) override {
    return inner_->Release(ctx, node, fh, release_flags, lock_owner);
  }
  Errno Fsync(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind) override {
    return inner_->Fsync(ctx, node, fh, kind);
  }
  Result<Opened> OpenDir(const Context& ctx, NodeId node, OpenFlags flags) override {
    return inner_->OpenDir(ctx, node, flags);
  }
  Errno ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                DirentSink& sink) override {
    return inner_->ReadDir(ctx, node, fh, offset, sink);
  }
  Errno ReleaseDir(const Context& ctx, NodeId node, FileHandle fh) override {
    return inner_->ReleaseDir(ctx, node, fh);
  }
  Errno FsyncDir(const Context& ctx, NodeId node, FileHandle fh, SyncKind kind) override {
    return inner_->FsyncDir(ctx, node, fh, kind);
  }
  Result<struct statvfs> StatFs(const Context& ctx, NodeId node) override {
    return inner_->StatFs(ctx, node);
  }
  Errno SetXattr(const Context& ctx, NodeId node, std::string_view name,
                 std::span<const char> value, uint32_t flags) override {
    return inner_->SetXattr(ctx, node, name, value, flags);
  }
  Result<size_t> GetXattr(const Context& ctx, NodeId node, std::string_view name,
                          std::span<char> out) override {
    return inner_->GetXattr(ctx, node, name, out);
  }
  Result<size_t> ListXattr(const Context& ctx, NodeId node, std::span<char> out) override {
    return inner_->ListXattr(ctx, node, out);
  }
  Errno RemoveXattr(const Context& ctx, NodeId node, std::string_view name) override {
    return inner_->RemoveXattr(ctx, node, name);
  }
  Errno Access(const Context& ctx, NodeId node, uint32_t mask) override {
    return inner_->Access(ctx, node, mask);
  }
  Result<LockIn> GetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner,
                       const LockIn& lock) override {
    return inner_->GetLk(ctx, node, fh, owner, lock);
  }
  Errno SetLk(const Context& ctx, NodeId node, FileHandle fh, uint64_t owner, const LockIn& lock,
              LockKind kind) override {
    return inner_->SetLk(ctx, node, fh, owner, lock, kind);
  }
  Errno Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode, uint64_t offset,
                  uint64_t length) override {
    return inner_->Fallocate(ctx, node, fh, mode, offset, length);
  }
  Result<uint64_t> Lseek(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                         uint32_t whence) override {
    return inner_->Lseek(ctx, node, fh, offset, whence);
  }
  Result<uint64_t> CopyFileRange(const Context& ctx, NodeId node_in, FileHandle fh_in,
                                 uint64_t off_in, NodeId node_out, FileHandle fh_out,
                                 uint64_t off_out, uint64_t len, uint64_t flags) override {
    return inner_->CopyFileRange(ctx, node_in, fh_in, off_in, node_out, fh_out, off_out, len,
                                 flags);
  }
  Errno SyncFs(const Context& ctx, NodeId node) override { return inner_->SyncFs(ctx, node); }

 protected:
  FileSystem* inner() const { return inner_; }

 private:
  FileSystem* inner_;
};

}  // namespace ptfs
