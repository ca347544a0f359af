// An outside change that lands while a LOOKUP makes a new node. The LOOKUP
// reads the inode's attributes; then the host changes them (chmod 0600 of a
// file that was 0644); the source watch resolves that event before the node
// is in the table, so it finds no node and sends nothing; the reply then
// hands the kernel the old attributes. With the watch's day-long attribute
// timeout the kernel would go on showing the file as readable by everyone,
// and with default_permissions grant opens the host now refuses. The reply
// must not let the kernel cache those attributes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

// Records what the daemon tells the kernel.
class RecordingKernel final : public KernelNotifier {
 public:
  Errno InvalidateInode(NodeId node, int64_t, int64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    inodes_.insert(node.value);
    return Errno::Ok();
  }
  Errno InvalidateEntry(NodeId, std::string_view) override { return Errno::Ok(); }
  bool Invalidated(uint64_t node) {
    std::lock_guard<std::mutex> lock(mu_);
    return inodes_.count(node) != 0;
  }

 private:
  std::mutex mu_;
  std::set<uint64_t> inodes_;
};

// Runs `change` in another process: the watch skips the daemon's own
// changes, and in the fake kernel the daemon is this process.
void Elsewhere(const std::function<int()>& change) {
  const pid_t pid = ::fork();
  if (pid == 0) _exit(change() == 0 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// A fake kernel whose server runs the source watch and, when armed, makes
// an outside change in the window of the next new node: after the node's
// statx, before its insertion, waiting until the watch has resolved the
// event (and found no node).
class WatchRace : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeKernelOptions o;
    o.fs.watch_source = true;
    o.before_serving = [this](session::Session&, mirror::MirrorFs& f) {
      f.SetNotifier(&kernel_);
      f.SetEntryRaceHookForTesting([this, &f] {
        ++hook_calls_;
        std::function<int()> change;
        {
          std::lock_guard<std::mutex> lock(mu_);
          change.swap(armed_);
        }
        if (!change) return;
        const uint64_t unknown_before = f.source_watcher()->counters().unknown.load();
        Elsewhere(change);
        resolved_in_window_ = Eventually(
            [&] { return f.source_watcher()->counters().unknown.load() > unknown_before; });
      });
    };
    k_ = std::make_unique<FakeKernel>(o);
    ASSERT_NE(k_->fs().source_watcher(), nullptr) << "the watch runs (root, fanotify)";
  }
  void TearDown() override {
    if (k_) k_->ForgetAll();
  }
  // The next new node's LOOKUP meets `change`.
  void Arm(std::function<int()> change) {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = std::move(change);
  }
  // LOOKUP of `name` in the root with `change` armed for its window; the
  // entry, once the watch has resolved the change.
  fuse_entry_out LookupMeeting(const std::string& name, std::function<int()> change) {
    Arm(std::move(change));
    KernelReply raced = k_->Lookup(kRootId, name);
    EXPECT_EQ(raced.error(), 0);
    EXPECT_TRUE(resolved_in_window_) << "the watch did not resolve the change within 2 s";
    return raced.As<fuse_entry_out>();
  }
  std::string Src(const std::string& rel) const { return k_->source() + "/" + rel; }
  uint64_t RacedEntries() { return k_->fs().source_watcher()->counters().raced_entries.load(); }

  RecordingKernel kernel_;
  std::unique_ptr<FakeKernel> k_;
  std::mutex mu_;
  std::function<int()> armed_;
  std::atomic<int> hook_calls_{0};
  std::atomic<bool> resolved_in_window_{false};
};

TEST_F(WatchRace, AChangeResolvedWhileANodeIsMadeKeepsItsAttributesFromBeingCached) {
  std::ofstream(Src("f")) << "x";
  std::ofstream(Src("g")) << "y";
  ASSERT_EQ(::chmod(Src("f").c_str(), 0644), 0);
  ASSERT_EQ(::chmod(Src("g").c_str(), 0644), 0);

  // Without a change in the window, a new node's attributes are cached for
  // the watch's long timeout.
  KernelReply quiet = k_->Lookup(kRootId, "g");
  ASSERT_EQ(quiet.error(), 0);
  EXPECT_EQ(quiet.As<fuse_entry_out>().attr_valid, 86400u);

  const std::string f = Src("f");
  const fuse_entry_out e = LookupMeeting("f", [f] { return ::chmod(f.c_str(), 0600); });
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(e.attr.mode & 07777, 0644u) << "the reply's attributes predate the chmod";
  EXPECT_FALSE(kernel_.Invalidated(e.nodeid))
      << "the watch found no node, so the kernel is never told of the chmod";
  EXPECT_EQ(e.attr_valid, 0u) << "so the stale attributes must not be cached";
  EXPECT_EQ(e.attr_valid_nsec, 0u);
  EXPECT_EQ(e.entry_valid, 86400u) << "the name itself stays cached";
  EXPECT_EQ(RacedEntries(), 1u);

  // The next GETATTR the kernel sends sees the change.
  KernelReply fresh = k_->GetAttr(e.nodeid);
  ASSERT_EQ(fresh.error(), 0);
  EXPECT_EQ(fresh.As<fuse_attr_out>().attr.mode & 07777, 0600u);
  EXPECT_GE(hook_calls_.load(), 2);
}

// The same for a directory: a name made in it on the host while its node
// is made leaves its old link count and times in the reply, and the event
// names the directory, which the watch cannot find yet.
TEST_F(WatchRace, ANameMadeInADirectoryWhileItsNodeIsMadeKeepsItsAttributesFromBeingCached) {
  ASSERT_EQ(::mkdir(Src("d").c_str(), 0755), 0);
  const std::string sub = Src("d/sub");
  const fuse_entry_out e = LookupMeeting("d", [sub] { return ::mkdir(sub.c_str(), 0755); });
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(e.attr.nlink, 2u) << "the reply's attributes predate the mkdir inside";
  EXPECT_EQ(e.attr_valid, 0u) << "so they must not be cached";
  EXPECT_EQ(e.attr_valid_nsec, 0u);
  EXPECT_EQ(RacedEntries(), 1u);
  KernelReply fresh = k_->GetAttr(e.nodeid);
  ASSERT_EQ(fresh.error(), 0);
  EXPECT_EQ(fresh.As<fuse_attr_out>().attr.nlink, 3u);
}

}  // namespace
}  // namespace ptfs::testing
