#include "modules/audit.h"

#include <string.h>
#include <time.h>

#include <cstdio>
#include <cstring>

#include "modules/listing_veto.h"
#include "modules/paths.h"

namespace ptfs::modules {
namespace {

std::string ErrnoName(Errno e) {
  if (e.ok()) return "ok";
  const char* name = ::strerrorname_np(e.value());
  return name != nullptr ? name : "E" + std::to_string(e.value());
}

template <typename T>
Errno ResultOf(const Result<T>& r) {
  return r.error();
}

std::string Octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%o", mode);
  return buf;
}

// What a SETATTR changes, with the new values: "mode=600 uid=1000 size=0 mtime".
std::string Changes(const SetAttrIn& in) {
  std::string s;
  const auto add = [&s](const std::string& part) {
    if (!s.empty()) s += ' ';
    s += part;
  };
  if (in.valid & SetAttrIn::kMode) add("mode=" + Octal(in.mode & 07777));
  if (in.valid & SetAttrIn::kUid) add("uid=" + std::to_string(in.uid));
  if (in.valid & SetAttrIn::kGid) add("gid=" + std::to_string(in.gid));
  if (in.valid & SetAttrIn::kSize) add("size=" + std::to_string(in.size));
  if (in.valid & (SetAttrIn::kAtime | SetAttrIn::kAtimeNow)) add("atime");
  if (in.valid & (SetAttrIn::kMtime | SetAttrIn::kMtimeNow)) add("mtime");
  if (s.empty() && (in.valid & SetAttrIn::kCtime)) add("ctime");
  return s;
}

std::string_view AccessOf(OpenFlags flags) {
  switch (flags.access_mode()) {
    case O_WRONLY:
      return "write";
    case O_RDWR:
      return "read-write";
    default:
      return "read";
  }
}

bool Changes(OpenFlags flags) {
  return flags.access_mode() != O_RDONLY || (flags.posix & O_TRUNC) != 0;
}

}  // namespace

AuditModule::AuditModule(FileSystem* inner, AuditLog* log, bool reads)
    : Module(inner), log_(log), reads_(reads) {}

std::optional<std::string> AuditModule::PathOfNode(NodeId node) {
  auto p = inner()->PathOfRecent(node);
  if (!p.ok()) return std::nullopt;
  return std::move(*p);
}

std::optional<std::string> AuditModule::PathOfName(NodeId parent, std::string_view name) {
  auto dir = inner()->PathOfRecent(parent);
  if (!dir.ok()) return std::nullopt;
  return JoinPath(*dir, name);
}

