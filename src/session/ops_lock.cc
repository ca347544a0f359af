// Handlers of the lock ops: GETLK, SETLK, SETLKW (POSIX record locks and,
// with FUSE_LK_FLOCK, flock).
#include "abi/fuse_abi.h"
#include "session/ops.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

LockIn ToLockIn(const fuse_file_lock& lk) { return LockIn{lk.start, lk.end, lk.type, lk.pid}; }

void DoGetLk(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_lk_in>();
  auto lk = c.fs.GetLk(c.ctx, c.node, FileHandle{in.fh}, in.owner, ToLockIn(in.lk));
  if (!lk.ok()) {
    reply.SendError(lk.error());
    return;
  }
  fuse_lk_out out{{lk->start, lk->end, lk->type, lk->pid}};
  reply.SendStruct(out);
}

// What SETLK and SETLKW do when another owner holds a conflicting lock.
enum class OnConflict { kAnswer, kWait };

void SetLock(const OpCall& c, Reply reply, OnConflict on_conflict) {
  const auto in = c.req.Arg<fuse_lk_in>();
  const LockKind kind = (in.lk_flags & FUSE_LK_FLOCK) ? LockKind::kFlock : LockKind::kPosix;
  // Even SETLKW is tried without waiting: a conflicting one is parked
  // (LockWaiters) instead of holding this worker.
  Errno e = c.fs.SetLk(c.ctx, c.node, FileHandle{in.fh}, in.owner, ToLockIn(in.lk), kind);
  const bool conflict = e.value() == EAGAIN || e.value() == EACCES;
  if (on_conflict == OnConflict::kWait && conflict) {
    LockWaiters::Request w;
    w.ctx = c.ctx;
    w.groups.assign(c.ctx.groups.begin(), c.ctx.groups.end());
    w.node = c.node;
    w.fh = FileHandle{in.fh};
    w.owner = in.owner;
    w.lock = ToLockIn(in.lk);
    w.kind = kind;
    c.lock_waiters.Park(std::move(w), std::move(reply));
    return;
  }
  reply.SendStatus(e);
}

void DoSetLk(const OpCall& c, Reply reply) { SetLock(c, std::move(reply), OnConflict::kAnswer); }

void DoSetLkW(const OpCall& c, Reply reply) { SetLock(c, std::move(reply), OnConflict::kWait); }

}  // namespace

void RegisterLockOps(HandlerTable& table) {
  table[FUSE_GETLK] = DoGetLk;
  table[FUSE_SETLK] = DoSetLk;
  table[FUSE_SETLKW] = DoSetLkW;
}

}  // namespace ptfs::session
