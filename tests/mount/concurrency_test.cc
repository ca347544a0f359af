// Concurrency on one directory: threads create, rename, link and unlink
// files while others stat, read, change attributes and list it, for a
// bounded time. Afterwards the mount's listing and attributes equal SOURCE's,
// no errors other than the races' ENOENT/EEXIST were seen, and the daemon is
// alive and exits 0 on unmount.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class ConcurrencyTest : public MountTestBase, public testing::WithParamInterface<Variant> {
 protected:
  std::vector<std::string> DaemonArgs() const override { return GetParam().args; }
};

// Unexpected errors, by "op errno".
class Tally {
 public:
  // Records `rc` of `op`; errors in `allowed` are races and fine.
  void Check(const char* op, long rc, std::initializer_list<int> allowed) {
    ops_.fetch_add(1, std::memory_order_relaxed);
    if (rc >= 0) return;
    const int e = errno;
    for (int a : allowed) {
      if (e == a) return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++unexpected_[std::string(op) + " " + ErrnoName(e)];
  }
  long ops() const { return ops_.load(); }
  std::map<std::string, int> unexpected() {
    std::lock_guard<std::mutex> lock(mu_);
    return unexpected_;
  }

 private:
  std::atomic<long> ops_{0};
  std::mutex mu_;
  std::map<std::string, int> unexpected_;
};

TEST_P(ConcurrencyTest, CreateRenameUnlinkWhileStatAndList) {
  const std::string dir = Mnt("work");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  constexpr int kNames = 40;
  auto file = [&](std::mt19937& rng) { return dir + "/f" + std::to_string(rng() % kNames); };
  auto subdir = [&](std::mt19937& rng) { return dir + "/d" + std::to_string(rng() % 8); };
  std::atomic<bool> stop{false};
  Tally tally;
  std::vector<std::thread> threads;
  auto spawn = [&](int seed, auto body) {
    threads.emplace_back([&, seed, body] {
      std::mt19937 rng(seed);
      while (!stop.load(std::memory_order_relaxed)) body(rng);
    });
  };
  for (int i = 0; i < 2; ++i) {  // creators
    spawn(100 + i, [&](std::mt19937& rng) {
      const std::string p = file(rng);
      int fd = open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
      tally.Check("create", fd, {EEXIST});
      if (fd >= 0) {
        tally.Check("write", write(fd, "some data", 9), {});
        tally.Check("close", close(fd), {});
      }
      tally.Check("mkdir", mkdir(subdir(rng).c_str(), 0755), {EEXIST});
    });
  }
  spawn(200, [&](std::mt19937& rng) {  // renamer
    const std::string a = file(rng), b = file(rng);
    switch (rng() % 3) {
      case 0:
        tally.Check("rename", rename(a.c_str(), b.c_str()), {ENOENT});
        break;
      case 1:
        tally.Check("rename noreplace",
                    renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_NOREPLACE),
                    {ENOENT, EEXIST});
        break;
      default:
        tally.Check("rename exchange",
                    renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE), {ENOENT});
    }
  });
  spawn(300, [&](std::mt19937& rng) {  // unlinker and linker
    tally.Check("unlink", unlink(file(rng).c_str()), {ENOENT});
    const std::string a = file(rng), b = file(rng);
    tally.Check("link", link(a.c_str(), b.c_str()), {ENOENT, EEXIST});
    tally.Check("rmdir", rmdir(subdir(rng).c_str()), {ENOENT});
  });
  for (int i = 0; i < 2; ++i) {  // stat, read, chmod, xattrs
    spawn(400 + i, [&](std::mt19937& rng) {
      const std::string p = file(rng);
      struct stat st;
      tally.Check("stat", stat(p.c_str(), &st), {ENOENT});
      int fd = open(p.c_str(), O_RDONLY);
      tally.Check("open", fd, {ENOENT});
      if (fd >= 0) {
        char buf[64];
        tally.Check("read", read(fd, buf, sizeof buf), {});
        tally.Check("fstat", fstat(fd, &st), {});
        tally.Check("close", close(fd), {});
      }
      tally.Check("chmod", chmod(p.c_str(), 0600 | (rng() % 2 ? 044 : 0)), {ENOENT});
      tally.Check("setxattr", setxattr(p.c_str(), "user.k", "v", 1, 0), {ENOENT});
      char v[8];
      tally.Check("getxattr", getxattr(p.c_str(), "user.k", v, sizeof v), {ENOENT, ENODATA});
    });
  }
  spawn(500, [&](std::mt19937&) {  // lister
    DIR* d = opendir(dir.c_str());
    tally.Check("opendir", d == nullptr ? -1 : 0, {});
    if (d == nullptr) return;
    errno = 0;
    while (readdir(d) != nullptr) {
    }
    tally.Check("readdir", errno == 0 ? 0 : -1, {});
    closedir(d);
  });
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop = true;
  for (auto& th : threads) th.join();

  EXPECT_TRUE(tally.unexpected().empty()) << [&] {
    std::string s = "unexpected errors:";
    for (auto& [what, n] : tally.unexpected()) s += " [" + what + " x" + std::to_string(n) + "]";
    return s;
  }();
  EXPECT_GT(tally.ops(), 1000) << "the workload barely ran";
  RecordProperty("operations", static_cast<int>(tally.ops()));
  ASSERT_TRUE(daemon().Running()) << "the daemon died under concurrent load";

  // The mount shows exactly what SOURCE holds.
  const auto on_mount = ListDir(dir);
  const auto in_source = ListDir(Src("work"));
  EXPECT_EQ(on_mount, in_source);
  for (const auto& name : in_source) {
    struct stat m, s;
    ASSERT_EQ(lstat((dir + "/" + name).c_str(), &m), 0) << name << ": " << ErrnoName(errno);
    ASSERT_EQ(lstat(Src("work/" + name).c_str(), &s), 0) << name;
    EXPECT_EQ(m.st_ino, s.st_ino) << name;
    EXPECT_EQ(m.st_mode, s.st_mode) << name;
    EXPECT_EQ(m.st_size, s.st_size) << name;
    EXPECT_EQ(m.st_nlink, s.st_nlink) << name;
  }
  // And it still serves new work.
  EXPECT_TRUE(WriteFile(dir + "/after", "after"));
  EXPECT_EQ(ReadFileOrError(Src("work/after")), "after");
}