// "2026-12-06T21:20:57.123456Z" into `out` (28 bytes with the NUL). Written
// digit by digit: snprintf cost more than the rest of an audit line; the
// calendar part is worked out once per second per thread.
void FormatAuditTime(const struct timespec& t, char out[32]) {
  thread_local time_t cached_sec = -1;
  thread_local char cached[20];  // "YYYY-MM-DDTHH:MM:SS"
  if (t.tv_sec != cached_sec) {
    struct tm tm;
    ::gmtime_r(&t.tv_sec, &tm);
    auto put = [](char* at, int value, int digits) {
      for (int i = digits - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
    };
    put(cached, tm.tm_year + 1900, 4);
    cached[4] = '-';
    put(cached + 5, tm.tm_mon + 1, 2);
    cached[7] = '-';
    put(cached + 8, tm.tm_mday, 2);
    cached[10] = 'T';
    put(cached + 11, tm.tm_hour, 2);
    cached[13] = ':';
    put(cached + 14, tm.tm_min, 2);
    cached[16] = ':';
    put(cached + 17, tm.tm_sec, 2);
    cached_sec = t.tv_sec;
  }
  std::memcpy(out, cached, 19);
  out[19] = '.';
  long micros = t.tv_nsec / 1000;
  for (int i = 25; i >= 20; --i, micros /= 10) out[i] = static_cast<char>('0' + micros % 10);
  out[26] = 'Z';
  out[27] = '\0';
}

JsonLine AuditModule::Begin(std::string_view op, uint32_t uid, uint32_t gid, uint32_t pid) {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  char time[32];
  FormatAuditTime(now, time);
  JsonLine line;
  line.Str("time", time).Str("op", op).Int("uid", uid).Int("gid", gid).Int("pid", pid);
  return line;
}

void AuditModule::Finish(JsonLine line, Errno result) {
  line.Str("result", ErrnoName(result));
  log_->Append(std::move(line).Take());
}

void AuditModule::Remember(const Context& ctx, const Opened& opened,
                           std::optional<std::string> path, const struct statx* attr) {
  std::shared_ptr<OpenRecord> r = writers_.Get(opened.fh);
  r->uid = ctx.uid;
  r->gid = ctx.gid;
  r->pid = ctx.pid;
  r->path = std::move(path);
  r->passthrough = opened.passthrough();
  if (attr != nullptr) {
    r->have_attr = true;
    r->size = attr->stx_size;
    r->mtime_sec = attr->stx_mtime.tv_sec;
    r->mtime_nsec = attr->stx_mtime.tv_nsec;
  }
}

void AuditModule::FirstWrite(NodeId node, FileHandle fh, std::string_view seen) {
  std::shared_ptr<OpenRecord> r = writers_.Find(fh);
  if (r == nullptr || r->written.exchange(true)) return;
  std::optional<std::string> path = PathOfNode(node);
  JsonLine line = Begin("write", r->uid, r->gid, r->pid);
  line.OptStr("path", path ? path : r->path).Str("seen", seen);
  Finish(std::move(line), Errno::Ok());
}

// ---- names

Result<Entry> AuditModule::Symlink(const Context& ctx, NodeId parent, std::string_view name,
                                   std::string_view target) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("symlink", ctx);
  line.OptStr("path", PathOfName(parent, name)).Str("target", target);
  Result<Entry> r = Module::Symlink(ctx, parent, name, target);
  Finish(std::move(line), ResultOf(r));
  return r;
}

Result<Entry> AuditModule::MkNod(const Context& ctx, NodeId parent, std::string_view name,
                                 uint32_t mode, uint32_t rdev, uint32_t umask) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("mknod", ctx);
  line.OptStr("path", PathOfName(parent, name)).Str("mode", Octal(mode));
  Result<Entry> r = Module::MkNod(ctx, parent, name, mode, rdev, umask);
  Finish(std::move(line), ResultOf(r));
  return r;
}

Result<Entry> AuditModule::MkDir(const Context& ctx, NodeId parent, std::string_view name,
                                 uint32_t mode, uint32_t umask) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("mkdir", ctx);
  line.OptStr("path", PathOfName(parent, name)).Str("mode", Octal(mode & 07777));
  Result<Entry> r = Module::MkDir(ctx, parent, name, mode, umask);
  Finish(std::move(line), ResultOf(r));
  return reads_ ? WithoutReaddirPassthrough(std::move(r)) : r;
}

Result<Entry> AuditModule::Link(const Context& ctx, NodeId node, NodeId new_parent,
                                std::string_view new_name) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("link", ctx);
  line.OptStr("path", PathOfNode(node)).OptStr("to", PathOfName(new_parent, new_name));
  Result<Entry> r = Module::Link(ctx, node, new_parent, new_name);
  Finish(std::move(line), ResultOf(r));
  return r;
}

Errno AuditModule::Unlink(const Context& ctx, NodeId parent, std::string_view name) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("unlink", ctx);
  line.OptStr("path", PathOfName(parent, name));
  const Errno r = Module::Unlink(ctx, parent, name);
  Finish(std::move(line), r);
  return r;
}

Errno AuditModule::RmDir(const Context& ctx, NodeId parent, std::string_view name) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("rmdir", ctx);
  line.OptStr("path", PathOfName(parent, name));
  const Errno r = Module::RmDir(ctx, parent, name);
  Finish(std::move(line), r);
  return r;
}

