// The io_uring transport on a real mount: it is in force and carries the
// requests, lock waits parked beyond a queue's entries do not starve it, a
// SIGTERM under load ends it cleanly, and --transport=auto falls back with one
// log line when the kernel does not offer it. The parity, POSIX, concurrency,
// lock-waiter and data-path suites also run a `uring` variant (see
// ParityVariants and tests/datapath).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

using Clock = std::chrono::steady_clock;

int CountLines(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

// A lock of `type` on the whole file (l_pid 0, as the F_OFD_* commands want).
struct flock WholeFile(short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  return fl;
}

class UringTest : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--transport=uring", "--nocache", "--passthrough=off", "-o", "allow_other"};
  }
};

TEST_F(UringTest, InForceAndCarriesTheRequests) {
  ASSERT_TRUE(WriteFile(Src("f"), "data"));
  struct stat st;
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(stat(Mnt("f").c_str(), &st), 0);
  EXPECT_EQ(ReadFileOrError(Mnt("f")), "data");
  const std::string log = daemon().Log();
  EXPECT_EQ(CountLines(log, "transport: "), 1) << log;
  EXPECT_EQ(CountLines(log, "transport: io_uring"), 1) << log;
  auto s = daemon().Stats();
  // --nocache: each stat is a LOOKUP (and GETATTR) through the rings.
  EXPECT_GE(s["requests_via_uring"], 1000);
  EXPECT_LE(s["requests_via_dev"], 10) << "only INIT (and FORGETs) use /dev/fuse";
  EXPECT_GE(s["uring_entries"], 8) << "at least one queue of entries";
  // Every kernel with FUSE over io_uring (6.14+) has DEFER_TASKRUN (6.1+).
  EXPECT_EQ(s["uring_defer_taskrun"], 1);
}

// More SETLKW waiters than a queue has entries, all on one CPU (so on one
// queue), plus the holder's unlock from the same CPU. Each parked wait keeps
// its ring entry until granted; without new entries the queue would run dry
// and the unlock would never reach the daemon.
TEST_F(UringTest, ParkedLockWaitsDoNotStarveTheQueue) {
  ASSERT_TRUE(WriteFile(Src("lock"), "x"));
  const std::string path = Mnt("lock");
  int to_holder[2], from_holder[2], acquired[2];
  ASSERT_EQ(pipe(to_holder), 0);
  ASSERT_EQ(pipe(from_holder), 0);
  ASSERT_EQ(pipe(acquired), 0);
  pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    PinTo(0);
    int fd = open(path.c_str(), O_RDWR);
    struct flock lk = WholeFile(F_WRLCK);
    char ok = fd >= 0 && fcntl(fd, F_SETLK, &lk) == 0 ? 'L' : 'E';
    (void)!write(from_holder[1], &ok, 1);
    char c;
    (void)!read(to_holder[0], &c, 1);
    close(fd);  // releases the lock: a FLUSH from CPU 0's queue
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(from_holder[0], &c, 1), 1);
  ASSERT_EQ(c, 'L');
  constexpr int kWaiters = 24;  // > 8 entries per queue, > 16 over both queues
  std::vector<pid_t> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    pid_t w = fork();
    ASSERT_GE(w, 0);
    if (w == 0) {
      PinTo(0);
      int fd = open(path.c_str(), O_RDWR);
      struct flock lk = WholeFile(F_WRLCK);
      char r = fd >= 0 && fcntl(fd, F_SETLKW, &lk) == 0 ? 'A' : 'E';
      (void)!write(acquired[1], &r, 1);
      close(fd);
      _exit(0);
    }
    waiters.push_back(w);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let them park
  auto s = daemon().Stats();
  EXPECT_GT(s["uring_entries"], 16) << "the queue added entries for the parked waits";
  ASSERT_EQ(write(to_holder[1], "c", 1), 1);
  int got = 0;
  close(acquired[1]);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (got < kWaiters && Clock::now() < deadline) {
    char r;
    if (read(acquired[0], &r, 1) != 1) break;
    EXPECT_EQ(r, 'A');
    ++got;
  }
  EXPECT_EQ(got, kWaiters) << "waiters that got the lock";
  if (got < kWaiters) {
    for (pid_t w : waiters) kill(w, SIGKILL);
  }
  for (pid_t w : waiters) waitpid(w, nullptr, 0);
  waitpid(holder, nullptr, 0);
  for (int fd : {to_holder[0], to_holder[1], from_holder[0], from_holder[1], acquired[0]}) {
    close(fd);
  }
}

