// AuditModule (--audit=FILE): one JSON line per change made through the
// mount, with who made it and how it ended.
//
// Lines (docs/audit.md has the format): create, mkdir, mknod, symlink,
// link, unlink, rmdir, rename, setattr, setxattr, removexattr, fallocate,
// tmpfile, open for writing (or truncating), and the first write of each
// open; with --audit-reads also opens for reading and listings (list).
// Each has time (UTC, microseconds), op, path relative to SOURCE (and `to`
// for rename and link, `target` for symlink), uid, gid and pid of the
// caller, and the result ("ok" or the errno's name). A line is in the file
// before the caller gets its answer.
//
// Data keeps kernel passthrough: an open's writes do not reach the daemon
// then, so its first write is seen at release, by the file's size or
// modification time having changed since the open (the line says
// "seen":"release"); where writes reach the daemon (no passthrough), the
// first one is logged as it happens ("seen":"write").
//
// With --audit-reads, directories are never listed by the kernel itself
// (inode passthrough's readdir bit is cleared, as for --hide): a listing
// the kernel did alone would reach no one to log it. Opens always reach
// the daemon, so files keep every shortcut and their data passthrough.
//
// A module put after others on the command line sees only what they let
// through: give --audit first to record attempts other policies refuse.
#pragma once

#include <time.h>

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "modules/audit_log.h"
#include "modules/json_line.h"
#include "ptfs/module.h"

namespace ptfs::modules {

// An audit line's time: UTC, microseconds ("2026-12-06T21:20:57.123456Z",
// 27 characters and a NUL).
void FormatAuditTime(const struct timespec& t, char out[32]);

class AuditModule final : public Module {
 public:
  // `log` outlives the module. `reads`: --audit-reads.
  AuditModule(FileSystem* inner, AuditLog* log, bool reads);

  Result<Attr> SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) override;
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
  Result<size_t> Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                       std::span<const char> data, WriteFlags flags) override;
  Errno Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode, uint64_t offset,
                  uint64_t length) override;
  Result<uint64_t> CopyFileRange(const Context& ctx, NodeId node_in, FileHandle fh_in,
                                 uint64_t off_in, NodeId node_out, FileHandle fh_out,
                                 uint64_t off_out, uint64_t len, uint64_t flags) override;
  Errno Release(const Context& ctx, NodeId node, FileHandle fh, uint32_t release_flags,
                uint64_t lock_owner) override;
  Errno SetXattr(const Context& ctx, NodeId node, std::string_view name,
                 std::span<const char> value, uint32_t flags) override;
  Errno RemoveXattr(const Context& ctx, NodeId node, std::string_view name) override;
  Result<Opened> OpenDir(const Context& ctx, NodeId node, OpenFlags flags) override;
  // With --audit-reads: listings stay at the daemon.
  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override;
  Errno ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                DirentSink& sink) override;
  BackingId AttachInodeBacking(NodeId node, uint32_t inode_ops) override;

 private:
  // What an open for writing needs for the line of its first write.
  struct OpenRecord {
    std::atomic<bool> written{false};
    uint32_t uid = 0, gid = 0, pid = 0;
    std::optional<std::string> path;
    bool passthrough = false;  // writes never reach the daemon
    bool have_attr = false;    // size and mtime at the open, to compare at release
    uint64_t size = 0;
    int64_t mtime_sec = 0;
    uint32_t mtime_nsec = 0;
  };

  std::optional<std::string> PathOfNode(NodeId node);
  std::optional<std::string> PathOfName(NodeId parent, std::string_view name);
  // A line's common head: time, op, caller.
  JsonLine Begin(std::string_view op, uint32_t uid, uint32_t gid, uint32_t pid);
  JsonLine Begin(std::string_view op, const Context& ctx) {
    return Begin(op, ctx.uid, ctx.gid, ctx.pid);
  }
  void Finish(JsonLine line, Errno result);
  // Remembers an open for writing that succeeded.
  void Remember(const Context& ctx, const Opened& opened, std::optional<std::string> path,
                const struct statx* attr);
  // The line of an open's first write, once.
  void FirstWrite(NodeId node, FileHandle fh, std::string_view seen);

  AuditLog* const log_;
  const bool reads_;
  OpenState<OpenRecord> writers_{this, OpenKind::kFile};
};

}  // namespace ptfs::modules
