#include "tests/harness/mount_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef PTFS_DAEMON
#error "PTFS_DAEMON (path of the built passthroughfs binary) must be defined"
#endif

namespace ptfs::mounttest {

namespace {

using Clock = std::chrono::steady_clock;

std::string Octal(unsigned v) {
  char buf[16];
  snprintf(buf, sizeof buf, "%04o", v);
  return buf;
}

std::string TypeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "reg";
    case S_IFDIR:
      return "dir";
    case S_IFLNK:
      return "lnk";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "sock";
    case S_IFCHR:
      return "chr";
    case S_IFBLK:
      return "blk";
  }
  return "?";
}

std::string DTypeName(unsigned char t) {
  switch (t) {
    case DT_REG:
      return "reg";
    case DT_DIR:
      return "dir";
    case DT_LNK:
      return "lnk";
    case DT_FIFO:
      return "fifo";
    case DT_SOCK:
      return "sock";
    case DT_CHR:
      return "chr";
    case DT_BLK:
      return "blk";
    case DT_UNKNOWN:
      return "unknown";
  }
  return "?";
}

std::string FormatStat(const struct stat& st, bool blocks = true) {
  std::ostringstream o;
  o << TypeName(st.st_mode) << " " << Octal(st.st_mode & 07777) << " size=" << st.st_size
    << " nlink=" << st.st_nlink << " uid=" << st.st_uid << " gid=" << st.st_gid;
  if (blocks) o << " blocks=" << st.st_blocks;
  o << " blksize=" << st.st_blksize;
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    o << " rdev=" << major(st.st_rdev) << ":" << minor(st.st_rdev);
  }
  return o.str();
}

std::string Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string ErrText(int e) { return "<" + ErrnoName(e) + ">"; }

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "...\n" + s.substr(s.size() - n);
}

}  // namespace

std::string ErrnoName(int e) {
  const char* name = strerrorname_np(e);
  return name != nullptr ? name : std::to_string(e);
}

std::string ReadFileOrError(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrText(errno);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      int e = errno;
      close(fd);
      return ErrText(e);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

bool WriteFile(const std::string& path, std::string_view data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      int e = errno;
      close(fd);
      errno = e;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return close(fd) == 0;
}

std::vector<std::string> ListDir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return {ErrText(errno)};
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  if (errno != 0) names.push_back(ErrText(errno));
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string PatternData(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x);
  }
  return out;
}

std::string Digest(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void RemoveTree(const std::string& path) {
  // FTW_MOUNT: never descend into another filesystem (a mount left behind).
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) {
        ::remove(p);
        return 0;
      },
      64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

namespace {
// Fields of the mountinfo line whose mount point is `path`.
std::vector<std::string> MountInfoLine(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::vector<std::string> found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    std::string w;
    while (fields >> w) f.push_back(w);
    if (f.size() > 5 && f[4] == path) found = f;  // the last one is on top
  }
  return found;
}
}  // namespace

bool IsMounted(const std::string& path) { return !MountInfoLine(path).empty(); }

std::string MountOptionsOf(const std::string& path) {
  auto f = MountInfoLine(path);
  return f.empty() ? "" : f[5];
}

std::string SuperOptionsOf(const std::string& path) {
  auto f = MountInfoLine(path);
  return f.empty() ? "" : f.back();  // after "- fstype source"
}

std::string RunAs(uid_t uid, gid_t gid, const std::function<std::string()>& fn) {
  return RunAsWithGroups(uid, gid, {}, fn);
}

std::string RunAsWithGroups(uid_t uid, gid_t gid, const std::vector<gid_t>& groups,
                            const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return "<pipe failed>";
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return "<fork failed>";
  if (pid == 0) {
    close(fds[0]);
    if (setgroups(groups.size(), groups.data()) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
      _exit(3);
    }
    std::string out = fn();
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) _exit(4);
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return out + "<child failed, status " + std::to_string(status) + ">";
  }
  return out;
}

std::string RunCommand(const std::string& command) {
  fflush(nullptr);
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return "<popen failed>";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (status != 0) out += "<exit " + std::to_string(WEXITSTATUS(status)) + ">";
  return out;
}

