#include "session/session.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <cstring>
#include <new>
#include <string>

#include "abi/fuse_abi.h"
#include "proto/encode.h"
#include "session/inode_passthrough_adapter.h"
#include "util/log.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

void* AllocAligned(size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
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

LockIn ToLockIn(const fuse_file_lock& lk) { return LockIn{lk.start, lk.end, lk.type, lk.pid}; }

// Adapts the proto DirentPacker to the public DirentSink, and remembers which
// nodes were handed out so they can be given back if the reply is lost.
class PackerSink final : public DirentSink {
 public:
  PackerSink(std::span<char> buf, bool plus) : packer_(buf, plus) {}
  bool plus() const override { return packer_.plus(); }
  bool Fits(std::string_view name) const override { return packer_.Fits(name.size()); }
  void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next_off) override {
    packer_.Add(name, ino, dtype, next_off);
  }
  void AddPlus(std::string_view name, const Entry& entry, uint64_t next_off) override {
    packer_.AddPlus(name, ToEntryOut(entry), next_off);
    if (entry.node.value != 0) referenced_.push_back(entry.node);
  }
  size_t used() const { return packer_.used(); }
  const std::vector<NodeId>& referenced() const { return referenced_; }

 private:
  proto::DirentPacker packer_;
  std::vector<NodeId> referenced_;
};

}  // namespace

WorkerBuffers::WorkerBuffers(size_t size)
    : in_mem_(static_cast<char*>(AllocAligned(size))),
      out_mem_(static_cast<char*>(AllocAligned(size))) {
  in = {in_mem_, size};
  out = {out_mem_, size};
}

WorkerBuffers::~WorkerBuffers() {
  if (in_mem_ != nullptr) ::munmap(in_mem_, in.size());
  if (out_mem_ != nullptr) ::munmap(out_mem_, out.size());
}

Session::Session(FileSystem* fs, SessionOptions options)
    : fs_(fs), options_(std::move(options)), lock_waiters_(fs) {}

void Session::HandleMessage(std::span<const char> msg, transport::Channel& channel,
                            WorkerBuffers& bufs) {
  proto::Request req;
  proto::DecodeFailure failure;
  if (!proto::DecodeRequest(msg, decode_, &req, &failure)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    LOG_WARN("rejecting malformed %s request (unique %llu, %zu bytes): %s",
             proto::OpName(failure.opcode), static_cast<unsigned long long>(failure.unique),
             msg.size(), strerror(failure.error.value()));
    if (failure.can_reply) Reply(&channel, failure.unique, failure.opcode).SendError(failure.error);
    return;
  }
  const uint32_t opcode = req.header.opcode;
  request_counts_[opcode].fetch_add(1, std::memory_order_relaxed);
  if (options_.debug) {
    LOG_DEBUG("<- %s unique=%llu nodeid=%llu uid=%u pid=%u len=%u", req.op->name,
              static_cast<unsigned long long>(req.header.unique),
              static_cast<unsigned long long>(req.header.nodeid), req.header.uid, req.header.pid,
              req.header.len);
  }
  if (!req.op->answered) {
    if (opcode == FUSE_INTERRUPT) DoInterrupt(req);
    else if (opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET) {
      DoForget(req);
      forgets_processed_.fetch_add(1, std::memory_order_release);
    }
    return;  // NOTIFY_REPLY: we never send RETRIEVE, so nothing waits for it
  }
  Reply reply(&channel, req.header.unique, opcode);
  if (opcode == FUSE_INIT) {
    HandleInit(req, std::move(reply));
    return;
  }
  if (!initialized()) {
    reply.SendError(Errno(EIO));
    return;
  }
  Context ctx;
  ctx.unique = req.header.unique;
  ctx.uid = req.header.uid;
  ctx.gid = req.header.gid;
  ctx.pid = req.header.pid;
  ctx.groups = req.groups;
  try {
    Dispatch(req, ctx, std::move(reply), bufs);
  } catch (const std::bad_alloc&) {
    LOG_ERROR("%s: out of memory", req.op->name);
    // The moved-from reply is answered by its new owner's destructor (EIO);
    // ENOMEM is best effort.
  } catch (const std::exception& e) {
    LOG_ERROR("%s: unexpected exception: %s", req.op->name, e.what());
  }
}

