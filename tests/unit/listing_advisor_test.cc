// ListingAdvisor: which new listings send their files with attributes.
#include "mirror/listing_advisor.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

namespace ptfs::mirror {
namespace {

InodePtr Dir(uint64_t n) { return std::make_shared<Inode>(NodeId{n}, InodeKey{1, n}, S_IFDIR); }

constexpr ListingAdvisor::Config kConfig{.probe_every = 4, .probe_every_max = 16, .judge_after = 2};

// Lists `dir`: returns whether its files got attributes, and reports them
// sent bare if not (as MirrorFs::ReadDir does when the listing has files).
bool List(ListingAdvisor& a, const InodePtr& dir) {
  const bool attrs = a.StartListing(*dir);
  if (!attrs) a.SentBare(dir);
  return attrs;
}

TEST(ListingAdvisor, StartsWithAttributesAndProbesOnSchedule) {
  ListingAdvisor a(kConfig);
  EXPECT_TRUE(a.files_get_attributes());
  std::vector<bool> got;
  for (uint64_t i = 1; i <= 4; ++i) got.push_back(List(a, Dir(100 + i)));
  EXPECT_EQ(got, (std::vector<bool>{true, true, true, false})) << "the 4th listing probes";
  EXPECT_EQ(a.counters().probes.load(), 1u);
}

TEST(ListingAdvisor, UnusedBareFilesTurnAttributesOff) {
  ListingAdvisor a(kConfig);
  uint64_t n = 1;
  for (int i = 0; i < 4; ++i) List(a, Dir(n++));  // the 4th is a probe
  // Nobody looks anything up: two listings later the probe is a miss, the
  // score drops below 2, and files go bare from then on.
  List(a, Dir(n++));
  EXPECT_TRUE(a.files_get_attributes()) << "not judged yet";
  EXPECT_FALSE(List(a, Dir(n++)));
  EXPECT_EQ(a.counters().misses.load(), 1u);
  EXPECT_FALSE(a.files_get_attributes());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(List(a, Dir(n++)));
}

TEST(ListingAdvisor, ALookupAfterABareListingTurnsAttributesBackOn) {
  ListingAdvisor a(kConfig);
  uint64_t n = 1;
  for (int i = 0; i < 6; ++i) List(a, Dir(n++));
  ASSERT_FALSE(a.files_get_attributes());
  InodePtr d = Dir(n++);
  EXPECT_FALSE(List(a, d));
  a.LookedUp(*d);  // somebody stats one of its files
  EXPECT_EQ(a.counters().hits.load(), 1u);
  EXPECT_TRUE(a.files_get_attributes());
  EXPECT_TRUE(List(a, Dir(n++)));
  a.LookedUp(*d);  // a second lookup in the same directory counts once
  EXPECT_EQ(a.counters().hits.load(), 1u);
}

TEST(ListingAdvisor, LookupsInOtherDirectoriesAreNoHit) {
  ListingAdvisor a(kConfig);
  InodePtr other = Dir(999);
  uint64_t n = 1;
  for (int i = 0; i < 4; ++i) List(a, Dir(n++));
  a.LookedUp(*other);
  for (int i = 0; i < 2; ++i) List(a, Dir(n++));
  EXPECT_EQ(a.counters().hits.load(), 0u);
  EXPECT_FALSE(a.files_get_attributes());
}

TEST(ListingAdvisor, HitsSpaceProbesOutAndAMissResetsTheInterval) {
  ListingAdvisor a(kConfig);
  std::vector<uint64_t> probed_at;
  for (uint64_t seq = 1; seq <= 60; ++seq) {
    InodePtr d = Dir(seq);
    if (!List(a, d)) {
      probed_at.push_back(seq);
      a.LookedUp(*d);  // every probe hits: the files are used
    }
  }
  // Due at 4, then 8 listings later (interval doubled by the hit), then 16,
  // then capped at 16.
  EXPECT_EQ(probed_at, (std::vector<uint64_t>{4, 12, 28, 44, 60}));
}

TEST(ListingAdvisor, ADirectoryStillProbedIsListedBareAgain) {
  ListingAdvisor a(kConfig);
  uint64_t n = 1;
  for (int i = 0; i < 3; ++i) List(a, Dir(n++));
  InodePtr d = Dir(n++);
  ASSERT_FALSE(List(a, d)) << "the probe";
  // rm reads the directory a second time before unlinking: still bare, so
  // the unlinks' LOOKUPs answer the probe; and it is one probe, not two.
  EXPECT_FALSE(List(a, d));
  EXPECT_EQ(a.counters().probes.load(), 1u);
  a.LookedUp(*d);
  EXPECT_EQ(a.counters().hits.load(), 1u);
  EXPECT_TRUE(List(a, d));
}

TEST(ListingAdvisor, AProbeDueWaitsForAListingWithFiles) {
  ListingAdvisor a(kConfig);
  for (uint64_t i = 1; i <= 3; ++i) List(a, Dir(i));
  // The 4th listing is due to probe but has only subdirectories: it never
  // reports files sent bare, so the next listing still probes.
  EXPECT_FALSE(a.StartListing(*Dir(4)));
  EXPECT_FALSE(List(a, Dir(5)));
  EXPECT_EQ(a.counters().probes.load(), 1u);
  EXPECT_TRUE(List(a, Dir(6)));
}

TEST(ListingAdvisor, PendingProbesAreBounded) {
  ListingAdvisor a(ListingAdvisor::Config{.probe_every = 1, .probe_every_max = 1, .judge_after = 1000});
  // Every listing probes and none is judged by age: the oldest are judged
  // (as misses) when the queue is full, so it holds no more than its bound.
  for (uint64_t i = 1; i <= 200; ++i) List(a, Dir(i));
  EXPECT_GE(a.counters().misses.load(), 200u - 64u);
}

}  // namespace
}  // namespace ptfs::mirror
