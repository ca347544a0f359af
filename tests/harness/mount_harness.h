// Harness for the `mount` test tier: real mounts of the passthroughfs daemon
// (the one daemon fixture of the tests; the configurations it runs are the
// named ones of variants.h).
//
// Every test case gets a fresh workspace
//
//   ROOT/            mkdtemp under /tmp, mode 0755 (so that other users can walk it)
//   ROOT/native/     a plain directory: the native reference
//   ROOT/src/        SOURCE of the mount
//   ROOT/mnt/        MOUNTPOINT
//   ROOT/outside     a file outside both trees (target of escaping symlinks)
//   ROOT/daemon.log  the daemon's stdout and stderr, printed when a test fails
//
// and, when the fixture asks for one, a daemon started in the foreground as a
// child process. Teardown unmounts, waits for the daemon and requires that it
// exited 0, then removes the workspace.
//
// Parity traces (class Trace) run one scenario twice, in ROOT/native and in
// ROOT/mnt, record every call's result (value or errno name) and the values
// read back, and compare the two records step by step.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tests/harness/variants.h"

namespace ptfs::mounttest {

// "ENOENT" for ENOENT; the number for unknown values.
std::string ErrnoName(int e);

// Contents of a file, or "<ENOENT>"-style text when it cannot be read.
std::string ReadFileOrError(const std::string& path);
// Creates or truncates `path` and writes `data`; false (with errno) on failure.
bool WriteFile(const std::string& path, std::string_view data, mode_t mode = 0644);
// Sorted names in a directory, without "." and "..". On error, one element
// "<ERRNO>".
std::vector<std::string> ListDir(const std::string& path);
// Deterministic pseudo-random bytes.
std::string PatternData(size_t size, uint32_t seed);
// FNV-1a of `data`, as hex.
std::string Digest(std::string_view data);
// rm -rf that never crosses into another mount (so a mount left behind by a
// failed test is not emptied through).
void RemoveTree(const std::string& path);
// Whether `path` is a mountpoint in /proc/self/mountinfo.
bool IsMounted(const std::string& path);
// The mount options field of `path` in /proc/self/mountinfo ("" if absent).
std::string MountOptionsOf(const std::string& path);
// The superblock options of `path` (default_permissions, user_id=, ...).
std::string SuperOptionsOf(const std::string& path);
// Runs `fn` in a forked child as uid/gid (supplementary groups cleared) and
// returns what it returned; "<child failed ...>" if the child died.
std::string RunAs(uid_t uid, gid_t gid, const std::function<std::string()>& fn);
// The same with supplementary groups.
std::string RunAsWithGroups(uid_t uid, gid_t gid, const std::vector<gid_t>& groups,
                            const std::function<std::string()>& fn);
// Runs a shell command, returns its stdout; appends "<exit N>" on non-zero exit.
std::string RunCommand(const std::string& command);

// Whether daemon arguments ask for the io_uring transport (--transport=uring).
bool WantsUring(const std::vector<std::string>& args);
// As root, makes the kernel offer FUSE over io_uring (Y into
// /sys/module/fuse/parameters/enable_uring; the fuse module is loaded first).
// A failure, never a skip, when the kernel cannot: the uring variants must
// not pass by silently testing nothing.
testing::AssertionResult EnableUring();

// The daemon as a child process.
class Daemon {
 public:
  Daemon() = default;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon();

  // Starts `PTFS_DAEMON -f ARGS... SOURCE MOUNTPOINT` and waits (up to 5 s)
  // until MOUNTPOINT shows up in /proc/self/mountinfo.
  testing::AssertionResult Start(const std::string& source, const std::string& mountpoint,
                                 const std::vector<std::string>& args, const std::string& log_path);
  // Unmounts, waits for the daemon (up to 10 s) and checks that it exited 0.
  testing::AssertionResult Stop();
  // The executable Start runs instead of PTFS_DAEMON (a copy, for a test
  // that replaces it on disk).
  void set_binary(std::string path) { binary_ = std::move(path); }
  // The daemon has been started and has not exited.
  bool Running();
  pid_t pid() const { return pid_; }
  // Number of open fds of the daemon process (-1 if unknown).
  int CountOpenFds() const;
  // Sets the daemon's soft limit on open files to `soft`, keeping the old
  // limits in `*was` for SetFdLimit(*was) to restore; false on failure.
  bool SetFdLimit(rlim_t soft, struct rlimit* was) const;
  bool SetFdLimit(const struct rlimit& limits) const;
  // The daemon's log so far.
  std::string Log() const;
  // The daemon's counters (SIGUSR1 rewrites the --stats-file that Start
  // always passes), by name; empty if they did not arrive.
  std::map<std::string, long> Stats();
  // Waits until the source watch has reported what SOURCE just saw (its
  // batch and repeat delays are a few ms, but a loaded machine may take
  // longer): the invalidation counters must stay unchanged for 150 ms,
  // within 5 s.
  void SettleWatch();
  // The io_uring transport is in force and carried most requests: proves a
  // uring variant did not quietly run over /dev/fuse.
  testing::AssertionResult RingCarriedTheRequests();

