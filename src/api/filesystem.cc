// Default FileSystem methods: every op answers ENOSYS unless overridden.
#include "ptfs/filesystem.h"

namespace ptfs {
namespace {
constexpr Errno kNoSys{ENOSYS};
}

Result<Entry> FileSystem::Lookup(const Context&, NodeId, std::string_view) { return kNoSys; }
void FileSystem::Forget(NodeId, uint64_t) {}
BackingId FileSystem::AttachInodeBacking(NodeId, uint32_t) { return BackingId{}; }
Result<Attr> FileSystem::GetAttr(const Context&, NodeId, const FileHandle*) { return kNoSys; }
Result<Attr> FileSystem::Statx(const Context&, NodeId, const FileHandle*, uint32_t, uint32_t) {
  return kNoSys;
}
Result<Attr> FileSystem::SetAttr(const Context&, NodeId, const SetAttrIn&) { return kNoSys; }
Result<std::string> FileSystem::ReadLink(const Context&, NodeId) { return kNoSys; }
Result<Entry> FileSystem::Symlink(const Context&, NodeId, std::string_view, std::string_view) {
  return kNoSys;
}
Result<Entry> FileSystem::MkNod(const Context&, NodeId, std::string_view, uint32_t, uint32_t,
                                uint32_t) {
  return kNoSys;
}
Result<Entry> FileSystem::MkDir(const Context&, NodeId, std::string_view, uint32_t, uint32_t) {
  return kNoSys;
}
Errno FileSystem::Unlink(const Context&, NodeId, std::string_view) { return kNoSys; }
Errno FileSystem::RmDir(const Context&, NodeId, std::string_view) { return kNoSys; }
Errno FileSystem::Rename(const Context&, NodeId, std::string_view, NodeId, std::string_view,
                         uint32_t) {
  return kNoSys;
}
Result<Entry> FileSystem::Link(const Context&, NodeId, NodeId, std::string_view) { return kNoSys; }
Result<Opened> FileSystem::Open(const Context&, NodeId, uint32_t, uint32_t) { return kNoSys; }
Result<Created> FileSystem::Create(const Context&, NodeId, std::string_view, uint32_t, uint32_t,
                                   uint32_t, uint32_t) {
  return kNoSys;
}
Result<Created> FileSystem::TmpFile(const Context&, NodeId, uint32_t, uint32_t, uint32_t) {
  return kNoSys;
}
Result<size_t> FileSystem::Read(const Context&, NodeId, FileHandle, uint64_t, std::span<char>) {
  return kNoSys;
}
Result<size_t> FileSystem::Write(const Context&, NodeId, FileHandle, uint64_t,
                                 std::span<const char>, uint32_t) {
  return kNoSys;
}
Errno FileSystem::Flush(const Context&, NodeId, FileHandle, uint64_t) { return kNoSys; }
Errno FileSystem::Release(const Context&, NodeId, FileHandle, uint32_t, uint64_t) {
  return Errno::Ok();
}
Errno FileSystem::Fsync(const Context&, NodeId, FileHandle, SyncKind) { return kNoSys; }
Result<Opened> FileSystem::OpenDir(const Context&, NodeId, uint32_t) { return kNoSys; }
Errno FileSystem::ReadDir(const Context&, NodeId, FileHandle, uint64_t, DirentSink&) {
  return kNoSys;
}
Errno FileSystem::ReleaseDir(const Context&, NodeId, FileHandle) { return Errno::Ok(); }
Errno FileSystem::FsyncDir(const Context&, NodeId, FileHandle, SyncKind) { return kNoSys; }
Result<struct statvfs> FileSystem::StatFs(const Context&, NodeId) { return kNoSys; }
Errno FileSystem::SetXattr(const Context&, NodeId, std::string_view, std::span<const char>,
                           uint32_t) {
  return kNoSys;
}
Result<size_t> FileSystem::GetXattr(const Context&, NodeId, std::string_view, std::span<char>) {
  return kNoSys;
}
Result<size_t> FileSystem::ListXattr(const Context&, NodeId, std::span<char>) { return kNoSys; }
Errno FileSystem::RemoveXattr(const Context&, NodeId, std::string_view) { return kNoSys; }
Errno FileSystem::Access(const Context&, NodeId, uint32_t) { return kNoSys; }
Result<LockIn> FileSystem::GetLk(const Context&, NodeId, FileHandle, uint64_t, const LockIn&) {
  return kNoSys;
}
Errno FileSystem::SetLk(const Context&, NodeId, FileHandle, uint64_t, const LockIn&, LockKind) {
  return kNoSys;
}
Errno FileSystem::Fallocate(const Context&, NodeId, FileHandle, uint32_t, uint64_t, uint64_t) {
  return kNoSys;
}
Result<uint64_t> FileSystem::Lseek(const Context&, NodeId, FileHandle, uint64_t, uint32_t) {
  return kNoSys;
}
Result<uint64_t> FileSystem::CopyFileRange(const Context&, NodeId, FileHandle, uint64_t, NodeId,
                                           FileHandle, uint64_t, uint64_t, uint64_t) {
  return kNoSys;
}
Errno FileSystem::SyncFs(const Context&, NodeId) { return kNoSys; }

}  // namespace ptfs
