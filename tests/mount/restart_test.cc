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
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sys/fd.h"
#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

using Clock = std::chrono::steady_clock;

// The serving child of the supervisor `pid` (0 if none yet): a child that
// has not ended (a server that handed over may not be reaped yet).
pid_t ServerOf(pid_t supervisor) {
  const std::string path = "/proc/" + std::to_string(supervisor) + "/task/" +
                           std::to_string(supervisor) + "/children";
  std::ifstream in(path);
  for (pid_t child; in >> child;) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z') {
      return child;
    }
  }
  return 0;
}

// What the supervisor's children are doing (for a failure message).
std::string ChildrenStates(pid_t supervisor) {
  std::ifstream in("/proc/" + std::to_string(supervisor) + "/task/" +
                   std::to_string(supervisor) + "/children");
  std::string out;
  for (pid_t child; in >> child;) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string line;
    std::getline(stat, line);
    out += line.substr(0, 40) + "\n";
  }
  return out.empty() ? "no children\n" : out;
}

// Waits (up to 10 s) until the supervisor has a serving child other than
// `not_this`. (How long a replacement really takes is what the prober
// measures; this only waits for it.)
pid_t WaitForServer(pid_t supervisor, pid_t not_this) {
  for (int i = 0; i < 5000; ++i) {
    const pid_t p = ServerOf(supervisor);
    if (p != 0 && p != not_this) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 0;
}

// Whether another process can write-lock all of `path` right now.
bool OtherProcessCanLock(const std::string& path) {
  const pid_t child = fork();
  if (child == 0) {
    const int fd = open(path.c_str(), O_RDWR);
    struct flock fl{};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    _exit(fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class Restartable : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"--restartable"}; }

  // Replaces the serving process `times` times under load: a writer keeps
  // a file open and writes records through it, a lister lists a tree and
  // stats every entry, a reader holds a file open and a directory is held
  // open as a working directory would be. `replace(server)` does one
  // replacement (kill -9, or an upgrade); right after it a stat of a name
  // never looked up measures how long the mount did not answer. Then:
  // no operation failed, SOURCE holds what was written, and the held files
  // still work.
  // Takes a file handle of `name` through the mount, kills the server,
  // makes the kernel (and the host) forget the inode, and opens the handle:
  // what it reads, or why it could not.
  std::string ReadByHandleAcrossKill(const std::string& name) {
    std::vector<unsigned char> bytes(sizeof(file_handle) + 128);
    auto* handle = reinterpret_cast<file_handle*>(bytes.data());
    handle->handle_bytes = 128;
    int mount_id;
    if (name_to_handle_at(AT_FDCWD, Mnt(name).c_str(), handle, &mount_id, 0) != 0) {
      return std::string("name_to_handle_at: ") + strerror(errno);
    }
    const pid_t supervisor = daemon().pid();
    const pid_t server = WaitForServer(supervisor, 0);
    if (server == 0 || kill(server, SIGKILL) != 0) return "no server to kill";
    if (WaitForServer(supervisor, server) == 0) return "no new server";
    sync();
    {
      std::ofstream drop("/proc/sys/vm/drop_caches");
      drop << "2";
    }
    sys::UniqueFd mount_fd(open(mnt().c_str(), O_RDONLY | O_DIRECTORY));
    sys::UniqueFd fd(open_by_handle_at(mount_fd.get(), handle, O_RDONLY));
    if (!fd.valid()) return std::string("open_by_handle_at: ") + strerror(errno);
    char buf[64] = {};
    const ssize_t n = read(fd.get(), buf, sizeof buf - 1);
    return n < 0 ? std::string("read: ") + strerror(errno) : std::string(buf, n);
  }

  // Makes SOURCE/locked and write-locks all of it through the mount, from
  // this process; the fd holding the lock goes to *fd.
  void LockThroughMount(sys::UniqueFd* fd) {
    std::ofstream(Src("locked")) << "x";
    daemon().SettleWatch();
    *fd = sys::UniqueFd(open(Mnt("locked").c_str(), O_RDWR));
    ASSERT_TRUE(fd->valid());
    struct flock fl{};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    ASSERT_EQ(fcntl(fd->get(), F_SETLK, &fl), 0) << strerror(errno);
  }

  // A write lock held through the mount, then the server killed: whether
  // the lock is still there (`kept`) or another process can take it.
  void HoldLockAcrossKill(bool kept) {
    sys::UniqueFd fd;
    ASSERT_NO_FATAL_FAILURE(LockThroughMount(&fd));
    EXPECT_FALSE(OtherProcessCanLock(Mnt("locked")));
    const pid_t supervisor = daemon().pid();
    const pid_t server = WaitForServer(supervisor, 0);
    ASSERT_EQ(kill(server, SIGKILL), 0);
    ASSERT_NE(WaitForServer(supervisor, server), 0);
    EXPECT_EQ(OtherProcessCanLock(Mnt("locked")), !kept);
  }

  void ReplaceUnderLoad(const char* what, int times, const std::function<void(pid_t)>& replace) {
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
    // The writer: numbered records through its open fd.
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
    // The prober: stats names never looked up (each LOOKUP must reach a
    // server), one after another, recording when each started and how long
    // it took: the longest around a replacement is how long the mount did
    // not answer.
    struct Probe {
      Clock::time_point start;
      double ms;
    };
    std::vector<Probe> probes;
    std::atomic<long> probe_errors{0};
    std::thread probe_loop([&] {
      for (long i = 0; !stop.load(); ++i) {
        struct stat st;
        const auto t = Clock::now();
        const int rc = stat(Mnt("absent" + std::to_string(i)).c_str(), &st);
        if (rc == 0 || errno != ENOENT) ++probe_errors;
        probes.push_back({t, std::chrono::duration<double, std::milli>(Clock::now() - t).count()});
      }
    });
    // Stops and joins the load on every way out of this function.
    struct Joiner {
      std::atomic<bool>& stop;
      std::vector<std::thread*> threads;
      ~Joiner() {
        stop.store(true);
        for (std::thread* t : threads) {
          if (t->joinable()) t->join();
        }
      }
    } joiner{stop, {&write_loop, &list_loop, &probe_loop}};

    const pid_t supervisor = daemon().pid();
    pid_t server = WaitForServer(supervisor, 0);
    ASSERT_NE(server, 0);
    std::vector<Clock::time_point> replaced_at;
    for (int k = 0; k < times; ++k) {
      // The load runs meanwhile. (A server that lives less than 500 ms
      // counts as a crash loop for the supervisor: ten in a row and it
      // gives up.)
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      replaced_at.push_back(Clock::now());
      replace(server);
      // A name never looked up: its LOOKUP must be answered by a server.
      struct stat st;
      const int rc = stat(Mnt("probe" + std::to_string(k)).c_str(), &st);
      const int err = errno;
      EXPECT_EQ(rc, -1);
      EXPECT_EQ(err, ENOENT) << what << " " << k << ": " << strerror(err);
      const pid_t next = WaitForServer(supervisor, server);
      ASSERT_NE(next, 0) << "no new server after " << what << " " << k << "; the supervisor's "
                         << "children:\n" << ChildrenStates(supervisor) << daemon().Log();
      server = next;
      // The held directory works as a cwd: by-name operations in it.
      EXPECT_EQ(fstatat(cwd.get(), "here", &st, 0), 0) << strerror(errno);
      char buf[16] = {};
      EXPECT_EQ(pread(reader.get(), buf, sizeof buf, 0), 7);
      EXPECT_STREQ(buf, "read me");
    }
    EXPECT_EQ(ServerOf(supervisor), server);
    stop.store(true);
    write_loop.join();
    list_loop.join();
    probe_loop.join();
    EXPECT_EQ(probe_errors.load(), 0);
    // Per replacement: the longest probe running within 500 ms of it.
    std::vector<double> unavailable_ms;
    for (const Clock::time_point t0 : replaced_at) {
      double worst = 0;
      for (const Probe& p : probes) {
        const auto end = p.start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double, std::milli>(p.ms));
        if (end >= t0 && p.start <= t0 + std::chrono::milliseconds(500)) {
          worst = std::max(worst, p.ms);
        }
      }
      unavailable_ms.push_back(worst);
    }

    EXPECT_EQ(write_errors.load(), 0);
    EXPECT_EQ(list_errors.load(), 0) << last_list_error;
    EXPECT_GT(lists.load(), times);
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
    // The writer's and the reader's opens and backings were taken over:
    // both files still pass through, and once they are closed no backing
    // is left but idle ones.
    auto stats = daemon().Stats();
    EXPECT_EQ(stats["restored_files"], 2);
    EXPECT_EQ(stats["restored_backings"], 2);
    EXPECT_EQ(stats["restore_failures"], 0);
    EXPECT_EQ(stats["backing_open_now"], 2);
    writer = sys::UniqueFd();
    reader = sys::UniqueFd();
    cwd = sys::UniqueFd();
    // close(2) sends RELEASE without waiting for it: give it a moment.
    for (int i = 0; i < 100; ++i) {
      stats = daemon().Stats();
      if (stats["open_files"] == 0 && stats["backing_open_now"] == stats["backing_idle_now"]) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(stats["backing_open_now"], stats["backing_idle_now"]);
    EXPECT_EQ(stats["open_files"], 0);

    std::sort(unavailable_ms.begin(), unavailable_ms.end());
    printf("[ restart ] %d %s under load: mount unavailable median %.1f ms, max %.1f ms (the "
           "longest stat around each); %ld records written, %ld listings, %zu probes\n",
           times, what, unavailable_ms[unavailable_ms.size() / 2], unavailable_ms.back(), n,
           lists.load(), probes.size());
  }
};

TEST_F(Restartable, KilledServersAreReplacedWithoutAFailedOperation) {
  ReplaceUnderLoad("kill -9", 20, [](pid_t server) { ASSERT_EQ(kill(server, SIGKILL), 0); });
}

// An upgrade as `passthroughfs upgrade` makes it: SIGUSR2 to the supervisor,
// which execs the binary on disk; the running server answers what it holds
// and hands over.
TEST_F(Restartable, UpgradesReplaceTheServerWithoutAFailedOperation) {
  const pid_t supervisor = daemon().pid();
  ReplaceUnderLoad("upgrades", 20,
                   [supervisor](pid_t) { ASSERT_EQ(kill(supervisor, SIGUSR2), 0); });
  // Same supervisor process (exec'd), still holding the connection.
  EXPECT_EQ(daemon().pid(), supervisor);
  EXPECT_TRUE(daemon().Running());
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

// A file handle taken through the mount opens its file after the server was
// killed and the kernel dropped the inode and the host its name: the new
// server serves the nodeid, and knows the file was shown (SOURCE is a
// directory of a larger filesystem, where a file found by handle cannot be
// placed under SOURCE otherwise).
TEST_F(Restartable, HandlesOpenTheirFilesAfterARestartAndDropCaches) {
  std::ofstream(Src("h")) << "by handle";
  daemon().SettleWatch();
  EXPECT_EQ(ReadByHandleAcrossKill("h"), "by handle");
  auto stats = daemon().Stats();
  EXPECT_GE(stats["restored_shown_files"], 1);
  EXPECT_GE(stats["handles_decoded"], 1);
}

// With the nodeid table (--export-table; what btrfs and the like get), a
// restarted server reads the nodeids the dead one added to the table.
class RestartableTable : public Restartable {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--restartable", "--export-table", "--state-dir=" + root() + "/state"};
  }
};

TEST_F(RestartableTable, HandlesOpenTheirFilesAfterARestartAndDropCaches) {
  std::ofstream(Src("t")) << "by table";
  daemon().SettleWatch();
  // The first server gives "t" its nodeid when the handle is taken, after
  // the supervisor forked it: the supervisor's copy of the table never saw
  // it, the next server must read it from the table's file.
  EXPECT_EQ(ReadByHandleAcrossKill("t"), "by table");
}

// POSIX locks across a crash: kept by the kernel with --locks=kernel (none
// lost), kept by the server by default (lost with it: another process can
// then take a conflicting lock), as docs/persistent-identity.md says.
class RestartableKernelLocks : public Restartable {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--restartable", "--locks=kernel"};
  }
};