// SIGTERM while callers keep the rings busy: the daemon unmounts, its ring
// threads see their commands end with ENOTCONN, and it exits 0.
TEST_F(UringTest, SigtermUnderLoadEndsCleanly) {
  ASSERT_TRUE(WriteFile(Src("f"), std::string(1 << 20, 'a')));
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&] {
      char buf[65536];
      while (!stop.load()) {
        int fd = open(Mnt("f").c_str(), O_RDONLY);
        if (fd < 0) continue;
        while (read(fd, buf, sizeof buf) > 0) {
        }
        close(fd);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long before = daemon().Stats()["requests_via_uring"];
  EXPECT_GT(before, 0);
  ASSERT_EQ(kill(daemon().pid(), SIGTERM), 0);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (daemon().Running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_FALSE(daemon().Running()) << "the daemon did not exit after SIGTERM";
  EXPECT_NE(daemon().Log().find("unmounted"), std::string::npos) << daemon().Log();
  // TearDown's Stop() checks the exit status (0).
}

class UringFallbackTest : public MountTestBase {
 protected:
  bool WantMount() const override { return false; }
  void TearDown() override {
    // Leave the kernel offering io_uring, as the other uring tests expect.
    EXPECT_TRUE(EnableUring());
    MountTestBase::TearDown();
  }
};

// Requests that may block for long (fsync, fallocate, copy_file_range) must
// not hold up the one thread of a CPU's queue: they run on the BlockingOps
// threads and are answered from there, with the same results.
TEST_F(UringTest, RequestsThatMayBlockRunOffTheQueueThreads) {
  ASSERT_TRUE(WriteFile(Mnt("a"), std::string(1 << 20, 'a')));
  const int fd = open(Mnt("a").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "xyz", 3, 10), 3);
  EXPECT_EQ(fsync(fd), 0);
  EXPECT_EQ(fdatasync(fd), 0);
  EXPECT_EQ(fallocate(fd, 0, 0, 4 << 20), 0);
  const int out = open(Mnt("b").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(out, 0);
  loff_t in_off = 0, out_off = 0;
  EXPECT_EQ(copy_file_range(fd, &in_off, out, &out_off, 1 << 20, 0), 1 << 20);
  close(out);
  close(fd);
  struct stat st;
  ASSERT_EQ(stat(Src("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4 << 20);
  const std::string b = ReadFileOrError(Src("b"));
  ASSERT_EQ(b.size(), 1u << 20);
  EXPECT_EQ(b.substr(8, 7), "aaxyzaa");
  auto s = daemon().Stats();
  EXPECT_GE(s["requests_offloaded"], 4) << "fsync, fdatasync, fallocate, copy_file_range";
  EXPECT_TRUE(daemon().RingCarriedTheRequests());
}


// With the rings serving requests, the /dev/fuse readers pause after a FORGET
// so that the forgets of a bulk removal reach the daemon in a few batches
// instead of one wake-up per evicted inode; and every one of them still
// arrives (the inode table empties). Without the pause, 2,000 unlinks gave
// about 1,500 FORGET/BATCH_FORGET messages.
TEST_F(UringTest, ForgetsOfABulkRemovalArriveInBatches) {
  constexpr int kFiles = 2000;
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(WriteFile(Src("f" + std::to_string(i)), ""));
  }
  struct stat st;
  for (int i = 0; i < kFiles; ++i) ASSERT_EQ(stat(Mnt("f" + std::to_string(i)).c_str(), &st), 0);
  auto before = daemon().Stats();
  ASSERT_GE(before["inodes"], kFiles);
  for (int i = 0; i < kFiles; ++i) ASSERT_EQ(unlink(Mnt("f" + std::to_string(i)).c_str()), 0);
  std::map<std::string, long> after;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = daemon().Stats();
  } while (after["inodes"] > 2 && Clock::now() < deadline);
  EXPECT_LE(after["inodes"], 2) << "the root (and at most one other) left: every unlinked "
                                   "file's FORGET arrived";
  const long messages = after["opcode_FORGET"] + after["opcode_BATCH_FORGET"] -
                        before["opcode_FORGET"] - before["opcode_BATCH_FORGET"];
  EXPECT_GT(messages, 0);
  EXPECT_LE(messages, kFiles / 4) << "forgets of " << kFiles << " inodes in " << messages
                                  << " messages";
  EXPECT_TRUE(daemon().RingCarriedTheRequests());
}
// The daemon's CPU time so far (user + system, all threads), in clock ticks.
long CpuTicks(pid_t pid) {
  std::string stat = ReadFileOrError("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  // After "pid (comm)": state is field 3; utime and stime are fields 14, 15.
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// Back-to-back requests from one caller: polling after each request (on by
// default, --poll-us=200) catches most of the following ones, and once the
// requests stop the threads go back to sleep: an idle daemon uses no CPU.
TEST_F(UringTest, PollingCatchesBackToBackRequestsAndStopsWhenIdle) {
  ASSERT_TRUE(WriteFile(Src("f"), "data"));
  auto before = daemon().Stats();
  struct stat st;
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(stat(Mnt("f").c_str(), &st), 0);  // --nocache: 2 each
  auto after = daemon().Stats();
  const long hits = after["uring_poll_hits"] - before["uring_poll_hits"];
  EXPECT_GE(hits, 500) << "of 2000 requests in a row, most arrive while their queue's thread "
                          "polls (the window opens after the first few)";
  EXPECT_TRUE(daemon().RingCarriedTheRequests());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const long misses = daemon().Stats()["uring_poll_misses"];
  const long ticks = CpuTicks(daemon().pid());
  ASSERT_GE(ticks, 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_LE(CpuTicks(daemon().pid()) - ticks, 1) << "an idle daemon burns no CPU polling";
  EXPECT_EQ(daemon().Stats()["uring_poll_misses"], misses) << "no poll window opens when idle";
}

class UringPollOffTest : public UringTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    auto args = UringTest::DaemonArgs();
    args.push_back("--poll-us=0");
    return args;
  }
};

TEST_F(UringPollOffTest, NoPollingWithPollUsZero) {
  ASSERT_TRUE(WriteFile(Src("f"), "data"));
  struct stat st;
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(stat(Mnt("f").c_str(), &st), 0);
  auto s = daemon().Stats();
  EXPECT_EQ(s["uring_poll_hits"], 0);
  EXPECT_EQ(s["uring_poll_misses"], 0);
  EXPECT_TRUE(daemon().RingCarriedTheRequests());
}

// How a closed holder's lock is looked at by the other process.
enum class LockProbe { kOfdGetlk, kOfdSetlk, kFlock };

// `rounds` times: a child on CPU 0 takes a lock on `path` (an OFD write lock,
// or flock) through an fd of its own, closes it and tells this process, which
// (on CPU 1) at once asks for the same lock through `mine`. Natively the lock
// is gone when close() has returned. Returns the rounds that still saw it,
// or -1 if a child failed.
int RoundsThatSawAClosedLock(const std::string& path, int mine, LockProbe probe, int rounds) {
  cpu_set_t was;
  sched_getaffinity(0, sizeof(was), &was);
  PinTo(1);
  struct Unpin {
    cpu_set_t* was;
    ~Unpin() { sched_setaffinity(0, sizeof(*was), was); }
  } unpin{&was};
  int saw = 0;
  for (int i = 0; i < rounds; ++i) {
    int done[2];
    if (pipe(done) != 0) return -1;
    const pid_t child = fork();
    if (child == 0) {
      PinTo(0);
      const int fd = open(path.c_str(), O_RDWR);
      struct flock fl = WholeFile(F_WRLCK);
      const bool locked = probe == LockProbe::kFlock ? flock(fd, LOCK_EX | LOCK_NB) == 0
                                                     : fcntl(fd, F_OFD_SETLK, &fl) == 0;
      close(fd);
      const char c = 'x';
      _exit(locked && write(done[1], &c, 1) == 1 ? 0 : 1);
    }
    close(done[1]);
    char c;
    const bool told = read(done[0], &c, 1) == 1;
    close(done[0]);
    if (told) {
      struct flock fl = WholeFile(F_WRLCK);
      switch (probe) {
        case LockProbe::kOfdGetlk:
          if (fcntl(mine, F_OFD_GETLK, &fl) != 0 || fl.l_type != F_UNLCK) ++saw;
          break;
        case LockProbe::kOfdSetlk:
          if (fcntl(mine, F_OFD_SETLK, &fl) != 0) {
            ++saw;
          } else {
            fl.l_type = F_UNLCK;
            fcntl(mine, F_OFD_SETLK, &fl);
          }
          break;
        case LockProbe::kFlock:
          if (flock(mine, LOCK_EX | LOCK_NB) != 0) {
            ++saw;
          } else {
            flock(mine, LOCK_UN);
          }
          break;
      }
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!told || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  }
  return saw;
}

// Regression (fstests generic/478): an OFD lock or flock ends at the RELEASE
// of its file's last close, which the kernel sends on the queue of the CPU
// where the close ran. A lock request another process makes right after
// arrives on its own CPU's queue and used to be answered before that RELEASE
// was handled: it saw the lock of a closed file (in most rounds here). A
// conflict now first lets the other queues handle what was sent before it.
TEST_F(UringTest, ALockIsGoneOnceItsFileIsClosedWhateverQueueItsReleaseTook) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs two CPUs (two queues)";
  ASSERT_TRUE(WriteFile(Src("lock"), "x"));
  const std::string path = Mnt("lock");
  const int mine = open(path.c_str(), O_RDWR);
  ASSERT_GE(mine, 0);
  constexpr int kRounds = 200;
  EXPECT_EQ(RoundsThatSawAClosedLock(path, mine, LockProbe::kOfdGetlk, kRounds), 0)
      << "F_OFD_GETLK reported the lock of a closed file";
  EXPECT_EQ(RoundsThatSawAClosedLock(path, mine, LockProbe::kOfdSetlk, kRounds), 0)
      << "F_OFD_SETLK was refused for the lock of a closed file";
  EXPECT_EQ(RoundsThatSawAClosedLock(path, mine, LockProbe::kFlock, kRounds), 0)
      << "flock(LOCK_NB) was refused for the lock of a closed file";
  auto s = daemon().Stats();
  EXPECT_TRUE(daemon().RingCarriedTheRequests());
  // The races did happen, and the wait is what cleared them.
  EXPECT_GE(s["lock_conflicts_cleared"], 1) << "no round found the closed lock still held";
  EXPECT_EQ(s["lock_conflicts_cleared"], s["lock_conflicts_settled"]);
  EXPECT_EQ(s["uring_settle_timeouts"], 0);

  // A lock that is really held is still reported, after a wait bounded by
  // how long the other queue takes to answer, not by the 50 ms limit.
  const int holder = open(path.c_str(), O_RDWR);
  ASSERT_GE(holder, 0);
  struct flock fl = WholeFile(F_WRLCK);
  ASSERT_EQ(fcntl(holder, F_OFD_SETLK, &fl), 0);
  const auto t0 = Clock::now();
  constexpr int kProbes = 50;
  for (int i = 0; i < kProbes; ++i) {
    struct flock probe = WholeFile(F_WRLCK);
    ASSERT_EQ(fcntl(mine, F_OFD_GETLK, &probe), 0);
    EXPECT_EQ(probe.l_type, F_WRLCK);
    probe = WholeFile(F_RDLCK);  // F_OFD_GETLK set l_pid to -1
    EXPECT_EQ(fcntl(mine, F_OFD_SETLK, &probe), -1);
    EXPECT_EQ(errno, EAGAIN);
  }
  const auto per_probe = (Clock::now() - t0) / (2 * kProbes);
  EXPECT_LT(per_probe, std::chrono::milliseconds(5));
  auto after = daemon().Stats();
  EXPECT_EQ(after["lock_conflicts_settled"] - s["lock_conflicts_settled"], 2 * kProbes);
  EXPECT_EQ(after["lock_conflicts_cleared"], s["lock_conflicts_cleared"]);
  EXPECT_EQ(after["uring_settle_timeouts"], 0);
  close(holder);
  close(mine);
}

// Over /dev/fuse requests come through one queue in order: a conflict is
// answered at once, without waiting for queues that do not exist.
class DevTransportLockTest : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"--transport=dev"}; }
};

TEST_F(DevTransportLockTest, ConflictsAreAnsweredWithoutSettling) {
  ASSERT_TRUE(WriteFile(Src("lock"), "x"));
  const int holder = open(Mnt("lock").c_str(), O_RDWR);
  const int mine = open(Mnt("lock").c_str(), O_RDWR);
  ASSERT_GE(holder, 0);
  ASSERT_GE(mine, 0);
  struct flock fl = WholeFile(F_WRLCK);
  ASSERT_EQ(fcntl(holder, F_OFD_SETLK, &fl), 0);
  for (int i = 0; i < 10; ++i) {
    struct flock probe = WholeFile(F_WRLCK);
    ASSERT_EQ(fcntl(mine, F_OFD_GETLK, &probe), 0);
    EXPECT_EQ(probe.l_type, F_WRLCK);
  }
  auto s = daemon().Stats();
  EXPECT_EQ(s["transport_uring"], 0);
  EXPECT_EQ(s["lock_conflicts_settled"], 0);
  close(holder);
  close(mine);
}

// Regression: the daemon blocked its signals only after mounting, so a
// SIGUSR1 (stats) sent as soon as the mount showed up killed it and left
// the mount behind. Each round asks for stats right after Start.
class EarlySignalTest : public MountTestBase {
 protected:
  bool WantMount() const override { return false; }
};

TEST_F(EarlySignalTest, StatsRightAfterTheMountAppearsDoNotKillTheDaemon) {
  for (int round = 0; round < 5; ++round) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      execl(PTFS_DAEMON, PTFS_DAEMON, "-f", src().c_str(), mnt().c_str(), nullptr);
      _exit(127);
    }
    // Signal the instant the mount shows up (no sleep between polls).
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!IsMounted(mnt()) && Clock::now() < deadline) {
    }
    ASSERT_TRUE(IsMounted(mnt()));
    kill(pid, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int status = 0;
    const pid_t gone = waitpid(pid, &status, WNOHANG);
    EXPECT_EQ(gone, 0) << "the daemon died of the stats signal (status " << status
                       << "), leaving its mount behind";
    if (gone == 0) {
      kill(pid, SIGTERM);
      waitpid(pid, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    } else {
      umount2(mnt().c_str(), MNT_DETACH);
    }
    ASSERT_FALSE(IsMounted(mnt()));
  }
}

