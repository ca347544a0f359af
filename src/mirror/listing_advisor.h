// ListingAdvisor: whether a new directory listing should carry attributes
// for its files (docs/coherence.md, "READDIRPLUS and cold traversals").
//
// With READDIRPLUS_AUTO the kernel asks for attributes with the first chunk
// of every listing, whether or not anybody will stat the entries. For each
// entry with attributes the daemon opens and stats the file and the kernel
// instantiates an inode: on a cold tree that is most of the cost of a
// name-only `find` (4-8x native, against 1.7x for servers that never send
// attributes). Sent without attributes, an entry that *is* then used costs a
// LOOKUP round trip instead (an `ls -l`, an `rm -rf`).
//
// The kernel tells the daemon nothing about the first chunk; so the daemon
// learns from what follows: a listing whose files went without attributes is
// a probe, and it is a hit if a LOOKUP in that directory arrives before
// `judge_after` further listings started, a miss otherwise. A 2-bit
// saturating score decides: files get attributes while it is >= 2. A hit
// sets it to 3 (a wrongly bare entry costs a round trip, more than a
// wrongly attributed one costs), a miss lowers it by one. While attributes
// are on, a listing is still sent bare now and then, so the advisor notices
// when the workload turns into a name-only traversal: `probe_every` listings
// after a miss, twice as many after each hit, up to `probe_every_max` (a
// probe that hits cost a LOOKUP per file for nothing).
//
// Directories always get attributes (a traversal enters them); later chunks
// (READDIRPLUS at an offset > 0) too: the kernel only asks for those after
// lookups in the directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>

#include "mirror/inode_table.h"
#include "util/thread_annotations.h"

namespace ptfs::mirror {

struct ListingAdvisorCounters {
  std::atomic<uint64_t> probes{0};  // listings that sent files without attributes
  std::atomic<uint64_t> hits{0};    // ... after which a LOOKUP came in time
  std::atomic<uint64_t> misses{0};  // ... after which none did
};

class ListingAdvisor {
 public:
  struct Config {
    uint32_t probe_every = 16;
    uint32_t probe_every_max = 256;
    uint32_t judge_after = 4;
  };
  ListingAdvisor() : ListingAdvisor(Config{}) {}
  explicit ListingAdvisor(Config config)
      : config_(config), interval_(config.probe_every), next_probe_(config.probe_every) {}

  // A new listing of `dir` starts (READDIRPLUS at offset 0): whether its
  // files should carry attributes. Judges the probes that have waited long
  // enough. A directory still being probed is listed bare again (rm reads a
  // directory twice before it unlinks anything): attributes now would
  // answer the lookups the probe waits for.
  bool StartListing(const Inode& dir);
  // The listing just started sent files of `dir` without attributes.
  void SentBare(const InodePtr& dir);
  // A LOOKUP in `dir` found an entry. Cheap unless `dir` is being probed.
  void LookedUp(Inode& dir) {
    if (dir.bare_listing_pending.load(std::memory_order_relaxed) &&
        dir.bare_listing_pending.exchange(false)) {
      Hit();
    }
  }

  bool files_get_attributes() const;
  const ListingAdvisorCounters& counters() const { return counters_; }

 private:
  struct Probe {
    InodePtr dir;
    uint64_t listing;  // seq_ when it was listed
  };
  static constexpr int kMaxScore = 3;
  static constexpr int kAttributesFrom = 2;
  static constexpr size_t kMaxPending = 64;
  void Hit();
  void JudgeLocked(Probe& probe) REQUIRES(mu_);

  const Config config_;
  mutable Mutex mu_;
  int score_ GUARDED_BY(mu_) = kAttributesFrom;
  uint64_t seq_ GUARDED_BY(mu_) = 0;
  uint64_t interval_ GUARDED_BY(mu_);    // listings between probes now
  uint64_t next_probe_ GUARDED_BY(mu_);  // the listing from which one is due
  uint64_t last_probe_ GUARDED_BY(mu_) = 0;
  bool probe_due_ GUARDED_BY(mu_) = false;
  std::deque<Probe> pending_ GUARDED_BY(mu_);
  ListingAdvisorCounters counters_;
};

}  // namespace ptfs::mirror