Errno AuditModule::Rename(const Context& ctx, NodeId parent, std::string_view name,
                          NodeId new_parent, std::string_view new_name, RenameFlags flags) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("rename", ctx);
  line.OptStr("path", PathOfName(parent, name)).OptStr("to", PathOfName(new_parent, new_name));
  if (flags.exchange()) line.Str("flags", "exchange");
  if (flags.noreplace()) line.Str("flags", "noreplace");
  const Errno r = Module::Rename(ctx, parent, name, new_parent, new_name, flags);
  Finish(std::move(line), r);
  return r;
}

// ---- attributes and xattrs

Result<Attr> AuditModule::SetAttr(const Context& ctx, NodeId node, const SetAttrIn& in) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("setattr", ctx);
  line.OptStr("path", PathOfNode(node)).Str("set", Changes(in));
  Result<Attr> r = Module::SetAttr(ctx, node, in);
  Finish(std::move(line), ResultOf(r));
  return r;
}

Errno AuditModule::SetXattr(const Context& ctx, NodeId node, std::string_view name,
                            std::span<const char> value, uint32_t flags) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("setxattr", ctx);
  line.OptStr("path", PathOfNode(node)).Str("name", name);
  const Errno r = Module::SetXattr(ctx, node, name, value, flags);
  Finish(std::move(line), r);
  return r;
}

Errno AuditModule::RemoveXattr(const Context& ctx, NodeId node, std::string_view name) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("removexattr", ctx);
  line.OptStr("path", PathOfNode(node)).Str("name", name);
  const Errno r = Module::RemoveXattr(ctx, node, name);
  Finish(std::move(line), r);
  return r;
}

// ---- opens and data

Result<Opened> AuditModule::Open(const Context& ctx, NodeId node, OpenFlags flags) {
  const bool changes = Changes(flags);
  if (!changes && !reads_) return Module::Open(ctx, node, flags);
  if (changes) {
    if (Errno e = log_->ReadyForChange()) return e;
  }
  std::optional<std::string> path = PathOfNode(node);
  JsonLine line = Begin("open", ctx);
  line.OptStr("path", path).Str("access", AccessOf(flags));
  if (flags.posix & O_TRUNC) line.Bool("truncate", true);
  Result<Opened> r = Module::Open(ctx, node, flags);
  Finish(std::move(line), ResultOf(r));
  if (r.ok() && flags.access_mode() != O_RDONLY) {
    // Where writes bypass the daemon, the attributes now tell at release
    // whether the open wrote.
    Result<Attr> now = r->passthrough() ? inner()->GetAttr(ctx, node, &r->fh) : Errno(ENOSYS);
    Remember(ctx, *r, std::move(path), now.ok() ? &now->attr : nullptr);
  }
  return r;
}

Result<Created> AuditModule::Create(const Context& ctx, NodeId parent, std::string_view name,
                                    OpenFlags flags, uint32_t mode, uint32_t umask) {
  if (Errno e = log_->ReadyForChange()) return e;
  std::optional<std::string> path = PathOfName(parent, name);
  JsonLine line = Begin("create", ctx);
  line.OptStr("path", path).Str("mode", Octal(mode & 07777)).Str("access", AccessOf(flags));
  Result<Created> r = Module::Create(ctx, parent, name, flags, mode, umask);
  Finish(std::move(line), ResultOf(r));
  if (r.ok()) Remember(ctx, r->open, std::move(path), &r->entry.attr);
  return r;
}

Result<Created> AuditModule::TmpFile(const Context& ctx, NodeId parent, OpenFlags flags,
                                     uint32_t mode, uint32_t umask) {
  if (Errno e = log_->ReadyForChange()) return e;
  std::optional<std::string> dir = PathOfNode(parent);
  JsonLine line = Begin("tmpfile", ctx);
  line.OptStr("path", dir).Str("mode", Octal(mode & 07777));
  Result<Created> r = Module::TmpFile(ctx, parent, flags, mode, umask);
  Finish(std::move(line), ResultOf(r));
  if (r.ok()) Remember(ctx, r->open, std::move(dir), &r->entry.attr);
  return r;
}

