// --restartable (issue 21): the serving process is killed with SIGKILL again
// and again while a writer keeps files open and writes, a lister lists and
// stats a tree, and a directory is held open as a working directory would
// be. The supervisor starts a new server each time, which takes over the
// connection: no operation fails, the data equals SOURCE's, the open fds
// and the held directory go on working, and the backing ids are taken over
// (none leaks, none is lost). Prints how long the mount was unavailable per
// restart (a stat of a name never looked up, issued right after the kill).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sys/fd.h"
#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

using Clock = std::chrono::steady_clock;

// The serving child of the supervisor `pid` (0 if none yet).
pid_t ServerOf(pid_t supervisor) {
  const std::string path = "/proc/" + std::to_string(supervisor) + "/task/" +
                           std::to_string(supervisor) + "/children";
  std::ifstream in(path);
  pid_t child = 0;
  in >> child;
  return child;
}

// Waits until the supervisor has a serving child other than `not_this`.
pid_t WaitForServer(pid_t supervisor, pid_t not_this) {
  for (int i = 0; i < 1000; ++i) {
    const pid_t p = ServerOf(supervisor);
    if (p != 0 && p != not_this) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 0;
}

class Restartable : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"--restartable"}; }
};

TEST_F(Restartable, KilledServersAreReplacedWithoutAFailedOperation) {
  constexpr int kKills = 20;
  // A tree for the lister, and a file the reader holds open.
  ASSERT_EQ(mkdir(Src("tree").c_str(), 0755), 0);
  for (int i = 0; i < 50; ++i) {
    std::ofstream(Src("tree/f" + std::to_string(i))) << "file " << i;
  }
  std::ofstream(Src("r")) << "read me";
  ASSERT_EQ(mkdir(Src("cwd").c_str(), 0755), 0);
  std::ofstream(Src("cwd/here")) << "here";
  daemon().SettleWatch();

  sys::UniqueFd reader(open(Mnt("r").c_str(), O_RDONLY));
  ASSERT_TRUE(reader.valid());
  sys::UniqueFd cwd(open(Mnt("cwd").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(cwd.valid());
  sys::UniqueFd writer(open(Mnt("w").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
  ASSERT_TRUE(writer.valid());

  std::atomic<bool> stop{false};
  std::atomic<long> write_errors{0}, list_errors{0}, lists{0}, written{0};
  std::string last_list_error;
  // The writer: appends numbered records through its open fd.
  std::thread write_loop([&] {
    for (long n = 0; !stop.load(); ++n) {
      char rec[32];
      const int len = snprintf(rec, sizeof rec, "record %08ld\n", n);
      if (pwrite(writer.get(), rec, len, n * len) != len) {
        ++write_errors;
        continue;
      }
      written.store(n + 1);
    }
  });
  // The lister: lists the tree and stats every entry, again and again.
  std::thread list_loop([&] {
    while (!stop.load()) {
      DIR* d = opendir(Mnt("tree").c_str());
      if (d == nullptr) {
        ++list_errors;
        last_list_error = std::string("opendir: ") + strerror(errno);
        continue;
      }
      int n = 0;
      errno = 0;
      while (struct dirent* e = readdir(d)) {
        ++n;
        struct stat st;
        if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, 0) != 0) {
          ++list_errors;
          last_list_error = std::string("stat ") + e->d_name + ": " + strerror(errno);
        }
      }
      if (errno != 0 || n != 52) {
        ++list_errors;
        last_list_error = "readdir: " + std::to_string(n) + " entries, " + strerror(errno);
      }
      closedir(d);
      ++lists;
    }
  });

  // Stops and joins the load on every way out of this test.
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& a;
    std::thread& b;
    ~Joiner() {
      stop.store(true);
      if (a.joinable()) a.join();
      if (b.joinable()) b.join();
    }
  } joiner{stop, write_loop, list_loop};

  const pid_t supervisor = daemon().pid();
  pid_t server = WaitForServer(supervisor, 0);
  ASSERT_NE(server, 0);
  std::vector<double> unavailable_ms;
  for (int k = 0; k < kKills; ++k) {
    // The load runs meanwhile. (A server that lives less than 500 ms counts
    // as a crash loop for the supervisor: ten in a row and it gives up.)
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    ASSERT_EQ(kill(server, SIGKILL), 0);
    const auto t0 = Clock::now();
    // A name never looked up: its LOOKUP must be answered by a server.
    struct stat st;
    const int rc = stat(Mnt("probe" + std::to_string(k)).c_str(), &st);
    const int err = errno;
    unavailable_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    EXPECT_EQ(rc, -1);
    EXPECT_EQ(err, ENOENT) << "kill " << k << ": " << strerror(err);
    const pid_t next = WaitForServer(supervisor, server);
    ASSERT_NE(next, 0) << "no new server after kill " << k << "\n" << daemon().Log();
    server = next;
    // The held directory works as a cwd: by-name operations in it.
    EXPECT_EQ(fstatat(cwd.get(), "here", &st, 0), 0) << strerror(errno);
    char buf[16] = {};
    EXPECT_EQ(pread(reader.get(), buf, sizeof buf, 0), 7);
    EXPECT_STREQ(buf, "read me");
  }
  stop.store(true);
  write_loop.join();
  list_loop.join();

  EXPECT_EQ(write_errors.load(), 0);
  EXPECT_EQ(list_errors.load(), 0) << last_list_error;
  EXPECT_GT(lists.load(), kKills);
  // What was written through the mount is in SOURCE, record for record.
  ASSERT_EQ(fsync(writer.get()), 0);
  const long n = written.load();
  std::ifstream in(Src("w"));
  std::stringstream host;
  host << in.rdbuf();
  std::string want;
  for (long i = 0; i < n; ++i) {
    char rec[32];
    snprintf(rec, sizeof rec, "record %08ld\n", i);
    want += rec;
  }
  EXPECT_EQ(host.str().size(), want.size());
  EXPECT_TRUE(host.str() == want) << "SOURCE's copy differs from what was written";
  // The writer's and the reader's backings were taken over: both files
  // still pass through, and closing them leaves none open but idle ones.
  auto stats = daemon().Stats();
  EXPECT_GE(stats["restored_backings"], 1);
  EXPECT_GE(stats["restored_files"], 2);
  EXPECT_EQ(stats["restore_failures"], 0);
  writer = sys::UniqueFd();
  reader = sys::UniqueFd();
  cwd = sys::UniqueFd();
  stats = daemon().Stats();
  EXPECT_EQ(stats["backing_open_now"], stats["backing_idle_now"]);
  EXPECT_EQ(stats["open_files"], 0);

  std::sort(unavailable_ms.begin(), unavailable_ms.end());
  printf("[ restart ] %d kill -9 restarts under load: mount unavailable median %.1f ms, max %.1f "
         "ms; %ld records written, %ld listings\n",
         kKills, unavailable_ms[unavailable_ms.size() / 2], unavailable_ms.back(), n,
         lists.load());
}

// The supervisor ends with the mount: unmounting stops the server (exit 0)
// and the supervisor after it, and SIGTERM to the supervisor unmounts.
TEST_F(Restartable, SigtermToTheSupervisorUnmounts) {
  const pid_t supervisor = daemon().pid();
  const pid_t server = WaitForServer(supervisor, 0);
  ASSERT_NE(server, 0);
  ASSERT_EQ(kill(supervisor, SIGTERM), 0);
  // Forwarded to the server, which unmounts and exits 0; so does the
  // supervisor (Stop checks both: exit status 0 and no mount left).
  for (int i = 0; i < 500 && daemon().Running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(daemon().Stop());
  EXPECT_NE(kill(server, 0), 0);  // the server is gone too
}

}  // namespace
}  // namespace ptfs::mounttest
