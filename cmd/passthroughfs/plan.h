// What the daemon will do, decided from the command line and the host's
// facts before anything is mounted. Resolve is pure (no syscalls): daemon.cc
// gathers the HostFacts, and the unit tests feed made-up ones.
#pragma once

#include <sys/resource.h>

#include <optional>
#include <string>
#include <vector>

#include "cmd/passthroughfs/options.h"
#include "mirror/mirror_fs.h"
#include "proto/init.h"
#include "session/server.h"
#include "session/session.h"
#include "transport/mount.h"
#include "transport/uring.h"
#include "util/log.h"

namespace ptfs::cmd {

struct HostFacts {
  bool cap_sys_admin = false;   // may register backing files (kernel passthrough)
  bool fs_credentials = false;  // can act as each caller (sys::FsCredentials::Supported)
  rlim_t fd_limit = 1024;       // RLIMIT_NOFILE in force, after raising it
  int cpus = 2;                 // std::thread::hardware_concurrency()
};

struct LogLine {
  log::Level level;
  std::string text;
  friend bool operator==(const LogLine&, const LogLine&) = default;
};

struct Plan {
  transport::MountRequest mount;
  mirror::MirrorOptions fs;
  // INIT flags (FUSE_OVER_IO_URING excepted: Run adds it once the rings
  // exist), max_write, max_stack_depth, debug.
  session::SessionOptions session;
  bool passthrough = false;  // FUSE_PASSTHROUGH asked: backings get registered
  int threads = 2;
  // Set by ResolveTransport once the mount has loaded the fuse module:
  bool want_uring = false;           // create the rings
  int poll_us = 200;                 // UringConfig::poll_us
  session::TransportPlan transport;  // why, required (uring: set by Run)
  std::string transport_error;       // non-empty: unmount and fail with it
  // To log before the mount, in order.
  std::vector<LogLine> log;
  // INIT as answered during mount(2) (FUSE_DEV_IOC_SYNC_INIT); the session
  // adopts it. Empty: INIT comes to the server after the mount.
  std::optional<proto::InitOutcome> init_during_mount;
};

Plan Resolve(const Options& options, const HostFacts& facts);

// The transport, from what the host offers. Separate from Resolve because
// the fuse module's parameters exist only once the mount has loaded it.
void ResolveTransport(Options::Transport asked, const transport::UringSupport& support, Plan* plan);

}  // namespace ptfs::cmd