void Session::HandleInit(const proto::Request& req, Reply reply) {
  if (initialized()) {
    reply.SendError(Errno(EIO));
    return;
  }
  proto::InitOutcome outcome = proto::NegotiateInit(req.arg, options_.init);
  switch (outcome.kind) {
    case proto::InitOutcome::Kind::kRefused:
      LOG_ERROR("kernel FUSE protocol %u.%u is not supported (need 7.%u or newer)",
                outcome.kernel_major, outcome.kernel_minor, abi::kMinSupportedMinor);
      reply.SendError(Errno(outcome.error));
      return;
    case proto::InitOutcome::Kind::kAskOlderMajor:
      reply.SendStruct(outcome.out, outcome.out_size);
      return;
    case proto::InitOutcome::Kind::kAccepted:
      break;
  }
  init_ = outcome;
  decode_.setxattr_ext = (outcome.flags & FUSE_SETXATTR_EXT) != 0;
  LOG_DEBUG("INIT: kernel protocol %u.%u, offered %s", outcome.kernel_major, outcome.kernel_minor,
            proto::DescribeInitFlags(outcome.kernel_flags).c_str());
  LOG_DEBUG("INIT: negotiated %s; max_write=%u max_readahead=%u max_pages=%u",
            proto::DescribeInitFlags(outcome.flags).c_str(), outcome.max_write,
            outcome.max_readahead, outcome.out.max_pages);
  inode_passthrough_ = InodePassthroughNegotiated(outcome.flags);
  fs_->Init(ConnectionInfo{outcome.kernel_minor, outcome.flags, outcome.kernel_flags,
                           outcome.max_write, outcome.max_readahead, inode_passthrough_});
  initialized_.store(true, std::memory_order_release);
  reply.SendStruct(outcome.out, outcome.out_size);
}

void Session::DoForget(const proto::Request& req) {
  if (req.header.opcode == FUSE_FORGET) {
    fs_->Forget(NodeId{req.header.nodeid}, req.Arg<fuse_forget_in>().nlookup);
    NoteForgotten(1);
    return;
  }
  const size_t n = req.payload.size() / sizeof(fuse_forget_one);
  for (size_t i = 0; i < n; ++i) {
    fuse_forget_one one;
    std::memcpy(&one, req.payload.data() + i * sizeof(one), sizeof(one));
    fs_->Forget(NodeId{one.nodeid}, one.nlookup);
  }
  NoteForgotten(n);
}

void Session::NoteForgotten(uint64_t nodeids) {
  nodeids_forgotten_.fetch_add(nodeids, std::memory_order_relaxed);
  if (options_.forgotten) options_.forgotten(nodeids);
}

void Session::DoInterrupt(const proto::Request& req) {
  // Only parked lock waits can last; every other request finishes quickly on
  // its own. The kernel needs no answer to the INTERRUPT itself.
  lock_waiters_.Interrupt(req.Arg<fuse_interrupt_in>().unique);
}

// Inode passthrough: the backing the kernel attaches to an entry's inode,
// for the ops left in the entry's final mask.
BackingId Session::InodeBackingFor(const Entry& e) {
  if (e.node.value == 0 || e.inode_passthrough_ops == 0) return BackingId{};
  return fs_->AttachInodeBacking(e.node, e.inode_passthrough_ops);
}

