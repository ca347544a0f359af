#include "mirror/listing_advisor.h"

#include <algorithm>

namespace ptfs::mirror {

bool ListingAdvisor::StartListing(const Inode& dir) {
  std::deque<Probe> judged;  // inode references dropped after unlocking
  MutexLock lock(&mu_);
  ++seq_;
  while (!pending_.empty() && pending_.front().listing + config_.judge_after <= seq_) {
    JudgeLocked(pending_.front());
    judged.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  if (score_ < kAttributesFrom || dir.bare_listing_pending.load()) return false;
  // The probe stays due until a listing actually leaves files bare: some
  // listings have none (only directories, or read again once emptied, as
  // rm -rf does), and they may come in a rhythm that a fixed stride hits.
  if (config_.probe_every != 0 && seq_ >= next_probe_) probe_due_ = true;
  return !probe_due_;
}

void ListingAdvisor::SentBare(const InodePtr& dir) {
  InodePtr dropped;
  MutexLock lock(&mu_);
  probe_due_ = false;
  // Listed bare again while still probed: the pending probe covers it.
  if (dir->bare_listing_pending.exchange(true)) return;
  counters_.probes.fetch_add(1, std::memory_order_relaxed);
  last_probe_ = seq_;
  next_probe_ = seq_ + interval_;
  if (pending_.size() >= kMaxPending) {
    JudgeLocked(pending_.front());
    dropped = std::move(pending_.front().dir);
    pending_.pop_front();
  }
  pending_.push_back(Probe{dir, seq_});
}

void ListingAdvisor::Hit() {
  counters_.hits.fetch_add(1, std::memory_order_relaxed);
  MutexLock lock(&mu_);
  score_ = kMaxScore;
  interval_ = std::min<uint64_t>(interval_ * 2, std::max(config_.probe_every, config_.probe_every_max));
  next_probe_ = last_probe_ + interval_;
  probe_due_ = false;  // just answered
}

void ListingAdvisor::JudgeLocked(Probe& probe) {
  // Still pending: no LOOKUP in the directory since it was listed bare.
  if (!probe.dir->bare_listing_pending.exchange(false)) return;
  counters_.misses.fetch_add(1, std::memory_order_relaxed);
  score_ = std::max(0, score_ - 1);
  interval_ = config_.probe_every;
}

bool ListingAdvisor::files_get_attributes() const {
  MutexLock lock(&mu_);
  return score_ >= kAttributesFrom;
}

}  // namespace ptfs::mirror
