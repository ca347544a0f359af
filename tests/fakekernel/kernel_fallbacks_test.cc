// What the daemon does when the running kernel lacks a notification it
// uses: FUSE_NOTIFY_PRUNE (Linux 6.18; an older kernel refuses the write with
// EINVAL). At the fd limit the daemon still sheds its cached fds, asks the
// kernel once, and never again after the refusal.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

// A kernel before 6.18: every prune is refused, as /dev/fuse refuses an
// unknown notification code.
class PrunelessKernel final : public KernelNotifier {
 public:
  Errno InvalidateInode(NodeId, int64_t, int64_t) override { return Errno::Ok(); }
  Errno InvalidateEntry(NodeId, std::string_view) override { return Errno::Ok(); }
  Errno Prune(std::span<const NodeId>) override {
    prunes.fetch_add(1);
    return Errno(EINVAL);
  }
  std::atomic<int> prunes{0};
};

int OpenFdCount() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n - 2;  // . and ..
}

TEST(KernelFallbacks, PruneRefusedByAnOlderKernelIsAskedOnceThenOnlyFdsAreShed) {
  constexpr int kFiles = 300;
  FakeKernel k;
  PrunelessKernel kernel;
  k.fs().SetNotifier(&kernel);
  for (int i = 0; i < kFiles; ++i) std::ofstream(k.source() + "/f" + std::to_string(i)) << "x";
  std::vector<uint64_t> nodes;
  for (int i = 0; i < kFiles; ++i) {
    KernelReply r = k.Lookup(kRootId, "f" + std::to_string(i));
    ASSERT_EQ(r.error(), 0);
    nodes.push_back(r.As<fuse_entry_out>().nodeid);
  }
  struct rlimit was;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &was), 0);
  struct rlimit low = was;
  low.rlim_cur = static_cast<rlim_t>(OpenFdCount() + 40);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  // Two rounds at the limit: open files until the cache has been shed, give
  // them back, and again.
  uint64_t shed_after_first = 0;
  for (int round = 0; round < 2; ++round) {
    std::vector<std::pair<uint64_t, uint64_t>> open;  // node, fh
    const uint64_t shed_before = k.fs().fds_shed();
    for (uint64_t node : nodes) {
      KernelReply r = k.Open(node, O_RDONLY);
      if (r.error() != 0) break;  // EMFILE once nothing is left to shed
      open.emplace_back(node, r.As<fuse_open_out>().fh);
      if (k.fs().fds_shed() > shed_before && open.size() > 60) break;
    }
    for (auto [node, fh] : open) k.Release(node, fh);
    EXPECT_GT(k.fs().fds_shed(), shed_before) << "round " << round << ": no fd was shed";
    if (round == 0) shed_after_first = k.fs().fds_shed();
    // Fill the cache again for the second round.
    for (uint64_t node : nodes) (void)k.GetAttr(node);
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &was), 0);
  EXPECT_GT(k.fs().fds_shed(), shed_after_first) << "the second round shed fds too";
  EXPECT_EQ(kernel.prunes.load(), 1) << "asked once; after the refusal, never again";
  EXPECT_EQ(k.fs().prune_asked(), 0u) << "nothing counted as asked when the kernel refused";
  // Everything still works below the limit.
  KernelReply r = k.Open(nodes.back(), O_RDONLY);
  ASSERT_EQ(r.error(), 0);
  KernelReply data = k.Read(nodes.back(), r.As<fuse_open_out>().fh, 0, 16);
  EXPECT_EQ(std::string(data.payload.begin(), data.payload.end()), "x");
  k.Release(nodes.back(), r.As<fuse_open_out>().fh);
  k.ForgetAll();
}

}  // namespace
}  // namespace ptfs::testing
