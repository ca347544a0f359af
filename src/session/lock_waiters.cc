#include "session/lock_waiters.h"

#include <chrono>

namespace ptfs::session {

namespace {
bool IsConflict(Errno e) {
  return e.value() == EAGAIN || e.value() == EWOULDBLOCK || e.value() == EACCES;
}
}  // namespace

LockWaiters::LockWaiters(FileSystem* fs) : fs_(fs), thread_([this] { Loop(); }) {}

LockWaiters::~LockWaiters() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  Abandon();
}

void LockWaiters::Park(Request request, Reply reply) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  {
    MutexLock lock(&mu_);
    by_unique_[request.ctx.unique] = flag;
    parked_.push_back(Parked{std::move(request), std::move(reply), std::move(flag)});
    wake_ = true;
  }
  cv_.notify_all();
}

void LockWaiters::Interrupt(uint64_t unique) {
  {
    MutexLock lock(&mu_);
    auto it = by_unique_.find(unique);
    if (it == by_unique_.end()) return;  // not parked (any more)
    it->second->store(true);
    wake_ = true;
  }
  cv_.notify_all();
}

void LockWaiters::Abandon() {
  std::list<Parked> dropped;
  {
    MutexLock lock(&mu_);
    dropped.swap(parked_);
    by_unique_.clear();
  }
  for (Parked& p : dropped) p.reply.Abandon();
}

size_t LockWaiters::parked() const {
  MutexLock lock(&mu_);
  return parked_.size();
}

bool LockWaiters::Attempt(Parked& p) {
  Request& r = p.request;
  r.ctx.groups = r.groups;
  Errno e = fs_->SetLk(r.ctx, r.node, r.fh, r.owner, r.lock, r.kind);
  if (e.ok()) {
    p.reply.SendEmpty();
    return true;
  }
  if (!IsConflict(e)) {
    p.reply.SendError(e);
    return true;
  }
  if (p.interrupted->load()) {
    p.reply.SendError(Errno(EINTR));
    return true;
  }
  return false;
}

void LockWaiters::Loop() {
  using std::chrono::milliseconds;
  milliseconds delay(1);
  for (;;) {
    std::list<Parked> batch;
    {
      MutexLock lock(&mu_);
      while (!stop_ && !wake_ && parked_.empty()) cv_.wait(mu_);
      if (stop_) return;
      if (!wake_) cv_.wait_for(mu_, delay, [this]() REQUIRES(mu_) { return stop_ || wake_; });
      if (stop_) return;
      if (wake_) delay = milliseconds(1);
      wake_ = false;
      batch.swap(parked_);
    }
    // Retry in arrival order, so the longest waiter gets a freed lock first.
    bool progress = false;
    for (auto it = batch.begin(); it != batch.end();) {
      if (Attempt(*it)) {
        progress = true;
        MutexLock lock(&mu_);
        by_unique_.erase(it->request.ctx.unique);
        it = batch.erase(it);
      } else {
        ++it;
      }
    }
    {
      MutexLock lock(&mu_);
      parked_.splice(parked_.begin(), batch);  // ahead of newer arrivals
    }
    delay = progress ? milliseconds(1) : std::min(delay * 2, milliseconds(16));
  }
}

}  // namespace ptfs::session
