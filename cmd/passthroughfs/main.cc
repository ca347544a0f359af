// passthroughfs: mounts SOURCE at MOUNTPOINT and serves it until unmounted.
//
// Start-up order matters: everything that can fail with a useful message
// (options, SOURCE, /dev/fuse, the mount itself) happens in the foreground
// process, so its exit status says whether the mount is live. Only then does
// it fork the daemon, which starts the worker threads and reports back
// through a pipe before the parent exits.
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "abi/fuse_abi.h"
#include "cmd/passthroughfs/options.h"
#include "passthrough/passthrough_fs.h"
#include "proto/opcode_table.h"
#include "sys/credentials.h"
#include "sys/syscalls.h"
#include "session/device_backing.h"
#include "session/device_notifier.h"
#include "session/memory_releaser.h"
#include "session/server.h"
#include "session/session.h"
#include "transport/channel.h"
#include "transport/mount.h"
#include "transport/uring.h"
#include "util/log.h"

namespace ptfs::cmd {
namespace {

constexpr const char* kVersion = "0.1.0";

// Ring entries per io_uring queue (one queue per possible CPU). A queue's
// thread handles its entries one at a time, so entries buy overlap (the kernel
// can hand over the next request while a reply is on its way), not
// parallelism; 8 per CPU covers bursts from the few callers one CPU runs.
// Replies held by lock waits do not count: the queue grows past this when
// they would leave fewer free (transport/uring.h).
constexpr int kUringEntriesPerQueue = 8;

[[noreturn]] void Die(const std::string& message) {
  fprintf(stderr, "passthroughfs: %s\n", message.c_str());
  exit(1);
}

void CheckSource(const std::string& source) {
  struct stat st;
  if (::stat(source.c_str(), &st) < 0) {
    Die("SOURCE " + source + ": " + strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) Die("SOURCE " + source + " is not a directory");
}

// Whether to ask for FUSE_PASSTHROUGH; if not, `why` says why.
bool WantPassthrough(const Options& o, std::string* why) {
  if (o.writeback) {
    *why = "--writeback selects the kernel's writeback cache, which excludes passthrough";
  } else if (o.passthrough == Options::Passthrough::kOff) {
    *why = "--passthrough=off";
  } else if (!sys::HasCapability(CAP_SYS_ADMIN)) {
    *why = "registering backing files needs CAP_SYS_ADMIN, which the daemon does not have";
  } else {
    return true;
  }
  return false;
}

uint64_t WantedInitFlags(const Options& o, bool passthrough) {
  using namespace ptfs::abi;  // NOLINT
  uint64_t f = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
               FUSE_DONT_MASK | FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS |
               FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
               FUSE_SETXATTR_EXT | FUSE_INIT_EXT | FUSE_CACHE_SYMLINKS;
  // The kernel then enforces ACLs itself; without default_permissions it
  // would turn them on anyway, so only offer it together.
  if (o.mount.default_permissions) f |= FUSE_POSIX_ACL;
  // The server clears suid/sgid itself when the kernel flags a write, truncate
  // or O_TRUNC open by a caller without CAP_FSETID. In return the kernel sets
  // SB_NOSEC and stops asking for security.capability before every write,
  // which otherwise costs a GETXATTR round trip per write(2), passthrough
  // writes included.
  f |= FUSE_HANDLE_KILLPRIV_V2;
  // Creating requests carry the caller's supplementary group that owns the
  // parent directory, so a create that native permits through a group
  // membership is permitted on the host too.
  f |= FUSE_CREATE_SUPP_GROUP;
  if (passthrough) f |= FUSE_PASSTHROUGH;
  // The DRAFT inode-passthrough flag only when asked for (its bit is claimed
  // by other in-flight kernel work too).
  f |= ptfs::session::WantedInodePassthroughFlags(o.fs.inode_passthrough_ops, passthrough);
  if (o.writeback) f |= FUSE_WRITEBACK_CACHE;
  if (o.fs.listing_attributes == passthrough::PassthroughOptions::ListingAttributes::kOff) {
    f &= ~(FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO);
  }
  // Kernel-kept locks: the kernel handles fcntl and flock locks itself
  // when these are not negotiated.
  if (o.fs.kernel_locks) f &= ~(FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS);
  return f;
}

// Blocks the signals we handle in every thread; a dedicated thread waits for
// them and unmounts, which ends the workers' reads with ENODEV.
sigset_t BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

// Counters of what reached the daemon and which data path served it, as
// "name value" lines (documented in docs/stats.md).
std::string FormatStats(const session::Session& s, const passthrough::PassthroughFs& fs,
                        const session::Server& server, const transport::UringTransport* uring,
                        const session::MemoryReleaser& releaser) {
  using namespace ptfs::abi;  // NOLINT
  const auto& dp = fs.data_path();
  std::string out;
  auto line = [&out](const char* name, long long v) {
    out += name;
    out += ' ';
    out += std::to_string(v);
    out += '\n';
  };
  // One read of every request counter, so the lines below agree with each
  // other even while requests keep arriving.
  std::array<long long, kMaxOpcode + 1> count{};
  long long total = 0;
  for (uint32_t op = 0; op <= kMaxOpcode; ++op) {
    count[op] = static_cast<long long>(s.RequestCount(op));
    total += count[op];
  }
  line("requests_read", count[FUSE_READ]);
  line("requests_write", count[FUSE_WRITE]);
  line("requests_lookup", count[FUSE_LOOKUP]);
  line("requests_getattr", count[FUSE_GETATTR]);
  line("requests_getxattr", count[FUSE_GETXATTR]);
  line("requests_open", count[FUSE_OPEN] + count[FUSE_CREATE]);
  line("requests_total", total);
  line("requests_rejected", static_cast<long long>(s.RejectedRequests()));
  // Every opcode we know, by its wire name (opcode_LOOKUP, opcode_FLUSH, ...),
  // zero counts included, so a tool can subtract two snapshots line by line.
  for (uint32_t op = 0; op <= kMaxOpcode; ++op) {
    const char* name = proto::LookupOp(op).name;
    if (name != nullptr) line(("opcode_" + std::string(name)).c_str(), count[op]);
  }
  line("opens_passthrough", static_cast<long long>(dp.opens_passthrough.load()));
  line("opens_served", static_cast<long long>(dp.opens_served.load()));
  line("backing_registered", static_cast<long long>(dp.backing_registered.load()));
  line("backing_failed", static_cast<long long>(dp.backing_failed.load()));
  line("backing_open_now", static_cast<long long>(dp.backing_open_now.load()));
  line("backing_idle_now", static_cast<long long>(dp.backing_idle_now.load()));
  line("backing_reused", static_cast<long long>(dp.backing_reused.load()));
  // READDIRPLUS entries, and the ListingAdvisor's probes (docs/coherence.md).
  line("listed_with_attributes", static_cast<long long>(fs.listings().with_attributes.load()));
  line("listed_files_bare", static_cast<long long>(fs.listings().files_bare.load()));
  const auto& adv = fs.listing_advisor().counters();
  line("listing_probes", static_cast<long long>(adv.probes.load()));
  line("listing_probe_hits", static_cast<long long>(adv.hits.load()));
  line("listing_probe_misses", static_cast<long long>(adv.misses.load()));
  line("inodes", static_cast<long long>(fs.inode_count()));
  line("nodeids_forgotten", static_cast<long long>(s.NodeidsForgotten()));
  line("memory_releases", static_cast<long long>(releaser.releases()));
  line("memory_release_us", static_cast<long long>(releaser.release_micros()));
  line("open_files", static_cast<long long>(fs.open_file_count()));
  line("process_fds", sys::CountOpenFds());
  line("fds_shed", static_cast<long long>(fs.fds_shed()));
  line("invalidations_for_writers", static_cast<long long>(fs.invalidations_for_writers()));
  line("xattr_absence_known", static_cast<long long>(fs.xattr_absence_known()));
  line("flush_close_skipped", static_cast<long long>(fs.flush_close_skipped()));
  // Confinement: by-name operations only in directories under SOURCE.
  const auto& conf = fs.confinement().counters();
  line("confinement_watch", fs.confinement().watching() ? 1 : 0);
  line("confinement_walks", static_cast<long long>(conf.walks.load()));
  line("confinement_dir_moves", static_cast<long long>(conf.dir_moves.load()));
  line("confinement_refused", static_cast<long long>(conf.refused.load()));
  // Which transport carried the requests (docs/transport.md).
  line("transport_uring", server.uring_in_use() ? 1 : 0);
  line("requests_via_dev", static_cast<long long>(server.dev_requests()));
  line("requests_via_uring", static_cast<long long>(server.uring_requests()));
  line("uring_entries", static_cast<long long>(uring != nullptr ? uring->entries() : 0));
  line("uring_defer_taskrun", uring != nullptr && uring->defers_task_work() ? 1 : 0);
  line("requests_offloaded", static_cast<long long>(server.offloaded_requests()));
  // The source watch (fanotify): outside changes turned into invalidations.
  const passthrough::SourceWatcher* w = fs.source_watcher();
  line("watch_on", w != nullptr ? 1 : 0);
  if (w != nullptr) {
    const auto& c = w->counters();
    line("watch_events", static_cast<long long>(c.events.load()));
    line("watch_own_events", static_cast<long long>(c.own_events.load()));
    line("watch_unknown", static_cast<long long>(c.unknown.load()));
    line("watch_inval_entry", static_cast<long long>(c.inval_entry.load()));
    line("watch_inval_inode", static_cast<long long>(c.inval_inode.load()));
    line("watch_overflows", static_cast<long long>(c.overflows.load()));
    line("watch_modify_ignored", static_cast<long long>(c.modify_ignored.load()));
    line("watch_own_mounts", static_cast<long long>(c.own_mounts.load()));
  }
  return out;
}

void WriteStats(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    LOG_WARN("cannot write stats to %s: %s", tmp.c_str(), strerror(errno));
    return;
  }
  fputs(text.c_str(), f);
  fclose(f);
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    LOG_WARN("cannot rename stats file to %s: %s", path.c_str(), strerror(errno));
  }
}

// Raises the soft RLIMIT_NOFILE to the hard one (every inode the kernel
// holds may want an fd) and returns the limit in force.
rlim_t RaiseFdLimit() {
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) < 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    const rlim_t was = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) < 0) lim.rlim_cur = was;
  }
  return lim.rlim_cur == RLIM_INFINITY ? (1 << 20) : lim.rlim_cur;
}