TEST_F(RestartableKernelLocks, KernelLocksSurviveACrash) { HoldLockAcrossKill(true); }

TEST_F(Restartable, ServerLocksAreLostInACrash) { HoldLockAcrossKill(false); }

// A request the dead server had read and not answered reaches the next
// one (FUSE_NOTIFY_RESEND): a lock wait parked in the server (F_SETLKW on a
// lock another process holds) is answered by the new server, which, the
// holder's lock gone with the old one, grants it.
TEST_F(Restartable, ARequestInTheDeadServersHandsIsResent) {
  sys::UniqueFd fd;
  ASSERT_NO_FATAL_FAILURE(LockThroughMount(&fd));
  int done[2];
  ASSERT_EQ(pipe(done), 0);
  const pid_t waiter = fork();
  if (waiter == 0) {
    const int wfd = open(Mnt("locked").c_str(), O_RDWR);
    struct flock w{};
    w.l_type = F_WRLCK;
    w.l_whence = SEEK_SET;
    const char result = wfd >= 0 && fcntl(wfd, F_SETLKW, &w) == 0 ? 'y' : 'n';
    (void)!write(done[1], &result, 1);
    _exit(0);
  }
  close(done[1]);
  // The wait is parked in the server (read, not answered).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  struct pollfd p{done[0], POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0) << "the lock wait ended before the kill";
  const pid_t supervisor = daemon().pid();
  const pid_t server = WaitForServer(supervisor, 0);
  ASSERT_EQ(kill(server, SIGKILL), 0);
  ASSERT_NE(WaitForServer(supervisor, server), 0);
  char result = 0;
  const bool answered = poll(&p, 1, 5000) == 1;
  if (!answered) kill(waiter, SIGKILL);  // or it would wait for ever
  waitpid(waiter, nullptr, 0);
  ASSERT_TRUE(answered) << "the lock wait was not answered by the new server";
  ASSERT_EQ(read(done[0], &result, 1), 1);
  EXPECT_EQ(result, 'y');
  close(done[0]);
  EXPECT_GE(daemon().Stats()["requests_resent"], 1);
}