void Session::SendEntry(Result<Entry> entry, Reply reply, bool negative_allowed) {
  if (!entry.ok()) {
    reply.SendError(entry.error());
    return;
  }
  bool taken;
  if (entry->node.value == 0 && (!negative_allowed || inode_passthrough_)) {
    // A negative entry answers LOOKUP only (and the draft reply has no form
    // for it): a creating op that found nothing to return failed.
    reply.SendError(Errno(negative_allowed ? ENOENT : EIO));
    return;
  }
  if (inode_passthrough_) {
    taken = SendEntry2(reply, *entry, InodeBackingFor(*entry));
  } else {
    taken = reply.SendStruct(ToEntryOut(*entry));
  }
  if (!taken && entry->node.value != 0) {
    // The kernel did not take the reference (request interrupted): give it back.
    fs_->Forget(entry->node, 1);
  }
}

void Session::SendCreated(Result<Created> created, const Context& ctx, Reply reply) {
  if (!created.ok()) {
    reply.SendError(created.error());
    return;
  }
  bool taken;
  if (inode_passthrough_) {
    const fuse_open_out open = ToOpenOut(created->open);
    taken = SendEntry2(reply, created->entry, InodeBackingFor(created->entry), &open);
  } else {
    struct {
      fuse_entry_out entry;
      fuse_open_out open;
    } out{ToEntryOut(created->entry), ToOpenOut(created->open)};
    static_assert(sizeof(out) == sizeof(fuse_entry_out) + sizeof(fuse_open_out));
    taken = reply.SendStruct(out);
  }
  if (!taken) {
    (void)fs_->Release(ctx, created->entry.node, created->open.fh, 0, 0);
    fs_->Forget(created->entry.node, 1);
  }
}

void Session::SendAttr(Result<Attr> attr, Reply reply) {
  if (!attr.ok()) {
    reply.SendError(attr.error());
    return;
  }
  fuse_attr_out out{};
  out.attr_valid = attr->timeout.sec;
  out.attr_valid_nsec = attr->timeout.nsec;
  proto::EncodeAttr(attr->attr, &out.attr);
  reply.SendStruct(out);
}

void Session::DoReadDir(const proto::Request& req, const Context& ctx, Reply reply,
                        WorkerBuffers& bufs, bool plus) {
  const auto in = req.Arg<fuse_read_in>();
  const NodeId node{req.header.nodeid};
  PackerSink sink(bufs.out.first(std::min<size_t>(in.size, bufs.out.size())), plus);
  Errno e = fs_->ReadDir(ctx, node, FileHandle{in.fh}, in.offset, sink);
  // An error after some entries were packed still returns those entries; the
  // caller sees the error on its next call.
  if (e && sink.used() == 0) {
    reply.SendError(e);
    return;
  }
  if (!reply.SendData({bufs.out.data(), sink.used()})) {
    for (NodeId n : sink.referenced()) fs_->Forget(n, 1);
  }
}

