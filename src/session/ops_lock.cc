// Handlers of the lock ops: GETLK, SETLK, SETLKW (POSIX record locks and,
// with FUSE_LK_FLOCK, flock).
#include <fcntl.h>

#include "abi/fuse_abi.h"
#include "session/ops.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

LockIn ToLockIn(const fuse_file_lock& lk) { return LockIn{lk.start, lk.end, lk.type, lk.pid}; }

// A conflict found by a request that does not wait may be the lock of a
// file whose close is still on its way on another queue (lock_order.h): let
// the requests sent before this one be handled, then say whether to ask
// again.
bool SettleConflict(const OpCall& c) {
  if (!c.lock_order.active.load(std::memory_order_acquire)) return false;
  c.lock_order.conflicts_settled.fetch_add(1, std::memory_order_relaxed);
  c.lock_order.settle_earlier_requests();
  return true;  // asked again even after a timeout: the wait may still have helped
}

void NoteCleared(const OpCall& c) {
  c.lock_order.conflicts_cleared.fetch_add(1, std::memory_order_relaxed);
}

void DoGetLk(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_lk_in>();
  auto lk = c.fs.GetLk(c.ctx, c.node, FileHandle{in.fh}, in.owner, ToLockIn(in.lk));
  if (lk.ok() && lk->type != F_UNLCK && SettleConflict(c)) {
    lk = c.fs.GetLk(c.ctx, c.node, FileHandle{in.fh}, in.owner, ToLockIn(in.lk));
    if (lk.ok() && lk->type == F_UNLCK) NoteCleared(c);
  }
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
  auto is_conflict = [](Errno r) { return r.value() == EAGAIN || r.value() == EACCES; };
  // A waiting request needs no settling: it is parked and retried until the
  // other lock is gone.
  if (on_conflict == OnConflict::kAnswer && is_conflict(e) && SettleConflict(c)) {
    e = c.fs.SetLk(c.ctx, c.node, FileHandle{in.fh}, in.owner, ToLockIn(in.lk), kind);
    if (!is_conflict(e)) NoteCleared(c);
  }
  const bool conflict = is_conflict(e);
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
