// Command line of the passthroughfs daemon.
#pragma once

#include <string>
#include <vector>

#include "passthrough/passthrough_fs.h"
#include "transport/mount.h"

namespace ptfs::cmd {

struct Options {
  std::string source;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool help = false;
  bool version = false;
  int threads = 0;  // 0: number of CPUs, at least 2
  enum class Passthrough { kAuto, kOff } passthrough = Passthrough::kAuto;
  bool writeback = false;      // kernel writeback cache (excludes passthrough)
  int max_stack_depth = 1;     // sent with FUSE_PASSTHROUGH
  std::string stats_file;      // rewritten on SIGUSR1
  // How requests reach the daemon: /dev/fuse reads and writes, FUSE over
  // io_uring, or io_uring when the kernel offers it (the default;
  // docs/transport.md).
  enum class Transport { kDev, kUring, kAuto } transport = Transport::kAuto;
  // --nocache, and whether -o [no]default_permissions was given: with
  // nothing cached the kernel's permission checks would each need fresh
  // attributes (a GETATTR per path component), while the daemon checks every
  // operation as the caller anyway; so --nocache leaves the checks to it
  // unless asked otherwise (main.cc, docs/decisions.md).
  bool nocache = false;
  bool permissions_given = false;
  // --fd-cache given; otherwise the cache gets half the fd limit (main.cc).
  bool fd_cache_given = false;
  transport::MountRequest mount;
  passthrough::PassthroughOptions fs;
};

// Parses argv. Throws std::invalid_argument with a one-line message.
Options ParseOptions(int argc, char** argv);
std::string Usage(const char* argv0);

}  // namespace ptfs::cmd
