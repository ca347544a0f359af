// File I/O passthrough against the fake kernel: the fake DeviceControl
// records BACKING_OPEN/BACKING_CLOSE, so the tests see exactly which backing
// ids the server registered, handed out and closed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

bool IsOpenBacking(FakeDeviceControl& control, int32_t id) {
  std::lock_guard<std::mutex> lock(control.mu);
  return control.open_backings.count(id) != 0;
}

FakeKernelOptions WithPassthrough() {
  FakeKernelOptions o;
  o.passthrough = true;
  return o;
}

TEST(FakeKernelPassthrough, OpenCreateAndTmpfileCarryTheBacking) {
  FakeKernel k(WithPassthrough());
  ASSERT_TRUE(k.fs().passthrough_enabled());

  CreatedFile c = Unpack(k.Create(kRootId, "f", O_RDWR | O_CREAT));
  EXPECT_NE(c.open.open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_GT(c.open.backing_id, 0);
  EXPECT_TRUE(IsOpenBacking(k.control(), c.open.backing_id));

  // A second open of the same inode shares the backing: no new registration.
  KernelReply o = k.Open(c.entry.nodeid, O_RDONLY);
  ASSERT_EQ(o.error(), 0);
  EXPECT_NE(o.As<fuse_open_out>().open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_EQ(o.As<fuse_open_out>().backing_id, c.open.backing_id);
  EXPECT_EQ(k.control().backing_opens, 1);

  // TMPFILE: a new inode, a new backing.
  fuse_create_in tin{O_RDWR, S_IFREG | 0600, 022, 0};
  KernelReply t = k.Call(RequestBuilder{FUSE_TMPFILE, kRootId}.Arg(tin).Name("/"));
  ASSERT_EQ(t.error(), 0);
  CreatedFile tmp = Unpack(t);
  EXPECT_NE(tmp.open.open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_GT(tmp.open.backing_id, 0);
  EXPECT_NE(tmp.open.backing_id, c.open.backing_id);
  EXPECT_EQ(k.control().backing_opens, 2);

  // The backing stays registered while the inode has opens, and after its
  // last release too: kept idle, so reopening the inode registers nothing.
  EXPECT_EQ(k.Release(c.entry.nodeid, c.open.fh).error(), 0);
  EXPECT_TRUE(IsOpenBacking(k.control(), c.open.backing_id));
  EXPECT_EQ(k.Release(c.entry.nodeid, o.As<fuse_open_out>().fh).error(), 0);
  EXPECT_TRUE(IsOpenBacking(k.control(), c.open.backing_id));
  EXPECT_EQ(k.fs().data_path().backing_idle_now.load(), 1);
  KernelReply again = k.Open(c.entry.nodeid, O_WRONLY);
  ASSERT_EQ(again.error(), 0);
  EXPECT_EQ(again.As<fuse_open_out>().backing_id, c.open.backing_id);
  EXPECT_EQ(k.control().backing_opens, 2) << "the reopen registered a backing";
  EXPECT_EQ(k.fs().data_path().backing_reused.load(), 1u);
  EXPECT_EQ(k.fs().data_path().backing_idle_now.load(), 0);
  EXPECT_EQ(k.Release(c.entry.nodeid, again.As<fuse_open_out>().fh).error(), 0);
  EXPECT_EQ(k.Release(tmp.entry.nodeid, tmp.open.fh).error(), 0);
  EXPECT_EQ(k.control().backing_closes, 0);
  EXPECT_EQ(k.fs().data_path().backing_idle_now.load(), 2);
  EXPECT_EQ(k.fs().data_path().opens_passthrough.load(), 4u);
  // The kernel forgets the inodes: their idle backings are closed.
  k.ForgetAll();
  EXPECT_EQ(k.control().backing_closes, 2);
  EXPECT_TRUE(k.control().open_backings.empty());
  EXPECT_EQ(k.fs().data_path().backing_open_now.load(), 0);
  EXPECT_EQ(k.fs().data_path().backing_idle_now.load(), 0);
}

// --backing-cache=0: the last release closes the backing, and a reopen
// registers a new one.
TEST(FakeKernelPassthrough, WithoutTheBackingCacheTheLastReleaseCloses) {
  FakeKernelOptions opts = WithPassthrough();
  opts.fs.idle_backings = 0;
  FakeKernel k(opts);
  CreatedFile c = Unpack(k.Create(kRootId, "f", O_RDWR | O_CREAT));
  ASSERT_GT(c.open.backing_id, 0);
  EXPECT_EQ(k.Release(c.entry.nodeid, c.open.fh).error(), 0);
  EXPECT_FALSE(IsOpenBacking(k.control(), c.open.backing_id));
  EXPECT_EQ(k.control().backing_closes, 1);
  KernelReply o = k.Open(c.entry.nodeid, O_RDONLY);
  ASSERT_EQ(o.error(), 0);
  EXPECT_TRUE(IsOpenBacking(k.control(), o.As<fuse_open_out>().backing_id));
  EXPECT_EQ(k.control().backing_opens, 2);
  EXPECT_EQ(k.Release(c.entry.nodeid, o.As<fuse_open_out>().fh).error(), 0);
  EXPECT_TRUE(k.control().open_backings.empty());
  EXPECT_EQ(k.fs().data_path().backing_reused.load(), 0u);
  k.ForgetAll();
}

// At most --backing-cache idle backings are kept: the least recently closed
// inode's goes first, and only an idle one is ever closed.
TEST(FakeKernelPassthrough, IdleBackingsAreBoundedLeastRecentlyUsedFirst) {
  FakeKernelOptions opts = WithPassthrough();
  opts.fs.idle_backings = 2;
  FakeKernel k(opts);
  std::vector<CreatedFile> files;
  for (int i = 0; i < 4; ++i) {
    files.push_back(Unpack(k.Create(kRootId, "f" + std::to_string(i), O_RDWR | O_CREAT)));
    ASSERT_GT(files.back().open.backing_id, 0);
  }
  // f3 stays open throughout: it is never idle, so never evicted.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(k.Release(files[i].entry.nodeid, files[i].open.fh).error(), 0);
  }
  EXPECT_FALSE(IsOpenBacking(k.control(), files[0].open.backing_id)) << "oldest idle one";
  EXPECT_TRUE(IsOpenBacking(k.control(), files[1].open.backing_id));
  EXPECT_TRUE(IsOpenBacking(k.control(), files[2].open.backing_id));
  EXPECT_TRUE(IsOpenBacking(k.control(), files[3].open.backing_id));
  EXPECT_EQ(k.fs().data_path().backing_idle_now.load(), 2);
  // Reusing f1 makes it the most recent; closing f3 then evicts f2.
  KernelReply o1 = k.Open(files[1].entry.nodeid, O_RDONLY);
  EXPECT_EQ(o1.As<fuse_open_out>().backing_id, files[1].open.backing_id);
  EXPECT_EQ(k.Release(files[1].entry.nodeid, o1.As<fuse_open_out>().fh).error(), 0);
  EXPECT_EQ(k.Release(files[3].entry.nodeid, files[3].open.fh).error(), 0);
  EXPECT_FALSE(IsOpenBacking(k.control(), files[2].open.backing_id));
  EXPECT_TRUE(IsOpenBacking(k.control(), files[1].open.backing_id));
  EXPECT_TRUE(IsOpenBacking(k.control(), files[3].open.backing_id));
  // An evicted inode registers afresh on its next open.
  KernelReply o0 = k.Open(files[0].entry.nodeid, O_RDONLY);
  ASSERT_EQ(o0.error(), 0);
  EXPECT_TRUE(IsOpenBacking(k.control(), o0.As<fuse_open_out>().backing_id));
  EXPECT_EQ(k.control().backing_opens, 5);
  EXPECT_EQ(k.Release(files[0].entry.nodeid, o0.As<fuse_open_out>().fh).error(), 0);
  EXPECT_EQ(k.fs().data_path().backing_idle_now.load(), 2);
  k.ForgetAll();
  EXPECT_TRUE(k.control().open_backings.empty());
  EXPECT_EQ(k.control().backing_opens, k.control().backing_closes);
}

// Many threads open and release one inode concurrently; each OPEN reply must
// name a backing that is registered at that moment (its own open keeps it
// alive), and all of them share one id while any open is outstanding.
// Run without the backing cache (every last release closes) and with a
// one-entry cache over two inodes (every release of one evicts the other).
class FakeKernelPassthroughRace : public ::testing::TestWithParam<size_t> {};

TEST_P(FakeKernelPassthroughRace, OpenRacingLastReleaseNeverGetsAClosedId) {
  FakeKernelOptions opts = WithPassthrough();
  opts.threads = 4;
  opts.fs.idle_backings = GetParam();
  FakeKernel k(opts);
  uint64_t nodes[2];
  for (int n = 0; n < 2; ++n) {
    const std::string name = "shared" + std::to_string(n);
    { std::ofstream(k.source() + "/" + name) << "data"; }
    nodes[n] = k.Lookup(kRootId, name).As<fuse_entry_out>().nodeid;
  }
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        const uint64_t node = nodes[(t + i / 3) % 2];
        KernelReply o = k.Open(node, t % 2 ? O_RDONLY : O_RDWR);
        const auto out = o.As<fuse_open_out>();
        if (o.error() != 0 || (out.open_flags & FOPEN_PASSTHROUGH) == 0 ||
            !IsOpenBacking(k.control(), out.backing_id)) {
          ++bad;
        }
        if (k.Release(node, out.fh).error() != 0) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LE(k.fs().data_path().backing_idle_now.load(), static_cast<int64_t>(GetParam()));
  EXPECT_EQ(k.fs().data_path().backing_open_now.load(),
            k.fs().data_path().backing_idle_now.load());
  k.ForgetAll();
  EXPECT_EQ(k.control().backing_opens, k.control().backing_closes);
  EXPECT_TRUE(k.control().open_backings.empty());
  EXPECT_EQ(k.fs().data_path().backing_open_now.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(IdleBackings, FakeKernelPassthroughRace, ::testing::Values(0u, 1u),
                         [](const auto& info) { return "cache" + std::to_string(info.param); });

// While one open holds the backing, concurrent opens all get that same id.
TEST(FakeKernelPassthrough, ConcurrentOpensShareOneBacking) {
  FakeKernelOptions opts = WithPassthrough();
  opts.threads = 4;
  FakeKernel k(opts);
  { std::ofstream(k.source() + "/f") << "x"; }
  const uint64_t node = k.Lookup(kRootId, "f").As<fuse_entry_out>().nodeid;
  KernelReply first = k.Open(node, O_RDONLY);
  const int32_t id = first.As<fuse_open_out>().backing_id;
  ASSERT_GT(id, 0);
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        KernelReply o = k.Open(node, O_RDWR);
        if (o.As<fuse_open_out>().backing_id != id) ++other;
        (void)k.Release(node, o.As<fuse_open_out>().fh);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(k.control().backing_opens, 1);
  EXPECT_EQ(k.Release(node, first.As<fuse_open_out>().fh).error(), 0);
  EXPECT_EQ(k.control().backing_closes, 0) << "kept idle after the last release";
  k.ForgetAll();
  EXPECT_EQ(k.control().backing_closes, 1);
}

class FakeKernelPassthroughFallback : public ::testing::TestWithParam<int> {};

TEST_P(FakeKernelPassthroughFallback, RegistrationFailureServesTheOpen) {
  FakeKernel k(WithPassthrough());
  k.control().backing_open_error = Errno(GetParam());
  ::testing::internal::CaptureStderr();
  std::vector<CreatedFile> files;
  for (int i = 0; i < 3; ++i) {
    files.push_back(Unpack(k.Create(kRootId, "f" + std::to_string(i), O_RDWR | O_CREAT)));
    EXPECT_EQ(files.back().open.open_flags & FOPEN_PASSTHROUGH, 0u);
    EXPECT_EQ(files.back().open.backing_id, 0);
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  // The reason is logged once per cause, not once per open.
  size_t count = 0;
  for (size_t p = log.find("kernel passthrough refused"); p != std::string::npos;
       p = log.find("kernel passthrough refused", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << log;
  EXPECT_NE(log.find(strerror(GetParam())), std::string::npos) << log;
  // The served path works: the data goes through the server.
  const CreatedFile& f = files[0];
  ASSERT_EQ(k.Write(f.entry.nodeid, f.open.fh, 0, "served").error(), 0);
  KernelReply r = k.Read(f.entry.nodeid, f.open.fh, 0, 100);
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), "served");
  EXPECT_EQ(k.session().RequestCount(FUSE_WRITE), 1u);
  EXPECT_EQ(k.session().RequestCount(FUSE_READ), 1u);
  EXPECT_EQ(k.fs().data_path().opens_served.load(), 3u);
  EXPECT_EQ(k.fs().data_path().backing_failed.load(), 3u);

  // An inode keeps its data path while it has open files: even once
  // registration would work, a second open of a served inode is served
  // (the kernel refuses to mix cached and passthrough opens of one inode).
  k.control().backing_open_error = Errno();
  KernelReply again = k.Open(f.entry.nodeid, O_RDONLY);
  EXPECT_EQ(again.As<fuse_open_out>().open_flags & FOPEN_PASSTHROUGH, 0u);
  for (const auto& c : files) EXPECT_EQ(k.Release(c.entry.nodeid, c.open.fh).error(), 0);
  EXPECT_EQ(k.Release(f.entry.nodeid, again.As<fuse_open_out>().fh).error(), 0);
  // All closed: the next open may pass through.
  KernelReply fresh = k.Open(f.entry.nodeid, O_RDONLY);
  EXPECT_NE(fresh.As<fuse_open_out>().open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_EQ(k.Release(f.entry.nodeid, fresh.As<fuse_open_out>().fh).error(), 0);
  EXPECT_EQ(k.fs().data_path().backing_idle_now.load(), 1) << "only a registered one is kept";
  k.ForgetAll();
  EXPECT_TRUE(k.control().open_backings.empty());
}

INSTANTIATE_TEST_SUITE_P(Errnos, FakeKernelPassthroughFallback,
                         ::testing::Values(EPERM, ELOOP, EOPNOTSUPP));

TEST(FakeKernelPassthrough, NotOfferedMeansServed) {
  FakeKernelOptions opts = WithPassthrough();
  opts.offered_flags &= ~FUSE_PASSTHROUGH;
  FakeKernel k(opts);
  EXPECT_FALSE(k.fs().passthrough_enabled());
  CreatedFile c = Unpack(k.Create(kRootId, "f", O_RDWR | O_CREAT));
  EXPECT_EQ(c.open.open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_EQ(c.open.backing_id, 0);
  EXPECT_EQ(k.control().backing_opens, 0);
  EXPECT_EQ(k.Release(c.entry.nodeid, c.open.fh).error(), 0);
  k.ForgetAll();
}

TEST(FakeKernelPassthrough, InitSendsStackDepthOnlyWithPassthrough) {
  for (bool offered : {true, false}) {
    FakeKernelOptions opts = WithPassthrough();
    opts.init = false;
    FakeKernel k(opts);
    const uint64_t flags = FUSE_MAX_PAGES | (offered ? FUSE_PASSTHROUGH : 0);
    KernelReply r = k.Init(kKernelVersion, kKernelMinorVersion, flags);
    ASSERT_EQ(r.error(), 0);
    const auto out = r.As<fuse_init_out>();
    EXPECT_EQ((out.flags2 & (FUSE_PASSTHROUGH >> 32)) != 0, offered);
    EXPECT_EQ(out.max_stack_depth, offered ? 1u : 0u);
  }
}

// Served opens: write-only ones go direct (no FUSE page cache), others keep
// the page cache; passthrough opens get neither.
TEST(FakeKernelServed, WriteOnlyOpensBypassThePageCache) {
  for (bool passthrough : {false, true}) {
    FakeKernelOptions o;
    o.passthrough = passthrough;
    FakeKernel k(o);
    KernelReply c = k.Create(kRootId, "f", O_WRONLY);
    ASSERT_EQ(c.error(), 0);
    const auto entry = c.As<fuse_entry_out>();
    fuse_open_out created;
    std::memcpy(&created, c.payload.data() + sizeof(fuse_entry_out), sizeof(created));
    const uint32_t direct = FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES;
    EXPECT_EQ(created.open_flags & direct, passthrough ? 0u : direct) << passthrough;
    for (uint32_t flags : {O_WRONLY, O_RDWR, O_RDONLY}) {
      KernelReply r = k.Open(entry.nodeid, flags);
      ASSERT_EQ(r.error(), 0);
      const auto out = r.As<fuse_open_out>();
      const bool want_direct = !passthrough && flags == O_WRONLY;
      EXPECT_EQ(out.open_flags & direct, want_direct ? direct : 0u)
          << "flags " << flags << " passthrough " << passthrough;
      k.Release(entry.nodeid, out.fh);
    }
    k.Release(entry.nodeid, created.fh);
    k.ForgetAll();
  }
}

}  // namespace
}  // namespace ptfs::testing
