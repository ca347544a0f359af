// Handlers of the ops on an inode's attributes and on the whole filesystem:
// GETATTR, STATX, SETATTR, READLINK, ACCESS, STATFS, SYNCFS, DESTROY.
#include <fcntl.h>
#include <sys/stat.h>

#include "abi/fuse_abi.h"
#include "proto/encode.h"
#include "session/ops.h"
#include "util/log.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

// SetAttrIn::valid carries the kernel's FATTR_* bits unchanged.
static_assert(SetAttrIn::kMode == FATTR_MODE && SetAttrIn::kUid == FATTR_UID &&
              SetAttrIn::kGid == FATTR_GID && SetAttrIn::kSize == FATTR_SIZE &&
              SetAttrIn::kAtime == FATTR_ATIME && SetAttrIn::kMtime == FATTR_MTIME &&
              SetAttrIn::kFh == FATTR_FH && SetAttrIn::kAtimeNow == FATTR_ATIME_NOW &&
              SetAttrIn::kMtimeNow == FATTR_MTIME_NOW && SetAttrIn::kCtime == FATTR_CTIME &&
              SetAttrIn::kKillSuidgid == FATTR_KILL_SUIDGID);

namespace {

// The attribute layouts of GETATTR/SETATTR (fuse_attr_out) and STATX
// (fuse_statx_out), for SendAttr.
void EncodeInto(const struct statx& stx, fuse_attr_out* out) { proto::EncodeAttr(stx, &out->attr); }
void EncodeInto(const struct statx& stx, fuse_statx_out* out) {
  proto::EncodeStatx(stx, &out->stat);
}

// Answers with attributes as `Out`, valid for the time the FileSystem gave.
template <typename Out>
void SendAttr(Result<Attr> attr, Reply reply) {
  if (!attr.ok()) {
    reply.SendError(attr.error());
    return;
  }
  Out out{};
  out.attr_valid = attr->timeout.sec;
  out.attr_valid_nsec = attr->timeout.nsec;
  EncodeInto(attr->attr, &out);
  reply.SendStruct(out);
}

// GETATTR and STATX carry a handle when the caller asked about an open file
// (fstat): then `fh`, which the result points to, is that handle.
const FileHandle* HandleIfGiven(uint32_t getattr_flags, const FileHandle& fh) {
  return (getattr_flags & FUSE_GETATTR_FH) ? &fh : nullptr;
}

void DoGetAttr(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_getattr_in>();
  const FileHandle fh{in.fh};
  SendAttr<fuse_attr_out>(c.fs.GetAttr(c.ctx, c.node, HandleIfGiven(in.getattr_flags, fh)),
                          std::move(reply));
}

void DoStatx(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_statx_in>();
  const FileHandle fh{in.fh};
  SendAttr<fuse_statx_out>(
      c.fs.Statx(c.ctx, c.node, HandleIfGiven(in.getattr_flags, fh), in.sx_flags, in.sx_mask),
      std::move(reply));
}

void DoSetAttr(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_setattr_in>();
  LOG_DEBUG("   SETATTR valid=0x%x mode=0%o size=%llu", in.valid, in.mode,
            static_cast<unsigned long long>(in.size));
  SetAttrIn s;
  s.valid = in.valid;
  s.fh = FileHandle{in.fh};
  s.mode = in.mode;
  s.uid = in.uid;
  s.gid = in.gid;
  s.size = in.size;
  s.atime = {static_cast<time_t>(in.atime), static_cast<long>(in.atimensec)};
  s.mtime = {static_cast<time_t>(in.mtime), static_cast<long>(in.mtimensec)};
  if (in.valid & FATTR_ATIME_NOW) s.atime.tv_nsec = UTIME_NOW;
  if (in.valid & FATTR_MTIME_NOW) s.mtime.tv_nsec = UTIME_NOW;
  SendAttr<fuse_attr_out>(c.fs.SetAttr(c.ctx, c.node, s), std::move(reply));
}

void DoReadLink(const OpCall& c, Reply reply) {
  auto target = c.fs.ReadLink(c.ctx, c.node);
  if (!target.ok()) {
    reply.SendError(target.error());
    return;
  }
  reply.SendData({target->data(), target->size()});
}

void DoAccess(const OpCall& c, Reply reply) {
  reply.SendStatus(c.fs.Access(c.ctx, c.node, c.req.Arg<fuse_access_in>().mask));
}

void DoStatFs(const OpCall& c, Reply reply) {
  auto st = c.fs.StatFs(c.ctx, c.node);
  if (!st.ok()) {
    reply.SendError(st.error());
    return;
  }
  fuse_statfs_out out{};
  proto::EncodeStatfs(*st, &out.st);
  reply.SendStruct(out);
}

void DoSyncFs(const OpCall& c, Reply reply) { reply.SendStatus(c.fs.SyncFs(c.ctx, c.node)); }

void DoDestroy(const OpCall& c, Reply reply) {
  c.fs.Destroy();
  c.destroyed.store(true, std::memory_order_release);
  reply.SendEmpty();
}

}  // namespace

void RegisterAttrOps(HandlerTable& table) {
  table[FUSE_GETATTR] = DoGetAttr;
  table[FUSE_STATX] = DoStatx;
  table[FUSE_SETATTR] = DoSetAttr;
  table[FUSE_READLINK] = DoReadLink;
  table[FUSE_ACCESS] = DoAccess;
  table[FUSE_STATFS] = DoStatFs;
  table[FUSE_SYNCFS] = DoSyncFs;
  table[FUSE_DESTROY] = DoDestroy;
}

}  // namespace ptfs::session