Result<size_t> AuditModule::Write(const Context& ctx, NodeId node, FileHandle fh,
                                  uint64_t offset, std::span<const char> data, WriteFlags flags) {
  std::shared_ptr<OpenRecord> r = writers_.Find(fh);
  if (r != nullptr && !r->written.load()) {
    if (Errno e = log_->ReadyForChange()) return e;
    FirstWrite(node, fh, "write");
  }
  return Module::Write(ctx, node, fh, offset, data, flags);
}

Result<uint64_t> AuditModule::CopyFileRange(const Context& ctx, NodeId node_in,
                                            FileHandle fh_in, uint64_t off_in, NodeId node_out,
                                            FileHandle fh_out, uint64_t off_out, uint64_t len,
                                            uint64_t flags) {
  std::shared_ptr<OpenRecord> r = writers_.Find(fh_out);
  if (r != nullptr && !r->written.load()) {
    if (Errno e = log_->ReadyForChange()) return e;
    FirstWrite(node_out, fh_out, "write");
  }
  return Module::CopyFileRange(ctx, node_in, fh_in, off_in, node_out, fh_out, off_out, len,
                               flags);
}

Errno AuditModule::Fallocate(const Context& ctx, NodeId node, FileHandle fh, uint32_t mode,
                             uint64_t offset, uint64_t length) {
  if (Errno e = log_->ReadyForChange()) return e;
  JsonLine line = Begin("fallocate", ctx);
  line.OptStr("path", PathOfNode(node))
      .Int("mode", mode)
      .Int("offset", static_cast<int64_t>(offset))
      .Int("length", static_cast<int64_t>(length));
  const Errno r = Module::Fallocate(ctx, node, fh, mode, offset, length);
  Finish(std::move(line), r);
  return r;
}

Errno AuditModule::Release(const Context& ctx, NodeId node, FileHandle fh,
                           uint32_t release_flags, uint64_t lock_owner) {
  std::shared_ptr<OpenRecord> r = writers_.Find(fh);
  if (r != nullptr && !r->written.load() && r->passthrough && r->have_attr) {
    Result<Attr> now = inner()->GetAttr(ctx, node, &fh);
    if (now.ok() && (now->attr.stx_size != r->size || now->attr.stx_mtime.tv_sec != r->mtime_sec ||
                     now->attr.stx_mtime.tv_nsec != r->mtime_nsec)) {
      FirstWrite(node, fh, "release");
    }
  }
  return Module::Release(ctx, node, fh, release_flags, lock_owner);
}

Result<Opened> AuditModule::OpenDir(const Context& ctx, NodeId node, OpenFlags flags) {
  if (!reads_) return Module::OpenDir(ctx, node, flags);
  JsonLine line = Begin("list", ctx);
  line.OptStr("path", PathOfNode(node));
  Result<Opened> r = Module::OpenDir(ctx, node, flags);
  Finish(std::move(line), ResultOf(r));
  return r;
}

Result<Entry> AuditModule::Lookup(const Context& ctx, NodeId parent, std::string_view name) {
  Result<Entry> r = Module::Lookup(ctx, parent, name);
  return reads_ ? WithoutReaddirPassthrough(std::move(r)) : r;
}

Errno AuditModule::ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                           DirentSink& sink) {
  if (!reads_ || !sink.plus()) return Module::ReadDir(ctx, node, fh, offset, sink);
  ReaddirPassthroughVetoSink vetoed(sink);
  return Module::ReadDir(ctx, node, fh, offset, vetoed);
}

BackingId AuditModule::AttachInodeBacking(NodeId node, uint32_t inode_ops) {
  return Module::AttachInodeBacking(node, reads_ ? ListingVetoMask(inode_ops) : inode_ops);
}

}  // namespace ptfs::modules