// A crash loses the source watch's events until the next server watches
// again: a name created in SOURCE meanwhile would stay hidden behind the
// kernel's negative entry (cached for a day with the watch). A server that
// takes over starts a new entry epoch (FUSE_NOTIFY_INC_EPOCH, Linux 6.16):
// every cached name is looked up again. Here the name is created while the
// old server is stopped, so its event dies with it.
TEST_F(Restartable, NamesCreatedWhileNoServerWatchedShowAfterARestart) {
  struct stat sb;
  ASSERT_NE(lstat(Mnt("late").c_str(), &sb), 0);
  ASSERT_EQ(errno, ENOENT);  // and the kernel now caches that
  const pid_t supervisor = daemon().pid();
  const pid_t server = WaitForServer(supervisor, 0);
  ASSERT_EQ(kill(server, SIGSTOP), 0);
  ASSERT_TRUE(WriteFile(Src("late"), "x"));
  ASSERT_EQ(kill(server, SIGKILL), 0);
  ASSERT_NE(WaitForServer(supervisor, server), 0);
  // The new server is a child of the supervisor before it has taken over and
  // sent the epoch; until then the kernel still answers from its cache.
  const std::string sent = "a new server took over; every cached name is looked up again";
  for (int i = 0; i < 1000 && daemon().Log().find(sent) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(daemon().Log().find(sent), std::string::npos) << daemon().Log();
  EXPECT_EQ(lstat(Mnt("late").c_str(), &sb), 0) << "still hidden: " << strerror(errno);
  EXPECT_GE(daemon().Stats()["watch_entry_epochs"], 1);
}

// An upgrade hands the lock owners' open file descriptions to the next
// server: the lock still conflicts, and the owner can still release it
// through the new server.
TEST_F(Restartable, ServerLocksSurviveAnUpgrade) {
  sys::UniqueFd fd;
  ASSERT_NO_FATAL_FAILURE(LockThroughMount(&fd));
  EXPECT_FALSE(OtherProcessCanLock(Mnt("locked")));
  const pid_t supervisor = daemon().pid();
  const pid_t server = WaitForServer(supervisor, 0);
  ASSERT_EQ(kill(supervisor, SIGUSR2), 0);
  ASSERT_NE(WaitForServer(supervisor, server), 0);
  struct stat st;
  (void)stat(Mnt("probe").c_str(), &st);  // served by the new server
  EXPECT_FALSE(OtherProcessCanLock(Mnt("locked")));
  EXPECT_EQ(daemon().Stats()["restored_lock_owners"], 1);
  struct flock unlock{};
  unlock.l_type = F_UNLCK;
  unlock.l_whence = SEEK_SET;
  ASSERT_EQ(fcntl(fd.get(), F_SETLK, &unlock), 0) << strerror(errno);
  EXPECT_TRUE(OtherProcessCanLock(Mnt("locked")));
}

// An upgrade never hands the connection to a process serving another
// directory: once SOURCE's path names a new directory, the supervisor
// refuses (the state file names the directory served) and the running
// server goes on serving the original one.
TEST_F(Restartable, UpgradeIsRefusedWhenSourceNowNamesAnotherDirectory) {
  const pid_t supervisor = daemon().pid();
  const pid_t server = WaitForServer(supervisor, 0);
  ASSERT_NE(server, 0);
  ASSERT_EQ(rename(src().c_str(), (src() + ".moved").c_str()), 0);
  ASSERT_EQ(mkdir(src().c_str(), 0755), 0);
  ASSERT_EQ(kill(supervisor, SIGUSR2), 0);
  std::string log;
  for (int i = 0; i < 200 && log.find("upgrade refused") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log = daemon().Log();
  }
  EXPECT_NE(log.find("upgrade refused"), std::string::npos) << log;
  EXPECT_EQ(ServerOf(supervisor), server);
  std::ofstream(Mnt("still")) << "served";
  struct stat st;
  EXPECT_EQ(stat((src() + ".moved/still").c_str(), &st), 0);
  EXPECT_NE(stat(Src("still").c_str(), &st), 0);
  // Paths as they were, for the teardown.
  ASSERT_EQ(rmdir(src().c_str()), 0);
  ASSERT_EQ(rename((src() + ".moved").c_str(), src().c_str()), 0);
}

// `passthroughfs upgrade MOUNTPOINT` runs the binary on disk: the daemon
// is started from a copy, the copy is replaced (a new file, as a package
// upgrade does), and after the upgrade both the supervisor and the server
// run the new file.
class RestartableFromCopy : public Restartable {
 protected:
  RestartableFromCopy() {
    char tmpl[] = "/tmp/ptfs-upgrade-bin-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
    binary_ = dir_ + "/passthroughfs";
    std::filesystem::copy_file(PTFS_DAEMON, binary_);
  }
  ~RestartableFromCopy() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string DaemonBinary() const override { return binary_; }

  static std::string ExeOf(pid_t pid) {
    char buf[4096];
    const ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Runs `command`; its output and exit status.
  static std::string Run(const std::string& command, int* status) {
    std::string out;
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (p == nullptr) return out;
    char buf[512];
    while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
    *status = pclose(p);
    return out;
  }
  std::string dir_;
  std::string binary_;
};

TEST_F(RestartableFromCopy, UpgradeRunsTheBinaryOnDisk) {
  const pid_t supervisor = daemon().pid();
  const pid_t server = WaitForServer(supervisor, 0);
  ASSERT_NE(server, 0);
  EXPECT_EQ(ExeOf(server), binary_);
  // A new file at the same path, as a package upgrade makes it.
  std::filesystem::copy_file(PTFS_DAEMON, binary_ + ".new");
  ASSERT_EQ(rename((binary_ + ".new").c_str(), binary_.c_str()), 0);
  EXPECT_EQ(ExeOf(supervisor), binary_ + " (deleted)");

  int status = -1;
  const std::string out = Run(binary_ + " upgrade " + mnt(), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("upgraded " + mnt() + ": server " + std::to_string(server) + " -> "),
            std::string::npos)
      << out;
  const pid_t next = WaitForServer(supervisor, server);
  ASSERT_NE(next, 0);
  EXPECT_EQ(ExeOf(supervisor), binary_);  // re-exec'd: the new file
  EXPECT_EQ(ExeOf(next), binary_);
  const std::string report = Run(binary_ + " status " + mnt(), &status);
  EXPECT_NE(report.find("server_generation: 1\n"), std::string::npos) << report;
  EXPECT_NE(report.find("supervisor_pid: " + std::to_string(supervisor) + "\n"),
            std::string::npos)
      << report;
}

// Without --restartable there is nobody to hand the connection to.
class NotRestartable : public MountTestBase {};

TEST_F(NotRestartable, UpgradeSaysWhyNot) {
  std::string out;
  FILE* p = popen((std::string(PTFS_DAEMON) + " upgrade " + mnt() + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = pclose(p);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("not mounted with --restartable"), std::string::npos) << out;
  EXPECT_TRUE(daemon().Running());
}

}  // namespace
}  // namespace ptfs::mounttest