// enable_uring=N: --transport=auto serves over /dev/fuse and says why in one
// line; --transport=uring refuses to run.
TEST_F(UringFallbackTest, AutoFallsBackWithOneLineUringFails) {
  ASSERT_TRUE(EnableUring());  // loads the module; then turn it off
  {
    int fd = open("/sys/module/fuse/parameters/enable_uring", O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "N", 1), 1);
    close(fd);
  }
  {
    Daemon d;
    ASSERT_TRUE(d.Start(src(), mnt(), {"--transport=auto", "--nocache"}, root() + "/auto.log"));
    ASSERT_TRUE(WriteFile(Src("f"), "x"));
    struct stat st;
    EXPECT_EQ(stat(Mnt("f").c_str(), &st), 0);
    auto s = d.Stats();
    EXPECT_EQ(s["transport_uring"], 0);
    EXPECT_EQ(s["requests_via_uring"], 0);
    EXPECT_GT(s["requests_via_dev"], 1);
    const std::string log = d.Log();
    EXPECT_EQ(CountLines(log, "transport: "), 1) << log;
    EXPECT_EQ(CountLines(log, "transport: /dev/fuse (--transport=auto: FUSE io_uring is disabled"),
              1)
        << log;
    EXPECT_TRUE(d.Stop());
  }
  {
    Daemon d;
    EXPECT_FALSE(d.Start(src(), mnt(), {"--transport=uring"}, root() + "/uring.log"));
    EXPECT_NE(d.Log().find("--transport=uring: FUSE io_uring is disabled"), std::string::npos)
        << d.Log();
    EXPECT_FALSE(IsMounted(mnt()));
  }
}

}  // namespace
}  // namespace ptfs::mounttest