// ---------------------------------------------------------------------------
// Daemon

Daemon::~Daemon() {
  if (pid_ > 0 && !exited_) {
    // Only reached when a test did not call Stop (e.g. SetUp failed half way).
    umount2(mountpoint_.c_str(), MNT_DETACH);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

testing::AssertionResult Daemon::Start(const std::string& source, const std::string& mountpoint,
                                       const std::vector<std::string>& args,
                                       const std::string& log_path) {
  mountpoint_ = mountpoint;
  log_path_ = log_path;
  stats_path_ = log_path + ".stats";
  std::vector<std::string> argv_s = {binary_, "-f", "--stats-file=" + stats_path_};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  argv_s.push_back(source);
  argv_s.push_back(mountpoint);
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string cmdline;
  for (auto& s : argv_s) cmdline += s + " ";

  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return testing::AssertionFailure() << "open " << log_path << ": " << strerror(errno);
  const pid_t parent = getpid();
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return testing::AssertionFailure() << "fork: " << strerror(errno);
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // If the test binary dies, SIGTERM makes the daemon unmount itself.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;
  exited_ = false;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    if (IsMounted(mountpoint)) return testing::AssertionSuccess();
    if (!Running()) {
      return testing::AssertionFailure()
             << cmdline << "exited before mounting, status " << status_ << "\n"
             << Tail(Log(), 4000);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return testing::AssertionFailure() << cmdline << "did not mount within 5 s\n"
                                     << Tail(Log(), 4000);
}

bool Daemon::Running() {
  if (pid_ <= 0 || exited_) return false;
  pid_t r = waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) exited_ = true;
  return !exited_;
}

testing::AssertionResult Daemon::Reap(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
    exited_ = true;
    return testing::AssertionFailure()
           << "the daemon did not exit within " << timeout_ms << " ms of the unmount; killed";
  }
  if (!WIFEXITED(status_) || WEXITSTATUS(status_) != 0) {
    return testing::AssertionFailure()
           << "the daemon ended with "
           << (WIFEXITED(status_) ? "exit status " + std::to_string(WEXITSTATUS(status_))
                                  : "signal " + std::to_string(WTERMSIG(status_)));
  }
  return testing::AssertionSuccess();
}

namespace {

// umount2(2), retried for up to 2 s while the mount is busy: the kernel may
// drop a just-exited child's or a just-closed file's reference to the mount
// a moment after the test saw the close or reaped the child (deferred fput
// on a loaded machine), which is not a file the test left open. Sets errno
// when it gives up.
bool UnmountWhenIdle(const std::string& mountpoint) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (umount2(mountpoint.c_str(), 0) < 0) {
    if (errno != EBUSY || std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// ": held by PID (COMM) ..." for the processes with an fd, cwd or mapping
// under `mountpoint`; "" if none is found.
std::string HoldersOf(const std::string& mountpoint) {
  const int saved = errno;
  std::string out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  auto under = [&](const std::string& link) {
    char target[4096];
    const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) return false;
    const std::string t(target, static_cast<size_t>(n));
    return t == mountpoint || t.starts_with(mountpoint + "/");
  };
  while (struct dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string dir = std::string("/proc/") + e->d_name;
    bool holds = under(dir + "/cwd") || under(dir + "/root");
    if (DIR* fds = opendir((dir + "/fd").c_str())) {
      while (struct dirent* f = readdir(fds)) {
        if (f->d_name[0] != '.' && under(dir + "/fd/" + f->d_name)) holds = true;
      }
      closedir(fds);
    }
    std::ifstream maps(dir + "/maps");
    for (std::string line; !holds && std::getline(maps, line);) {
      holds = line.find(" " + mountpoint + "/") != std::string::npos;
    }
    if (holds) {
      std::ifstream comm(dir + "/comm");
      std::string name;
      std::getline(comm, name);
      out += std::string(out.empty() ? ": held by " : ", ") + e->d_name + " (" + name + ")";
    }
  }
  closedir(proc);
  errno = saved;
  return out;
}

}  // namespace

testing::AssertionResult Daemon::Stop() {
  if (pid_ <= 0) return testing::AssertionSuccess();
  std::string problem;
  if (!Running()) {
    // Exiting 0 with the mount gone is the clean end of a daemon that
    // unmounted itself (SIGTERM); anything else is a crash.
    if (WIFEXITED(status_) && WEXITSTATUS(status_) == 0 && !IsMounted(mountpoint_)) {
      return testing::AssertionSuccess();
    }
    problem = "the daemon exited while still mounted (status " + std::to_string(status_) + "); ";
  }
  if (IsMounted(mountpoint_) && !UnmountWhenIdle(mountpoint_)) {
    problem += std::string("umount ") + mountpoint_ + ": " + strerror(errno) +
               " (a test left a file open?" + HoldersOf(mountpoint_) + "); detached instead; ";
    umount2(mountpoint_.c_str(), MNT_DETACH);
  }
  testing::AssertionResult reaped = Reap(10000);
  if (!problem.empty()) {
    return testing::AssertionFailure() << problem << (reaped ? "" : reaped.message());
  }
  return reaped;
}

bool Daemon::SetFdLimit(rlim_t soft, struct rlimit* was) const {
  if (prlimit(pid_, RLIMIT_NOFILE, nullptr, was) != 0) return false;
  struct rlimit low = *was;
  low.rlim_cur = soft;
  return prlimit(pid_, RLIMIT_NOFILE, &low, nullptr) == 0;
}

bool Daemon::SetFdLimit(const struct rlimit& limits) const {
  return prlimit(pid_, RLIMIT_NOFILE, &limits, nullptr) == 0;
}

int Daemon::CountOpenFds() const {
  if (pid_ <= 0) return -1;
  DIR* d = opendir(("/proc/" + std::to_string(pid_) + "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

std::string Daemon::Log() const { return ReadFileOrError(log_path_); }

std::map<std::string, long> Daemon::Stats() {
  std::map<std::string, long> out;
  if (!Running()) return out;
  unlink(stats_path_.c_str());
  kill(pid_, SIGUSR1);
  for (int i = 0; i < 400 && access(stats_path_.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::ifstream in(stats_path_);
  std::string name;
  long value;
  while (in >> name >> value) out[name] = value;
  return out;
}

void Daemon::SettleWatch() {
  auto key = [&] {
    auto s = Stats();
    // Not watch_events: writing the stats file is itself an (own) event.
    return std::to_string(s["watch_inval_entry"]) + "/" + std::to_string(s["watch_inval_inode"]);
  };
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  std::string last = key();
  auto stable_since = Clock::now();
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    const std::string now = key();
    if (now != last) {
      last = now;
      stable_since = Clock::now();
    } else if (Clock::now() - stable_since > std::chrono::milliseconds(150)) {
      return;
    }
  }
}

testing::AssertionResult Daemon::RingCarriedTheRequests() {
  auto st = Stats();
  if (st.empty()) return testing::AssertionFailure() << "no counters from the daemon";
  const long ring = st["requests_via_uring"], dev = st["requests_via_dev"];
  // /dev/fuse always carries INIT, and FORGET/INTERRUPT; everything else
  // must have come through the rings.
  if (st["transport_uring"] != 1 || ring == 0 || ring < dev) {
    return testing::AssertionFailure()
           << "the io_uring transport did not carry the requests: transport_uring="
           << st["transport_uring"] << " requests_via_uring=" << ring << " requests_via_dev=" << dev
           << " uring_entries=" << st["uring_entries"];
  }
  return testing::AssertionSuccess();
}

bool WantsUring(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--transport=uring") return true;
    if (args[i] == "--transport" && i + 1 < args.size() && args[i + 1] == "uring") return true;
  }
  return false;
}

testing::AssertionResult EnableUring() {
  const char* param = "/sys/module/fuse/parameters/enable_uring";
  // Opening /dev/fuse loads the fuse module (and with it its parameters).
  int dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (dev >= 0) close(dev);
  int fd = open(param, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return testing::AssertionFailure()
           << "this kernel cannot serve FUSE over io_uring (" << param << ": " << strerror(errno)
           << "; needs Linux 6.14+ with CONFIG_FUSE_IO_URING); the uring variants fail rather "
              "than skip";
  }
  const bool ok = write(fd, "Y", 1) == 1;
  const int err = errno;
  close(fd);
  if (!ok) return testing::AssertionFailure() << "writing Y to " << param << ": " << strerror(err);
  if (ReadFileOrError(param).rfind("Y", 0) != 0) {
    return testing::AssertionFailure() << param << " did not stay Y";
  }
  return testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// MountTestBase

void MountTestBase::SetUp() {
  if (geteuid() != 0) {
    GTEST_SKIP() << "mount tests need root (mount(2) on /dev/fuse, mknod, chown); "
                    "run them as root, as CI does";
  }
  char tmpl[] = "/tmp/ptfs-mount-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
  root_ = tmpl;
  native_ = root_ + "/native";
  src_ = root_ + "/src";
  mnt_ = root_ + "/mnt";
  ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
  for (const auto& d : {native_, src_, mnt_}) {
    ASSERT_EQ(mkdir(d.c_str(), 0755), 0) << d << ": " << strerror(errno);
    ASSERT_EQ(chmod(d.c_str(), 0755), 0);
  }
  ASSERT_TRUE(WriteFile(root_ + "/outside", "outside\n"));
  ASSERT_EQ(mkdir((root_ + "/outside_dir").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(root_ + "/outside_dir/secret", "secret\n"));
  if (WantMount()) {
    // io_uring is the default transport where the kernel offers it; offer
    // it for every mount, so that "default" means the same in every test
    // whatever ran before (variants that want /dev/fuse say --transport=dev).
    ASSERT_TRUE(EnableUring());
    PrepareSource();
    if (HasFatalFailure()) return;
    started_ = true;
    if (!DaemonBinary().empty()) daemon_.set_binary(DaemonBinary());
    ASSERT_TRUE(daemon_.Start(src_, mnt_, DaemonArgs(), root_ + "/daemon.log"));
  }
}

void MountTestBase::TearDown() {
  if (root_.empty()) return;
  if (started_) {
    if (WantsUring(DaemonArgs()) && daemon_.Running()) {
      EXPECT_TRUE(daemon_.RingCarriedTheRequests());
    }
    EXPECT_TRUE(daemon_.Stop());
    if (HasFailure()) {
      std::cerr << "---- daemon log (" << root_ << "/daemon.log) ----\n"
                << Tail(daemon_.Log(), 4000) << "\n----\n";
    }
  }
  if (IsMounted(mnt_)) umount2(mnt_.c_str(), MNT_DETACH);
  RemoveTree(root_);
}

// ---------------------------------------------------------------------------
// Trace

Trace::Trace(std::string side, std::string base, std::string backing, std::string root)
    : side_(std::move(side)),
      base_(std::move(base)),
      backing_(std::move(backing)),
      root_(std::move(root)) {}

const char* Trace::P(std::string_view rel) {
  paths_.push_back(rel.empty() ? base_ : base_ + "/" + std::string(rel));
  return paths_.back().c_str();
}

const char* Trace::B(std::string_view rel) {
  paths_.push_back(rel.empty() ? backing_ : backing_ + "/" + std::string(rel));
  return paths_.back().c_str();
}

const char* Trace::R(std::string_view rel) {
  paths_.push_back(root_ + "/" + std::string(rel));
  return paths_.back().c_str();
}

long Trace::Call(const char* what, long rc) {
  const int e = errno;  // first thing: nothing may run between the call and here
  steps_.push_back({what, rc >= 0 ? std::to_string(rc) : ErrText(e)});
  errno = e;
  return rc;
}

void Trace::CallE(std::string_view what, long rc, int err) {
  steps_.push_back({std::string(what), rc >= 0 ? std::to_string(rc) : ErrText(err)});
}

long Trace::Fd(const char* what, long rc) {
  const int e = errno;
  steps_.push_back({what, rc >= 0 ? std::string("fd") : ErrText(e)});
  errno = e;
  return rc;
}

void Trace::Note(std::string_view what, std::string_view value) {
  steps_.push_back({std::string(what), std::string(value)});
}

void Trace::Stat(std::string_view what, const char* path, bool follow, bool blocks) {
  struct stat st;
  int rc = follow ? ::stat(path, &st) : ::lstat(path, &st);
  Note(what, rc < 0 ? ErrText(errno) : FormatStat(st, blocks));
}

void Trace::FStat(std::string_view what, int fd, bool blocks) {
  struct stat st;
  Note(what, ::fstat(fd, &st) < 0 ? ErrText(errno) : FormatStat(st, blocks));
}

void Trace::Times(std::string_view what, const char* path, bool follow) {
  struct stat st;
  int rc = follow ? ::stat(path, &st) : ::lstat(path, &st);
  if (rc < 0) {
    Note(what, ErrText(errno));
    return;
  }
  std::ostringstream o;
  o << "atime=" << st.st_atim.tv_sec << "." << st.st_atim.tv_nsec << " mtime=" << st.st_mtim.tv_sec
    << "." << st.st_mtim.tv_nsec;
  Note(what, o.str());
}

void Trace::Data(std::string_view what, std::string_view data) {
  if (data.size() <= 200) {
    Note(what, "\"" + Escape(data) + "\"");
  } else {
    Note(what, "size=" + std::to_string(data.size()) + " fnv=" + Digest(data));
  }
}

void Trace::Content(std::string_view what, const char* path) {
  std::string data = ReadFileOrError(path);
  if (!data.empty() && data[0] == '<' && data.back() == '>' && data.size() < 20) {
    Note(what, data);  // an error
    return;
  }
  Data(what, data);
}

void Trace::Listing(std::string_view what, const char* path) {
  DIR* d = opendir(path);
  if (d == nullptr) {
    Note(what, ErrText(errno));
    return;
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name + ":" + DTypeName(e->d_type));
  }
  if (errno != 0) names.push_back(ErrText(errno));
  closedir(d);
  std::sort(names.begin(), names.end());
  std::string out;
  for (auto& n : names) out += (out.empty() ? "" : " ") + n;
  Note(what, "[" + out + "]");
}

void ExpectSameTrace(const Trace& native, const Trace& mount) {
  const auto& a = native.steps();
  const auto& b = mount.steps();
  const size_t n = std::max(a.size(), b.size());
  if (getenv("PTFS_MOUNT_TEST_VERBOSE") != nullptr) {
    for (size_t i = 0; i < n; ++i) {
      std::cerr << i << " " << (i < a.size() ? a[i].what : b[i].what)
                << "\n    native: " << (i < a.size() ? a[i].result : "-")
                << "\n    mount:  " << (i < b.size() ? b[i].result : "-") << "\n";
    }
  }
  int differences = 0;
  for (size_t i = 0; i < n; ++i) {
    const Trace::Step* x = i < a.size() ? &a[i] : nullptr;
    const Trace::Step* y = i < b.size() ? &b[i] : nullptr;
    if (x != nullptr && y != nullptr && x->what == y->what && x->result == y->result) continue;
    if (++differences > 20) {
      ADD_FAILURE() << "more than 20 differences; stopping";
      return;
    }
    ADD_FAILURE() << "parity step " << i << ": " << (x ? x->what : y->what)
                  << "\n  native: " << (x ? x->result : "(no step)") << "\n  mount:  "
                  << (y ? (y->what == (x ? x->what : y->what) ? "" : "[" + y->what + "] ") +
                              y->result
                        : "(no step)");
  }
}

void ParityTest::RunParity(const std::function<void(Trace&)>& scenario) {
  umask(022);
  const bool writeback = GetParam().writeback;
  Trace n("native", native(), native(), root());
  n.set_writeback(writeback);
  scenario(n);
  Trace m("mount", mnt(), src(), root());
  m.set_writeback(writeback);
  m.abort_mount = [this] {
    ADD_FAILURE() << "the mount hung; killing the daemon to release blocked callers";
    if (daemon().pid() > 0) kill(daemon().pid(), SIGKILL);
  };
  scenario(m);
  ExpectSameTrace(n, m);
  EXPECT_TRUE(daemon().Running()) << "the daemon died during the scenario";
}

}  // namespace ptfs::mounttest
