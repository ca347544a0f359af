// Handlers of the ops on open files: OPEN through RELEASE, the data calls
// on a handle, and the file ops the server deliberately does not serve.
#include <algorithm>
#include <cstdint>

#include "abi/fuse_abi.h"
#include "session/ops.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

void DoOpen(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_open_in>();
  if (auto lost = SendOpened(c.fs.Open(c.ctx, c.node, OpenFlagsOf(in.flags, in.open_flags)), std::move(reply))) {
    (void)c.fs.Release(c.ctx, c.node, *lost, 0, 0);
  }
}

void DoRead(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_read_in>();
  const size_t want = std::min<size_t>(in.size, c.bufs.out.size());
  auto n = c.fs.Read(c.ctx, c.node, FileHandle{in.fh}, in.offset, c.bufs.out.first(want));
  if (!n.ok()) {
    reply.SendError(n.error());
    return;
  }
  reply.SendData({c.bufs.out.data(), *n});
}

// Answers WRITE and COPY_FILE_RANGE: the bytes written, as fuse_write_out.
template <typename Count>
void SendWritten(Result<Count> n, Reply reply) {
  if (!n.ok()) {
    reply.SendError(n.error());
    return;
  }
  fuse_write_out out{static_cast<uint32_t>(*n), 0};
  reply.SendStruct(out);
}

void DoWrite(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_write_in>();
  SendWritten(
      c.fs.Write(c.ctx, c.node, FileHandle{in.fh}, in.offset, c.req.payload, WriteFlagsOf(in.write_flags)),
      std::move(reply));
}

void DoFlush(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_flush_in>();
  reply.SendStatus(c.fs.Flush(c.ctx, c.node, FileHandle{in.fh}, in.lock_owner));
}

void DoRelease(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_release_in>();
  (void)c.fs.Release(c.ctx, c.node, FileHandle{in.fh}, in.release_flags, in.lock_owner);
  reply.SendEmpty();  // release cannot fail from the caller's point of view
}

void DoFsync(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_fsync_in>();
  reply.SendStatus(c.fs.Fsync(c.ctx, c.node, FileHandle{in.fh}, SyncKindOf(in)));
}

void DoFallocate(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_fallocate_in>();
  reply.SendStatus(c.fs.Fallocate(c.ctx, c.node, FileHandle{in.fh}, in.mode, in.offset, in.length));
}

void DoLseek(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_lseek_in>();
  auto off = c.fs.Lseek(c.ctx, c.node, FileHandle{in.fh}, in.offset, in.whence);
  if (!off.ok()) {
    reply.SendError(off.error());
    return;
  }
  fuse_lseek_out out{*off};
  reply.SendStruct(out);
}

// COPY_FILE_RANGE and COPY_FILE_RANGE_64 ask the same, up to `max_len` bytes.
Result<uint64_t> CopyFileRange(const OpCall& c, uint64_t max_len) {
  const auto in = c.req.Arg<fuse_copy_file_range_in>();
  return c.fs.CopyFileRange(c.ctx, c.node, FileHandle{in.fh_in}, in.off_in, NodeId{in.nodeid_out},
                            FileHandle{in.fh_out}, in.off_out, std::min(in.len, max_len), in.flags);
}

void DoCopyFileRange(const OpCall& c, Reply reply) {
  // The 32-bit reply can only report up to UINT32_MAX bytes.
  SendWritten(CopyFileRange(c, UINT32_MAX & ~4095U), std::move(reply));
}

void DoCopyFileRange64(const OpCall& c, Reply reply) {
  auto n = CopyFileRange(c, UINT64_MAX);
  if (!n.ok()) {
    reply.SendError(n.error());
    return;
  }
  fuse_copy_file_range_out out{*n};
  reply.SendStruct(out);
}

void DoIoctl(const OpCall&, Reply reply) {
  // Deliberate: ioctls are not forwarded. An ioctl names its argument
  // layout only by convention, so forwarding arbitrary commands to files in
  // SOURCE would let callers reach driver and filesystem ioctls the mount
  // is meant to mediate. ENOTTY is what a file without ioctls answers.
  reply.SendError(Errno(ENOTTY));
}

void DoPoll(const OpCall&, Reply reply) {
  // Deliberate: regular files and directories are always ready. ENOSYS
  // makes the kernel remember that and answer poll() itself with
  // DEFAULT_POLLMASK, which is exactly the native answer for them.
  reply.SendError(Errno(ENOSYS));
}

// BMAP serves block-device-backed mounts (fuseblk) and SETUPMAPPING /
// REMOVEMAPPING serve DAX (virtiofs); neither applies to a passthrough of a
// directory, so the kernel is told they are not implemented.
void DoNotImplemented(const OpCall&, Reply reply) { reply.SendError(Errno(ENOSYS)); }

}  // namespace

void RegisterFileOps(HandlerTable& table) {
  table[FUSE_OPEN] = DoOpen;
  table[FUSE_READ] = DoRead;
  table[FUSE_WRITE] = DoWrite;
  table[FUSE_FLUSH] = DoFlush;
  table[FUSE_RELEASE] = DoRelease;
  table[FUSE_FSYNC] = DoFsync;
  table[FUSE_FALLOCATE] = DoFallocate;
  table[FUSE_LSEEK] = DoLseek;
  table[FUSE_COPY_FILE_RANGE] = DoCopyFileRange;
  table[FUSE_COPY_FILE_RANGE_64] = DoCopyFileRange64;
  table[FUSE_IOCTL] = DoIoctl;
  table[FUSE_POLL] = DoPoll;
  table[FUSE_BMAP] = DoNotImplemented;
  table[FUSE_SETUPMAPPING] = DoNotImplemented;
  table[FUSE_REMOVEMAPPING] = DoNotImplemented;
}

}  // namespace ptfs::session