// Many concurrent opens and closes leave no fd behind in the daemon.
TEST_P(ConcurrencyTest, NoFdLeakAfterManyOpens) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(WriteFile(Mnt("f" + std::to_string(i)), "x"));
  }
  const int baseline = daemon().CountOpenFds();
  ASSERT_GT(baseline, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        std::vector<int> fds;
        for (int i = 0; i < 50; ++i) {
          fds.push_back(
              open(Mnt("f" + std::to_string((i + t) % 50)).c_str(), round % 2 ? O_RDONLY : O_RDWR));
        }
        for (int fd : fds) {
          if (fd >= 0) close(fd);
        }
        DIR* d = opendir(mnt().c_str());
        if (d != nullptr) {
          while (readdir(d) != nullptr) {
          }
          closedir(d);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  // Releases are asynchronous: give them a moment to arrive.
  int now = 0;
  for (int i = 0; i < 100; ++i) {
    now = daemon().CountOpenFds();
    if (now <= baseline + 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LE(now, baseline + 2) << "daemon fds: " << baseline << " before, " << now << " after";
}

INSTANTIATE_TEST_SUITE_P(
    Mount, ConcurrencyTest,
    testing::ValuesIn(Variants({"threads4", "served_threads3", "uring_served_nocache"})),
    VariantName);

}  // namespace
}  // namespace ptfs::mounttest