void Session::Dispatch(const proto::Request& req, const Context& ctx, Reply reply,
                       WorkerBuffers& bufs) {
  const NodeId node{req.header.nodeid};
  FileSystem& fs = *fs_;
  switch (req.header.opcode) {
    case FUSE_DESTROY:
      fs.Destroy();
      destroyed_.store(true, std::memory_order_release);
      reply.SendEmpty();
      return;
    case FUSE_LOOKUP:
      SendEntry(fs.Lookup(ctx, node, req.name), std::move(reply), /*negative_allowed=*/true);
      return;
    case FUSE_GETATTR: {
      const auto in = req.Arg<fuse_getattr_in>();
      FileHandle fh{in.fh};
      SendAttr(fs.GetAttr(ctx, node, (in.getattr_flags & FUSE_GETATTR_FH) ? &fh : nullptr),
               std::move(reply));
      return;
    }
    case FUSE_STATX: {
      const auto in = req.Arg<fuse_statx_in>();
      FileHandle fh{in.fh};
      auto attr = fs.Statx(ctx, node, (in.getattr_flags & FUSE_GETATTR_FH) ? &fh : nullptr,
                           in.sx_flags, in.sx_mask);
      if (!attr.ok()) {
        reply.SendError(attr.error());
        return;
      }
      fuse_statx_out out{};
      out.attr_valid = attr->timeout.sec;
      out.attr_valid_nsec = attr->timeout.nsec;
      proto::EncodeStatx(attr->attr, &out.stat);
      reply.SendStruct(out);
      return;
    }
    case FUSE_SETATTR: {
      const auto in = req.Arg<fuse_setattr_in>();
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
      SendAttr(fs.SetAttr(ctx, node, s), std::move(reply));
      return;
    }
    case FUSE_READLINK: {
      auto target = fs.ReadLink(ctx, node);
      if (!target.ok()) {
        reply.SendError(target.error());
        return;
      }
      reply.SendData({target->data(), target->size()});
      return;
    }
    case FUSE_SYMLINK:
      SendEntry(fs.Symlink(ctx, node, req.name, req.name2), std::move(reply));
      return;
    case FUSE_MKNOD: {
      const auto in = req.Arg<fuse_mknod_in>();
      SendEntry(fs.MkNod(ctx, node, req.name, in.mode, in.rdev, in.umask), std::move(reply));
      return;
    }
    case FUSE_MKDIR: {
      const auto in = req.Arg<fuse_mkdir_in>();
      SendEntry(fs.MkDir(ctx, node, req.name, in.mode, in.umask), std::move(reply));
      return;
    }
    case FUSE_UNLINK:
      if (Errno e = fs.Unlink(ctx, node, req.name)) reply.SendError(e);
      else reply.SendEmpty();
      return;
    case FUSE_RMDIR:
      if (Errno e = fs.RmDir(ctx, node, req.name)) reply.SendError(e);
      else reply.SendEmpty();
      return;
    case FUSE_RENAME:
    case FUSE_RENAME2: {
      uint64_t newdir;
      uint32_t flags = 0;
      if (req.header.opcode == FUSE_RENAME) {
        newdir = req.Arg<fuse_rename_in>().newdir;
      } else {
        const auto in = req.Arg<fuse_rename2_in>();
        newdir = in.newdir;
        flags = in.flags;
      }
      if (Errno e = fs.Rename(ctx, node, req.name, NodeId{newdir}, req.name2, flags)) {
        reply.SendError(e);
      } else {
        reply.SendEmpty();
      }
      return;
    }
    case FUSE_LINK:
      SendEntry(fs.Link(ctx, NodeId{req.Arg<fuse_link_in>().oldnodeid}, node, req.name),
                std::move(reply));
      return;
    case FUSE_OPEN:
    case FUSE_OPENDIR: {
      const auto in = req.Arg<fuse_open_in>();
      auto opened = req.header.opcode == FUSE_OPEN ? fs.Open(ctx, node, in.flags, in.open_flags)
                                                    : fs.OpenDir(ctx, node, in.flags);
      if (!opened.ok()) {
        reply.SendError(opened.error());
        return;
      }
      if (!reply.SendStruct(ToOpenOut(*opened))) {
        if (req.header.opcode == FUSE_OPEN) (void)fs.Release(ctx, node, opened->fh, 0, 0);
        else (void)fs.ReleaseDir(ctx, node, opened->fh);
      }
      return;
    }
    case FUSE_CREATE: {
      const auto in = req.Arg<fuse_create_in>();
      SendCreated(fs.Create(ctx, node, req.name, in.flags, in.mode, in.umask, in.open_flags), ctx,
                  std::move(reply));
      return;
    }
    case FUSE_TMPFILE: {
      const auto in = req.Arg<fuse_create_in>();
      SendCreated(fs.TmpFile(ctx, node, in.flags, in.mode, in.umask), ctx, std::move(reply));
      return;
    }
    case FUSE_READ: {
      const auto in = req.Arg<fuse_read_in>();
      const size_t want = std::min<size_t>(in.size, bufs.out.size());
      auto n = fs.Read(ctx, node, FileHandle{in.fh}, in.offset, bufs.out.first(want));
      if (!n.ok()) reply.SendError(n.error());
      else reply.SendData({bufs.out.data(), *n});
      return;
    }
    case FUSE_WRITE: {
      const auto in = req.Arg<fuse_write_in>();
      auto n = fs.Write(ctx, node, FileHandle{in.fh}, in.offset, req.payload, in.write_flags);
      if (!n.ok()) {
        reply.SendError(n.error());
        return;
      }
      fuse_write_out out{static_cast<uint32_t>(*n), 0};
      reply.SendStruct(out);
      return;
    }
    case FUSE_STATFS: {
      auto st = fs.StatFs(ctx, node);
      if (!st.ok()) {
        reply.SendError(st.error());
        return;
      }
      fuse_statfs_out out{};
      proto::EncodeStatfs(*st, &out.st);
      reply.SendStruct(out);
      return;
    }
    case FUSE_RELEASE: {
      const auto in = req.Arg<fuse_release_in>();
      (void)fs.Release(ctx, node, FileHandle{in.fh}, in.release_flags, in.lock_owner);
      reply.SendEmpty();  // release cannot fail from the caller's point of view
      return;
    }
    case FUSE_RELEASEDIR: {
      const auto in = req.Arg<fuse_release_in>();
      (void)fs.ReleaseDir(ctx, node, FileHandle{in.fh});
      reply.SendEmpty();
      return;
    }
    case FUSE_FLUSH: {
      const auto in = req.Arg<fuse_flush_in>();
      if (Errno e = fs.Flush(ctx, node, FileHandle{in.fh}, in.lock_owner)) reply.SendError(e);
      else reply.SendEmpty();
      return;
    }
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR: {
      const auto in = req.Arg<fuse_fsync_in>();
      const SyncKind kind =
          (in.fsync_flags & FUSE_FSYNC_FDATASYNC) ? SyncKind::kDataOnly : SyncKind::kFull;
      Errno e = req.header.opcode == FUSE_FSYNC ? fs.Fsync(ctx, node, FileHandle{in.fh}, kind)
                                                : fs.FsyncDir(ctx, node, FileHandle{in.fh}, kind);
      if (e) reply.SendError(e);
      else reply.SendEmpty();
      return;
    }
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
      DoReadDir(req, ctx, std::move(reply), bufs, req.header.opcode == FUSE_READDIRPLUS);
      return;
    case FUSE_SETXATTR: {
      const auto in = req.Arg<fuse_setxattr_in>();
      if (Errno e = fs.SetXattr(ctx, node, req.name, req.payload, in.flags)) reply.SendError(e);
      else reply.SendEmpty();
      return;
    }
    case FUSE_GETXATTR:
    case FUSE_LISTXATTR: {
      const auto in = req.Arg<fuse_getxattr_in>();
      const std::span<char> out = bufs.out.first(std::min<size_t>(in.size, bufs.out.size()));
      auto n = req.header.opcode == FUSE_GETXATTR ? fs.GetXattr(ctx, node, req.name, out)
                                                   : fs.ListXattr(ctx, node, out);
      if (!n.ok()) {
        reply.SendError(n.error());
      } else if (in.size == 0) {
        fuse_getxattr_out size_out{static_cast<uint32_t>(*n), 0};
        reply.SendStruct(size_out);
      } else {
        reply.SendData({out.data(), *n});
      }
      return;
    }
    case FUSE_REMOVEXATTR:
      if (Errno e = fs.RemoveXattr(ctx, node, req.name)) reply.SendError(e);
      else reply.SendEmpty();
      return;
    case FUSE_ACCESS:
      if (Errno e = fs.Access(ctx, node, req.Arg<fuse_access_in>().mask)) reply.SendError(e);
      else reply.SendEmpty();
      return;
    case FUSE_GETLK: {
      const auto in = req.Arg<fuse_lk_in>();
      auto lk = fs.GetLk(ctx, node, FileHandle{in.fh}, in.owner, ToLockIn(in.lk));
      if (!lk.ok()) {
        reply.SendError(lk.error());
        return;
      }
      fuse_lk_out out{{lk->start, lk->end, lk->type, lk->pid}};
      reply.SendStruct(out);
      return;
    }
    case FUSE_SETLK:
    case FUSE_SETLKW: {
      const auto in = req.Arg<fuse_lk_in>();
      const LockKind kind = (in.lk_flags & FUSE_LK_FLOCK) ? LockKind::kFlock : LockKind::kPosix;
      // Even SETLKW is tried without waiting: a conflicting one is parked
      // (LockWaiters) instead of holding this worker.
      Errno e = fs.SetLk(ctx, node, FileHandle{in.fh}, in.owner, ToLockIn(in.lk), kind);
      const bool conflict = e.value() == EAGAIN || e.value() == EACCES;
      if (req.header.opcode == FUSE_SETLKW && conflict) {
        LockWaiters::Request w;
        w.ctx = ctx;
        w.groups.assign(ctx.groups.begin(), ctx.groups.end());
        w.node = node;
        w.fh = FileHandle{in.fh};
        w.owner = in.owner;
        w.lock = ToLockIn(in.lk);
        w.kind = kind;
        lock_waiters_.Park(std::move(w), std::move(reply));
        return;
      }
      if (e) reply.SendError(e);
      else reply.SendEmpty();
      return;
    }
    case FUSE_FALLOCATE: {
      const auto in = req.Arg<fuse_fallocate_in>();
      if (Errno e = fs.Fallocate(ctx, node, FileHandle{in.fh}, in.mode, in.offset, in.length)) {
        reply.SendError(e);
      } else {
        reply.SendEmpty();
      }
      return;
    }
    case FUSE_LSEEK: {
      const auto in = req.Arg<fuse_lseek_in>();
      auto off = fs.Lseek(ctx, node, FileHandle{in.fh}, in.offset, in.whence);
      if (!off.ok()) {
        reply.SendError(off.error());
        return;
      }
      fuse_lseek_out out{*off};
      reply.SendStruct(out);
      return;
    }
    case FUSE_COPY_FILE_RANGE:
    case FUSE_COPY_FILE_RANGE_64: {
      const auto in = req.Arg<fuse_copy_file_range_in>();
      uint64_t len = in.len;
      // The 32-bit reply can only report up to UINT32_MAX bytes.
      if (req.header.opcode == FUSE_COPY_FILE_RANGE) len = std::min<uint64_t>(len, UINT32_MAX & ~4095U);
      auto n = fs.CopyFileRange(ctx, node, FileHandle{in.fh_in}, in.off_in, NodeId{in.nodeid_out},
                                FileHandle{in.fh_out}, in.off_out, len, in.flags);
      if (!n.ok()) {
        reply.SendError(n.error());
      } else if (req.header.opcode == FUSE_COPY_FILE_RANGE) {
        fuse_write_out out{static_cast<uint32_t>(*n), 0};
        reply.SendStruct(out);
      } else {
        fuse_copy_file_range_out out{*n};
        reply.SendStruct(out);
      }
      return;
    }
    case FUSE_SYNCFS:
      if (Errno e = fs.SyncFs(ctx, node)) reply.SendError(e);
      else reply.SendEmpty();
      return;
    case FUSE_IOCTL:
      // Deliberate: ioctls are not forwarded. An ioctl names its argument
      // layout only by convention, so forwarding arbitrary commands to files in
      // SOURCE would let callers reach driver and filesystem ioctls the mount
      // is meant to mediate. ENOTTY is what a file without ioctls answers.
      reply.SendError(Errno(ENOTTY));
      return;
    case FUSE_POLL:
      // Deliberate: regular files and directories are always ready. ENOSYS
      // makes the kernel remember that and answer poll() itself with
      // DEFAULT_POLLMASK, which is exactly the native answer for them.
      reply.SendError(Errno(ENOSYS));
      return;
    default:
      // BMAP (block devices only), SETUPMAPPING/REMOVEMAPPING (DAX), CUSE.
      reply.SendError(Errno(ENOSYS));
      return;
  }
}

}  // namespace ptfs::session