 private:
  testing::AssertionResult Reap(int timeout_ms);

  pid_t pid_ = -1;
  int status_ = 0;
  std::string binary_ = PTFS_DAEMON;
  bool exited_ = false;
  std::string mountpoint_;
  std::string log_path_;
  std::string stats_path_;
};

// Base fixture: a workspace, and (when WantMount()) the daemon started with
// DaemonArgs() serving ROOT/src at ROOT/mnt. Skips, saying why, when not run
// as root.
class MountTestBase : public testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  virtual bool WantMount() const { return true; }
  virtual std::vector<std::string> DaemonArgs() const { return {}; }
  // The daemon's executable; empty: PTFS_DAEMON, the one built.
  virtual std::string DaemonBinary() const { return ""; }
  // Fills SOURCE before the daemon starts (for options read at start-up).
  virtual void PrepareSource() {}

  const std::string& root() const { return root_; }
  const std::string& native() const { return native_; }
  const std::string& src() const { return src_; }
  const std::string& mnt() const { return mnt_; }
  std::string Native(std::string_view rel) const { return native_ + "/" + std::string(rel); }
  std::string Src(std::string_view rel) const { return src_ + "/" + std::string(rel); }
  std::string Mnt(std::string_view rel) const { return mnt_ + "/" + std::string(rel); }
  Daemon& daemon() { return daemon_; }

 private:
  std::string root_, native_, src_, mnt_;
  Daemon daemon_;
  bool started_ = false;
};

// One side of a parity run. Paths given to a scenario are relative to `base`
// (ROOT/native or ROOT/mnt); `backing` is where the same files live on the
// host filesystem (ROOT/native itself, or ROOT/src for the mount), so that a
// scenario can check what reached SOURCE the same way on both sides.
class Trace {
 public:
  struct Step {
    std::string what;
    std::string result;
  };

  Trace(std::string side, std::string base, std::string backing, std::string root);

  const std::string& side() const { return side_; }
  // The mount under comparison uses the kernel's writeback cache. Set on both
  // traces, so that a scenario relaxes a check the same way on both sides.
  bool writeback() const { return writeback_; }
  void set_writeback(bool on) { writeback_ = on; }
  bool on_mount() const { return side_ != "native"; }
  // Paths, valid for the life of the trace.
  const char* P(std::string_view rel = "");  // in base
  const char* B(std::string_view rel = "");  // in backing
  const char* R(std::string_view rel);       // in ROOT (outside both)

  // Records a syscall-style result: the value when >= 0, else the errno name.
  // errno must still be the call's: pass the call expression directly.
  long Call(const char* what, long rc);
  // Same, with a computed label and the errno captured by the caller.
  void CallE(std::string_view what, long rc, int err);
  // Like Call, but records only "fd" for a non-negative result.
  long Fd(const char* what, long rc);
  // Records a value.
  void Note(std::string_view what, std::string_view value);
  void Note(std::string_view what, long long value) { Note(what, std::to_string(value)); }
  void Note(std::string_view what, bool value) { Note(what, value ? "true" : "false"); }
  void Note(std::string_view what, const char* value) { Note(what, std::string_view(value)); }
  // lstat (or stat with follow) and statx results, without st_dev, st_ino and times.
  // With blocks false, st_blocks is left out (see the callers' comments).
  void Stat(std::string_view what, const char* path, bool follow = false, bool blocks = true);
  void FStat(std::string_view what, int fd, bool blocks = true);
  // Explicit times (atime/mtime), for where they are deterministic.
  void Times(std::string_view what, const char* path, bool follow = false);
  // Contents (short ones verbatim, long ones as size and digest).
  void Content(std::string_view what, const char* path);
  void Data(std::string_view what, std::string_view data);
  // Sorted listing with d_type, without "." and "..".
  void Listing(std::string_view what, const char* path);

  const std::vector<Step>& steps() const { return steps_; }

  // For scenarios that detect a hung mount: kills the daemon, which aborts
  // the connection so that blocked callers return. Does nothing natively.
  std::function<void()> abort_mount = [] {};

 private:
  std::string side_, base_, backing_, root_;
  bool writeback_ = false;
  std::deque<std::string> paths_;
  std::vector<Step> steps_;
};

// Compares two traces step by step; each difference is one test failure.
void ExpectSameTrace(const Trace& native, const Trace& mount);

// Records `expr` (an int/long/ssize_t-returning call that sets errno) in `t`.
#define TCALL(t, expr) (t).Call(#expr, static_cast<long>(expr))
#define TFD(t, expr) (t).Fd(#expr, static_cast<long>(expr))

// Parity fixture: a mount with the variant's options; RunParity runs a
// scenario on ROOT/native, then on the mount, and compares.
class ParityTest : public MountTestBase, public testing::WithParamInterface<Variant> {
 protected:
  std::vector<std::string> DaemonArgs() const override { return GetParam().args; }
  void RunParity(const std::function<void(Trace&)>& scenario);
};

}  // namespace ptfs::mounttest
