#include "cmd/passthroughfs/plan.h"

#include <sys/mount.h>

#include <algorithm>

#include "abi/fuse_abi.h"
#include "session/inode_passthrough_adapter.h"

namespace ptfs::cmd {
namespace {

// Whether to ask for FUSE_PASSTHROUGH; if not, `why` says why.
bool WantPassthrough(const Options& o, const HostFacts& facts, std::string* why) {
  if (o.writeback) {
    *why = "--writeback selects the kernel's writeback cache, which excludes passthrough";
  } else if (o.passthrough == Options::Passthrough::kOff) {
    *why = "--passthrough=off";
  } else if (!facts.cap_sys_admin) {
    *why = "registering backing files needs CAP_SYS_ADMIN, which the daemon does not have";
  } else {
    return true;
  }
  return false;
}

// The INIT flags the server asks for, FUSE_OVER_IO_URING excepted.
uint64_t WantedInitFlags(const Options& o, const transport::MountRequest& mount, bool passthrough) {
  using namespace ptfs::abi;  // NOLINT
  uint64_t f = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
               FUSE_DONT_MASK | FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS |
               FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
               FUSE_SETXATTR_EXT | FUSE_INIT_EXT | FUSE_CACHE_SYMLINKS;
  // The kernel then enforces ACLs itself; without default_permissions it
  // would turn them on anyway, so only offer it together.
  if (mount.default_permissions) f |= FUSE_POSIX_ACL;
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
  // --export: the kernel may then LOOKUP "." and ".." to decode handles.
  if (o.fs.export_handles) f |= FUSE_EXPORT_SUPPORT;
  // The DRAFT inode-passthrough flag only when asked for (its bit is claimed
  // by other in-flight kernel work too).
  f |= session::WantedInodePassthroughFlags(o.fs.inode_passthrough_ops, passthrough);
  if (o.writeback) f |= FUSE_WRITEBACK_CACHE;
  if (o.fs.listing_attributes == mirror::MirrorOptions::ListingAttributes::kOff) {
    f &= ~(FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO);
  }
  // Kernel-kept locks: the kernel handles fcntl and flock locks itself
  // when these are not negotiated.
  if (o.fs.kernel_locks) f &= ~(FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS);
  return f;
}

}  // namespace

Plan Resolve(const Options& o, const HostFacts& facts) {
  Plan plan;
  plan.mount = o.mount;
  plan.fs = o.fs;
  plan.passthrough = WantPassthrough(o, facts, &plan.fs.no_passthrough_reason);
  // Owner mapping needs the kernel's checks on the owners it shows.
  const bool maps_owners = !o.map_users.empty() || !o.map_groups.empty();
  if (o.nocache && !o.permissions_given && facts.fs_credentials && !maps_owners) {
    // Nothing is cached, so every path component reaches the daemon as a
    // LOOKUP it runs as the caller, as every change and open already does;
    // the kernel's own checks would only add a GETATTR per component.
    // (An unprivileged daemon cannot act as each caller: it keeps them.)
    plan.mount.default_permissions = false;
    plan.log.push_back(
        {log::Level::kInfo,
         "--nocache: permissions are checked by SOURCE for each caller, as the daemon runs every "
         "operation (nodefault_permissions; -o default_permissions adds the kernel's checks)"});
  }
  if (!o.fd_cache_given) {
    // Half the fd budget for cached O_PATH fds, the rest for open files,
    // directory streams and the daemon's own; an open that still hits the
    // limit closes half the cache (sys::SetFdPressureHandler).
    plan.fs.fd_cache_slots = static_cast<size_t>(std::clamp<rlim_t>(facts.fd_limit / 2, 64, 16384));
  }
  const transport::MountRequest& m = plan.mount;
  plan.fs.default_permissions = m.default_permissions;
  plan.fs.atime = (m.flags & MS_NOATIME)       ? sys::AtimeRule::kNoatime
                  : (m.flags & MS_STRICTATIME) ? sys::AtimeRule::kStrictatime
                                               : sys::AtimeRule::kRelatime;
  plan.fs.nodiratime = (m.flags & MS_NODIRATIME) != 0;
  if (m.allow_other && !m.default_permissions && facts.fs_credentials) {
    // Without the kernel's checks only a LOOKUP run as the caller checks
    // search permission along a path: no entry may be cached for another.
    plan.fs.per_caller_lookups = true;
    plan.log.push_back(
        {log::Level::kInfo,
         "allow_other with nodefault_permissions: directory entries are not cached, so every "
         "path is looked up as its caller (search permission checked by SOURCE)"});
  }
  if (m.allow_other && !facts.fs_credentials) {
    // Only root can act as each caller; an unprivileged daemon acts as itself.
    plan.log.push_back(
        {log::Level::kWarning,
         std::string("allow_other without root: every operation runs with the daemon's own "
                     "identity") +
             (m.default_permissions
                  ? " (default_permissions still checks each caller's access)"
                  : " and nodefault_permissions leaves all checks to it: other users can reach "
                    "what the daemon can")});
  }
  plan.threads = o.threads > 0 ? o.threads : std::max(2, facts.cpus);
  plan.session.debug = o.debug;
  plan.session.init.wanted_flags = WantedInitFlags(o, m, plan.passthrough);
  plan.session.init.max_write = session::kMaxWriteSupported;
  plan.session.init.max_stack_depth = static_cast<uint32_t>(o.max_stack_depth);
  plan.session.init.request_timeout = static_cast<uint16_t>(o.request_timeout);
  plan.poll_us = o.poll_us;
  return plan;
}

void ResolveTransport(Options::Transport asked, const transport::UringSupport& support,
                      Plan* plan) {
  plan->transport.required = asked == Options::Transport::kUring;
  // Linux 6.18 does not time out requests waiting on FUSE-over-io_uring
  // queues: a stopped daemon's caller hung there for over 10 minutes with
  // request_timeout=1, where /dev/fuse aborted the connection in 29 s
  // (tests/mount/kernel_features_test.cc). A timeout asked for is kept.
  const bool timeout = plan->session.init.request_timeout != 0;
  if (asked == Options::Transport::kDev) {
    plan->transport.why = "--transport=dev";
  } else if (timeout && !plan->transport.required) {
    plan->transport.why =
        "--request-timeout: the kernel enforces it on /dev/fuse only, not on io_uring queues";
  } else if (support.available) {
    plan->want_uring = true;
    plan->transport.why = plan->transport.required
                              ? "--transport=uring"
                              : "--transport=auto: the kernel offers FUSE over io_uring";
    if (timeout) {
      plan->log.push_back({log::Level::kWarning,
                           "--request-timeout with --transport=uring: this kernel does not time "
                           "out requests waiting on io_uring queues; use --transport=dev for it"});
    }
  } else if (plan->transport.required) {
    plan->transport_error = "--transport=uring: " + support.why_not;
  } else {
    plan->transport.why = "--transport=auto: " + support.why_not;
  }
}

}  // namespace ptfs::cmd
