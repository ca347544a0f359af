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

// A change made by another process: the watch skips the daemon's own
// changes, and in the fake kernel the daemon is this process.
void ChmodElsewhere(const std::string& path, mode_t mode) {
  const pid_t pid = ::fork();
  if (pid == 0) _exit(::chmod(path.c_str(), mode) == 0 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
void MkdirElsewhere(const std::string& path) {
  const pid_t pid = ::fork();
  if (pid == 0) _exit(::mkdir(path.c_str(), 0755) == 0 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(WatchRace, AChangeResolvedWhileANodeIsMadeKeepsItsAttributesFromBeingCached) {
  RecordingKernel kernel;
  mirror::MirrorFs* fs = nullptr;
  std::string source;
  std::atomic<int> hook_calls{0};
  std::atomic<bool> race_now{false};
  std::atomic<bool> resolved_in_window{false};
  FakeKernelOptions o;
  o.fs.watch_source = true;
  o.before_serving = [&](session::Session&, mirror::MirrorFs& f) {
    fs = &f;
    f.SetNotifier(&kernel);
    f.SetEntryRaceHookForTesting([&] {
      ++hook_calls;
      if (!race_now.exchange(false)) return;
      // Between the LOOKUP's statx and the node's insertion: change the
      // file on the host and wait until the watch has dealt with the event.
      const uint64_t unknown_before = f.source_watcher()->counters().unknown.load();
      ChmodElsewhere(source + "/f", 0600);
      resolved_in_window = Eventually(
          [&] { return f.source_watcher()->counters().unknown.load() > unknown_before; });
    });
  };
  FakeKernel k(o);
  source = k.source();
  ASSERT_NE(fs, nullptr);
  ASSERT_NE(fs->source_watcher(), nullptr) << "the watch runs (root, fanotify)";
  std::ofstream(source + "/f") << "x";
  std::ofstream(source + "/g") << "y";
  ASSERT_EQ(::chmod((source + "/f").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((source + "/g").c_str(), 0644), 0);

  // Without a change in the window, a new node's attributes are cached for
  // the watch's long timeout.
  KernelReply quiet = k.Lookup(kRootId, "g");
  ASSERT_EQ(quiet.error(), 0);
  EXPECT_EQ(quiet.As<fuse_entry_out>().attr_valid, 86400u);

  race_now = true;
  KernelReply raced = k.Lookup(kRootId, "f");
  ASSERT_EQ(raced.error(), 0);
  ASSERT_TRUE(resolved_in_window) << "the watch did not resolve the chmod within 2 s";
  const auto e = raced.As<fuse_entry_out>();
  EXPECT_EQ(e.attr.mode & 07777, 0644u) << "the reply's attributes predate the chmod";
  EXPECT_FALSE(kernel.Invalidated(e.nodeid))
      << "the watch found no node, so the kernel is never told of the chmod";
  EXPECT_EQ(e.attr_valid, 0u) << "so the stale attributes must not be cached";
  EXPECT_EQ(e.attr_valid_nsec, 0u);
  EXPECT_EQ(e.entry_valid, 86400u) << "the name itself stays cached";
  EXPECT_EQ(fs->source_watcher()->counters().raced_entries.load(), 1u);

  // The next GETATTR the kernel sends sees the change.
  KernelReply fresh = k.GetAttr(e.nodeid);
  ASSERT_EQ(fresh.error(), 0);
  EXPECT_EQ(fresh.As<fuse_attr_out>().attr.mode & 07777, 0600u);
  EXPECT_GE(hook_calls.load(), 2);
  k.ForgetAll();
}

// The same for a directory: a name made in it on the host while its node
// is made leaves its old link count and times in the reply, and the event
// names the directory, which the watch cannot find yet.
TEST(WatchRace, ANameMadeInADirectoryWhileItsNodeIsMadeKeepsItsAttributesFromBeingCached) {
  RecordingKernel kernel;
  mirror::MirrorFs* fs = nullptr;
  std::string source;
  std::atomic<bool> race_now{false};
  std::atomic<bool> resolved_in_window{false};
  FakeKernelOptions o;
  o.fs.watch_source = true;
  o.before_serving = [&](session::Session&, mirror::MirrorFs& f) {
    fs = &f;
    f.SetNotifier(&kernel);
    f.SetEntryRaceHookForTesting([&] {
      if (!race_now.exchange(false)) return;
      const uint64_t unknown_before = f.source_watcher()->counters().unknown.load();
      MkdirElsewhere(source + "/d/sub");
      resolved_in_window = Eventually(
          [&] { return f.source_watcher()->counters().unknown.load() > unknown_before; });
    });
  };
  FakeKernel k(o);
  source = k.source();
  ASSERT_NE(fs->source_watcher(), nullptr) << "the watch runs (root, fanotify)";
  ASSERT_EQ(::mkdir((source + "/d").c_str(), 0755), 0);
  race_now = true;
  KernelReply raced = k.Lookup(kRootId, "d");
  ASSERT_EQ(raced.error(), 0);
  ASSERT_TRUE(resolved_in_window) << "the watch did not resolve the mkdir within 2 s";
  const auto e = raced.As<fuse_entry_out>();
  EXPECT_EQ(e.attr.nlink, 2u) << "the reply's attributes predate the mkdir inside";
  EXPECT_EQ(e.attr_valid, 0u) << "so they must not be cached";
  EXPECT_EQ(e.attr_valid_nsec, 0u);
  EXPECT_EQ(fs->source_watcher()->counters().raced_entries.load(), 1u);
  KernelReply fresh = k.GetAttr(e.nodeid);
  ASSERT_EQ(fresh.error(), 0);
  EXPECT_EQ(fresh.As<fuse_attr_out>().attr.nlink, 3u);
  k.ForgetAll();
}

}  // namespace
}  // namespace ptfs::testing