int Run(Options o) {  // a copy: --nocache may turn default_permissions off
  log::Configure(o.debug ? log::Level::kDebug : log::Level::kInfo, log::Sink::kStderr);
  // Before any thread starts, for the MemoryReleaser below (syscalls.h).
  sys::PrepareAllocatorForRelease();
  CheckSource(o.source);
  // Blocked before the mount exists: a SIGUSR1 (stats) or SIGTERM sent as
  // soon as the mount shows up must wait for the signal thread, not take the
  // default action and kill a daemon whose mount then stays behind.
  sigset_t signals = BlockSignals();
  std::string no_passthrough_reason;
  const bool want_passthrough = WantPassthrough(o, &no_passthrough_reason);
  if (o.nocache && !o.permissions_given && sys::FsCredentials::Supported()) {
    // Nothing is cached, so every path component reaches the daemon as a
    // LOOKUP it runs as the caller, as every change and open already does;
    // the kernel's own checks would only add a GETATTR per component.
    // (An unprivileged daemon cannot act as each caller: it keeps them.)
    o.mount.default_permissions = false;
    LOG_INFO("--nocache: permissions are checked by SOURCE for each caller, as the daemon "
             "runs every operation (nodefault_permissions; -o default_permissions adds the "
             "kernel's checks)");
  }
  const rlim_t fd_limit = RaiseFdLimit();
  if (!o.fd_cache_given) {
    // Half the fd budget for cached O_PATH fds, the rest for open files,
    // directory streams and the daemon's own; an open that still hits the
    // limit closes half the cache (sys::SetFdPressureHandler).
    o.fs.fd_cache_slots = static_cast<size_t>(std::clamp<rlim_t>(fd_limit / 2, 64, 16384));
  }
  passthrough::PassthroughOptions fs_options = o.fs;
  fs_options.no_passthrough_reason = no_passthrough_reason;
  fs_options.default_permissions = o.mount.default_permissions;
  fs_options.atime = (o.mount.flags & MS_NOATIME)       ? sys::AtimeRule::kNoatime
                     : (o.mount.flags & MS_STRICTATIME) ? sys::AtimeRule::kStrictatime
                                                        : sys::AtimeRule::kRelatime;
  fs_options.nodiratime = (o.mount.flags & MS_NODIRATIME) != 0;
  if (o.mount.allow_other && !o.mount.default_permissions && sys::FsCredentials::Supported()) {
    // Without the kernel's checks only a LOOKUP run as the caller checks
    // search permission along a path: no entry may be cached for another.
    fs_options.per_caller_lookups = true;
    LOG_INFO("allow_other with nodefault_permissions: directory entries are not cached, so "
             "every path is looked up as its caller (search permission checked by SOURCE)");
  }
  auto fs = passthrough::PassthroughFs::Create(fs_options);
  if (!fs.ok()) Die("SOURCE " + o.source + ": " + strerror(fs.error().value()));

  if (o.mount.allow_other && !sys::FsCredentials::Supported()) {
    // Only root can act as each caller; an unprivileged daemon acts as itself.
    LOG_WARN("allow_other without root: every operation runs with the daemon's own identity%s",
             o.mount.default_permissions
                 ? " (default_permissions still checks each caller's access)"
                 : " and nodefault_permissions leaves all checks to it: other users can reach "
                   "what the daemon can");
  }
  std::string why;
  auto mounted = transport::Mount(o.mount, &why);
  if (!mounted.ok()) Die(why);
  const transport::MountMethod method = mounted->method;

  // Transport, decided before INIT (which asks for FUSE_OVER_IO_URING only
  // when the rings can be used). Probed after the mount, which has loaded the
  // fuse module and with it /sys/module/fuse/parameters.
  session::TransportPlan plan;
  bool want_uring = false;
  if (o.transport == Options::Transport::kDev) {
    plan.why = "--transport=dev";
  } else {
    const transport::UringSupport support = transport::ProbeUringSupport();
    if (support.available) {
      want_uring = true;
      plan.why = o.transport == Options::Transport::kUring
                     ? "--transport=uring"
                     : "--transport=auto: the kernel offers FUSE over io_uring";
    } else if (o.transport == Options::Transport::kUring) {
      (void)transport::Unmount(o.mountpoint, method);
      Die("--transport=uring: " + support.why_not);
    } else {
      plan.why = "--transport=auto: " + support.why_not;
    }
  }
  plan.required = o.transport == Options::Transport::kUring;

  int ready_pipe[2] = {-1, -1};
  if (!o.foreground) {
    if (::pipe2(ready_pipe, O_CLOEXEC) < 0) Die(std::string("pipe: ") + strerror(errno));
    fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
      (void)transport::Unmount(o.mountpoint, method);
      Die(std::string("fork: ") + strerror(errno));
    }
    if (pid > 0) {  // parent: wait for the daemon to say it serves
      ::close(ready_pipe[1]);
      char status = 1;
      ssize_t n;
      do {
        n = ::read(ready_pipe[0], &status, 1);
      } while (n < 0 && errno == EINTR);
      _exit(n == 1 && status == 0 ? 0 : 1);
    }
    ::close(ready_pipe[0]);
    ::setsid();
    if (::chdir("/") < 0) {
      // Not fatal: every host access is fd-relative.
    }
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      ::close(null);
    }
    log::Configure(log::Level::kInfo, log::Sink::kSyslog);
  }


  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  const int threads = o.threads > 0 ? o.threads : std::max(2, cpus);
  session::SessionOptions sopts;
  sopts.debug = o.debug;
  // Memory freed for forgotten inodes goes back to the OS, after each burst
  // of forgets (memory_releaser.h). Declared before the session: workers
  // call it until the server has joined them.
  session::MemoryReleaser releaser(sys::ReleaseFreeMemory);
  sopts.forgotten = [&releaser](uint64_t nodeids) { releaser.Freed(nodeids); };
  const int dev_fd = mounted->device.get();
  // Declared before the session, so that the rings and entry buffers outlive
  // every thread that may still answer through them (the lock waiters).
  std::unique_ptr<transport::UringTransport> uring;
  if (want_uring) {
    transport::UringConfig ucfg;
    ucfg.dev_fd = dev_fd;
    ucfg.queues = transport::PossibleCpus();
    ucfg.entries_per_queue = kUringEntriesPerQueue;
    ucfg.payload_size = session::kMaxWriteSupported;  // >= the kernel's max payload
    auto created = transport::UringTransport::Create(ucfg);
    if (created.ok()) {
      uring = std::move(*created);
      plan.uring = uring.get();
    } else if (plan.required) {
      LOG_ERROR("--transport=uring: creating the io_uring queues failed: %s",
                strerror(created.error().value()));
      (void)transport::Unmount(o.mountpoint, method);
      return 1;
    } else {
      plan.why = std::string("--transport=auto: creating the io_uring queues failed: ") +
                 strerror(created.error().value());
    }
  }
  sopts.init.wanted_flags = WantedInitFlags(o, want_passthrough);
  if (plan.uring != nullptr) sopts.init.wanted_flags |= abi::FUSE_OVER_IO_URING;
  sopts.init.max_write = session::kMaxWriteSupported;
  sopts.init.max_stack_depth = static_cast<uint32_t>(o.max_stack_depth);
  session::Session session(fs->get(), sopts);
  transport::FuseDeviceControl control(dev_fd);
  session::DeviceBackingRegistrar registrar(&control);
  if (want_passthrough) (*fs)->SetBackingRegistrar(&registrar);
  // Notifications reach the kernel through a connection fd of their own (a
  // clone): outside changes to SOURCE from the source watcher's thread, and
  // attribute invalidations when a file is first opened for writing through
  // kernel passthrough (PassthroughFs::AttachBacking).
  std::unique_ptr<session::DeviceNotifier> notifier;
  auto notify_channel = control.Clone();
  if (notify_channel.ok()) {
    notifier = std::make_unique<session::DeviceNotifier>(std::move(*notify_channel));
    (*fs)->SetNotifier(notifier.get());
  } else {
    LOG_WARN("cannot clone the device fd for notifications (%s): no source watch, and "
             "times moved by writes through shared mappings show after the attribute timeout",
             strerror(notify_channel.error().value()));
  }

  auto channel = std::make_unique<transport::FdChannel>(mounted->device.Release(), true);
  session::Server server(&session, &control, std::move(channel), threads, plan);
  std::thread([signals, mountpoint = o.mountpoint, method, stats_file = o.stats_file, &session,
               fsp = fs->get(), &server, ur = uring.get(), &releaser]() mutable {
    int sig;
    while (sigwait(&signals, &sig) == 0) {
      if (sig == SIGUSR1) {
        const std::string text = FormatStats(session, *fsp, server, ur, releaser);
        LOG_INFO("stats:\n%s", text.c_str());
        if (!stats_file.empty()) WriteStats(stats_file, text);
        continue;
      }
      LOG_INFO("signal %d: unmounting %s", sig, mountpoint.c_str());
      if (Errno e = transport::Unmount(mountpoint, method)) {
        LOG_ERROR("unmounting %s failed: %s", mountpoint.c_str(), strerror(e.value()));
      }
    }
  }).detach();

  LOG_INFO("serving %s at %s with %d threads (%s)", o.source.c_str(), o.mountpoint.c_str(),
           threads, (*fs)->handles_enabled() ? "file handles" : "O_PATH fds");
  if (ready_pipe[1] >= 0) {
    char ok = 0;
    if (::write(ready_pipe[1], &ok, 1) != 1) {
      // The parent is gone; keep serving.
    }
    ::close(ready_pipe[1]);
  }
  Errno e = server.Run();
  (*fs)->Destroy();  // stops the source watch before the notifier goes
  if (e) {
    LOG_ERROR("stopped: %s", strerror(e.value()));
    return 1;
  }
  LOG_INFO("unmounted %s", o.mountpoint.c_str());
  return 0;
}

}  // namespace
}  // namespace ptfs::cmd

int main(int argc, char** argv) {
  try {
    ptfs::cmd::Options o = ptfs::cmd::ParseOptions(argc, argv);
    if (o.help) {
      fputs(ptfs::cmd::Usage(argv[0]).c_str(), stdout);
      return 0;
    }
    if (o.version) {
      printf("passthroughfs %s (FUSE protocol 7.%u)\n", ptfs::cmd::kVersion,
             ptfs::abi::kKernelMinorVersion);
      return 0;
    }
    return ptfs::cmd::Run(o);
  } catch (const std::exception& e) {
    fprintf(stderr, "passthroughfs: %s\n", e.what());
    return 1;
  }
}
