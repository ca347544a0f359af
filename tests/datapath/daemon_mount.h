// DaemonMount: runs the real passthroughfs daemon in the foreground on a fresh
// SOURCE and mountpoint for one test, and reads its counters (--stats-file,
// refreshed on SIGUSR1). Needs root and /dev/fuse.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace ptfs::testing {

// As root, makes the kernel offer FUSE over io_uring (Y into
// /sys/module/fuse/parameters/enable_uring). False, with a test failure, when
// the kernel cannot: the uring variants fail rather than skip.
bool EnableUring();

class DaemonMount {
 public:
  explicit DaemonMount(std::vector<std::string> extra_args);
  ~DaemonMount();  // unmounts, reaps the daemon (expects exit 0), removes the dirs
  DaemonMount(const DaemonMount&) = delete;
  DaemonMount& operator=(const DaemonMount&) = delete;

  bool ok() const { return ok_; }
  const std::string& source() const { return source_; }
  const std::string& mnt() const { return mnt_; }
  // Asks the daemon for its counters and returns them by name.
  std::map<std::string, long> Stats();

 private:
  std::string dir_, source_, mnt_, stats_;
  pid_t pid_ = -1;
  bool ok_ = false;
};

}  // namespace ptfs::testing
