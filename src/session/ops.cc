// The handler table, and the encoders that handlers in several files share.
#include "session/ops.h"

#include "proto/encode.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

HandlerTable MakeHandlers() {
  HandlerTable table{};
  RegisterEntryOps(table);
  RegisterAttrOps(table);
  RegisterFileOps(table);
  RegisterDirOps(table);
  RegisterXattrOps(table);
  RegisterLockOps(table);
  return table;
}

}  // namespace

const HandlerTable& Handlers() {
  // Built on first use rather than at static initialization, so no order
  // between translation units matters.
  static const HandlerTable table = MakeHandlers();
  return table;
}

fuse_entry_out ToEntryOut(const Entry& e) {
  fuse_entry_out out{};
  out.nodeid = e.node.value;
  out.generation = e.generation;
  out.entry_valid = e.entry_timeout.sec;
  out.entry_valid_nsec = e.entry_timeout.nsec;
  out.attr_valid = e.attr_timeout.sec;
  out.attr_valid_nsec = e.attr_timeout.nsec;
  proto::EncodeAttr(e.attr, &out.attr);
  return out;
}

fuse_open_out ToOpenOut(const Opened& o) {
  fuse_open_out out{};
  out.fh = o.fh.value;
  out.open_flags = o.open_flags;
  out.backing_id = o.backing.value;
  return out;
}

std::optional<FileHandle> SendOpened(Result<Opened> opened, Reply reply) {
  if (!opened.ok()) {
    reply.SendError(opened.error());
    return std::nullopt;
  }
  if (reply.SendStruct(ToOpenOut(*opened))) return std::nullopt;
  return opened->fh;
}

SyncKind SyncKindOf(const fuse_fsync_in& in) {
  return (in.fsync_flags & FUSE_FSYNC_FDATASYNC) ? SyncKind::kDataOnly : SyncKind::kFull;
}

static_assert(Opened::kOpenPassthrough == FOPEN_PASSTHROUGH && Opened::kOpenDirectIo == FOPEN_DIRECT_IO &&
                  Opened::kOpenKeepCache == FOPEN_KEEP_CACHE,
              "include/ptfs/types.h");

OpenFlags OpenFlagsOf(uint32_t flags, uint32_t open_flags) {
  return OpenFlags{flags, (open_flags & FUSE_OPEN_KILL_SUIDGID) != 0};
}

WriteFlags WriteFlagsOf(uint32_t write_flags) {
  return WriteFlags{(write_flags & FUSE_WRITE_KILL_SUIDGID) != 0,
                    (write_flags & FUSE_WRITE_CACHE) != 0};
}

}  // namespace ptfs::session
