#include "cmd/passthroughfs/options.h"

#include <grp.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "modules/paths.h"

namespace ptfs::cmd {

int OptionValue::Int(int lo, int hi) const {
  char* end = nullptr;
  long v = std::strtol(text_.c_str(), &end, 10);
  if (text_.empty() || *end != '\0' || v < lo || v > hi) {
    Fail("must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(v);
}

double OptionValue::Seconds() const {
  char* end = nullptr;
  double v = std::strtod(text_.c_str(), &end);
  if (text_.empty() || *end != '\0' || v < 0 || v > 1e9) Fail("must be a number of seconds");
  return v;
}

size_t OptionValue::Choice(std::initializer_list<std::string_view> choices) const {
  std::string list;
  size_t i = 0;
  for (std::string_view c : choices) {
    if (c == text_) return i;
    if (i > 0) list += i + 1 == choices.size() ? " or " : ", ";
    list += c;
    ++i;
  }
  Fail("must be " + list);
}

void OptionValue::Fail(const std::string& what) const {
  throw std::invalid_argument(name_ + " " + what + ", got '" + text_ + "'");
}

namespace {

using Handles = mirror::MirrorOptions::Handles;
using ListingAttributes = mirror::MirrorOptions::ListingAttributes;

// getattr,setattr,readdir (':' also separates, for -o where ',' cannot),
// all or none.
uint32_t ParseInodeOps(const OptionValue& v) {
  const std::string& list = v.text();
  if (list == "all") return kInodeOpsAll;
  if (list == "none") return 0;
  uint32_t ops = 0;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find_first_of(",:", start);
    if (end == std::string::npos) end = list.size();
    const std::string op = list.substr(start, end - start);
    if (op == "getattr") ops |= kInodeOpGetattr;
    else if (op == "setattr") ops |= kInodeOpSetattr;
    else if (op == "readdir") ops |= kInodeOpReaddir;
    else throw std::invalid_argument(v.name() + ": unknown op '" + op +
                                     "' (getattr, setattr, readdir, all, none)");
    start = end + 1;
  }
  return ops;
}

template <unsigned long kSet, unsigned long kClear>
void MountFlags(Options& o, const OptionValue&) {
  o.mount.flags = (o.mount.flags | kSet) & ~kClear;
}

void FusermountOption(Options& o, const OptionValue& v) {
  if (!o.mount.fusermount_options.empty()) o.mount.fusermount_options += ',';
  const std::string option = v.name().substr(3);  // "-o auto_unmount"
  o.mount.fusermount_options += option;
  if (option == "auto_unmount") o.mount.auto_unmount = true;
}

void Ignored(Options&, const OptionValue&) {}

// Records a policy module's place in the chain: where its first option came.
void UseModule(Options& o, const std::string& name) {
  for (const std::string& m : o.modules) {
    if (m == name) return;
  }
  o.modules.push_back(name);
}

// FROM:TO of --map-owner (users) or --map-group (groups): numbers or names.
// Each id may be mapped from once and onto once, as bindfs requires.
void AddIdMap(const OptionValue& v, bool groups, std::vector<modules::IdMap>* maps) {
  const std::string& t = v.text();
  const size_t colon = t.find(':');
  if (colon == std::string::npos || t.find(':', colon + 1) != std::string::npos) {
    v.Fail(groups ? "must be GID:GID (or group names)" : "must be UID:UID (or user names)");
  }
  const auto id = [&](const std::string& part) -> uint32_t {
    if (part.empty()) v.Fail("has an empty id");
    if (part.find_first_not_of("0123456789") == std::string::npos) {
      const unsigned long n = std::stoul(part);
      if (n >= 0xFFFFFFFFul) v.Fail("has an id out of range");
      return static_cast<uint32_t>(n);
    }
    if (groups) {
      const struct group* g = ::getgrnam(part.c_str());
      if (g == nullptr) v.Fail("names no group '" + part + "'");
      return g->gr_gid;
    }
    const struct passwd* p = ::getpwnam(part.c_str());
    if (p == nullptr) v.Fail("names no user '" + part + "'");
    return p->pw_uid;
  };
  const modules::IdMap m{id(t.substr(0, colon)), id(t.substr(colon + 1))};
  for (const modules::IdMap& other : *maps) {
    if (other.from == m.from) v.Fail("maps " + std::to_string(m.from) + " a second time");
    if (other.to == m.to) v.Fail("maps onto " + std::to_string(m.to) + " a second time");
  }
  maps->push_back(m);
}

void KernelShown(Options& o, const OptionValue& v) {
  if (o.kernel_shown.empty()) o.kernel_shown = v.name().substr(3);  // "-o user_id"
}

constexpr unsigned long kAtimeRules = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
constexpr const char* kFstabOnly = "for mount(8) and fstab only: accepted and ignored";

// Daemon options first (each with --long and -o forms), then the mount
// options that only -o sets. --help lists them in this order.
constexpr OptionSpec kOptions[] = {
    {"foreground", 'f', "foreground", "", "stay in the foreground (default: daemonize once mounted)",
     [](Options& o, const OptionValue&) { o.foreground = true; }},
    {"debug", 'd', "debug", "", "log every request (implies --foreground)",
     [](Options& o, const OptionValue&) {
       o.debug = o.foreground = true;
       o.log_level = 3;
     }},
    {"quiet", 'q', "quiet", "",
     "print no summary line (mounted SOURCE at MOUNTPOINT: data path, transport, source watch) "
     "when the mount is live",
     [](Options& o, const OptionValue&) { o.quiet = true; }},
    {"log", 0, "log", "syslog|stderr|FILE",
     "where the log goes: default stderr in the foreground and syslog once daemonized (read it "
     "with journalctl -t passthroughfs); where there is no syslog (/dev/log), a file instead, "
     "named in one warning: /var/log/passthroughfs.log for root, else "
     "~/.local/state/passthroughfs.log. stderr: the daemon keeps the stderr it was started with",
     [](Options& o, const OptionValue& v) {
       if (v.text().empty()) v.Fail("needs syslog, stderr or a file");
       o.log = v.text();
     }},
    {"log-level", 0, "log_level", "error|warn|info|debug",
     "the least severe messages logged (default info; --debug: debug)",
     [](Options& o, const OptionValue& v) {
       o.log_level = static_cast<int>(v.Choice({"error", "warn", "info", "debug"}));
     }},
    {"threads", 't', "threads", "N", "worker threads (default: number of CPUs, at least 2)",
     [](Options& o, const OptionValue& v) { o.threads = v.Int(1, 256); }},
    {"nocache", 0, "nocache", "",
     "entry and attribute timeouts 0: every stat asks, and SOURCE checks permissions as each "
     "caller (as root, unless -o default_permissions is given: nodefault_permissions)",
     [](Options& o, const OptionValue&) {
       o.nocache = true;
       o.fs.entry_timeout = Timeout{};
       o.fs.attr_timeout = Timeout{};
       o.fs.timeouts_given = true;
     }},
    {"entry-timeout", 0, "entry_timeout", "S",
     "kernel cache timeout of directory entries (default: 1 day while the source watch is on, "
     "else 1 s)",
     [](Options& o, const OptionValue& v) {
       o.fs.entry_timeout = Timeout::Seconds(v.Seconds());
       o.fs.timeouts_given = true;
     }},
    {"attr-timeout", 0, "attr_timeout", "S", "kernel cache timeout of attributes (as above)",
     [](Options& o, const OptionValue& v) {
       o.fs.attr_timeout = Timeout::Seconds(v.Seconds());
       o.fs.timeouts_given = true;
     }},
    {"watch-source", 0, "watch_source", "auto|off",
     "watch SOURCE with fanotify for changes made outside the mount and drop them from the "
     "kernel's caches at once, so entries, attributes and negative lookups can be cached for "
     "long (auto, the default: where the daemon has CAP_SYS_ADMIN and SOURCE's filesystem "
     "reports file ids)",
     [](Options& o, const OptionValue& v) { o.fs.watch_source = v.Choice({"auto", "off"}) == 0; }},
    {"private-mount", 0, "private_mount", "auto|off",
     "with the source watch, reach SOURCE through a private copy of its mounts (open_tree), so "
     "that the mount's own passthrough writes raise no fanotify events (auto, the default, where "
     "the kernel allows it). A filesystem mounted inside SOURCE after the start then shows only "
     "where mount propagation carries it; off: SOURCE's own mounts",
     [](Options& o, const OptionValue& v) {
       o.fs.private_mounts = v.Choice({"auto", "off"}) == 0;
     }},
    {"fd-cache", 0, "fd_cache", "N",
     "bound on cached O_PATH fds (default: half the fd limit, at most 16384; at the limit, half "
     "of them are closed)",
     [](Options& o, const OptionValue& v) {
       o.fs.fd_cache_slots = v.Int(16, 1 << 20);
       o.fd_cache_given = true;
     }},
    {"backing-cache", 0, "backing_cache", "N",
     "passthrough backings kept registered after a file's last close, so reopening it costs no "
     "registration (default 4096; 0: closed at the last close)",
     [](Options& o, const OptionValue& v) { o.fs.idle_backings = v.Int(0, 1 << 20); }},
    {"passthrough", 0, "passthrough", "auto|off",
     "kernel passthrough of file reads, writes and mmap (default auto: used when the kernel "
     "offers it and the daemon has CAP_SYS_ADMIN; otherwise the daemon serves the data)",
     [](Options& o, const OptionValue& v) {
       o.passthrough = v.Choice({"auto", "off"}) == 0 ? Options::Passthrough::kAuto
                                                       : Options::Passthrough::kOff;
     }},
    {"writeback", 0, "writeback", "",
     "use the kernel's writeback cache instead (turns passthrough off)",
     [](Options& o, const OptionValue&) { o.writeback = true; }},
    {"locks", 0, "locks", "server|kernel",
     "who keeps POSIX (fcntl) and flock locks: the daemon, on SOURCE, so they also conflict "
     "with programs using SOURCE directly (server, the default), or the kernel, for the mount's "
     "users only; then no close waits for a FLUSH",
     [](Options& o, const OptionValue& v) {
       o.fs.kernel_locks = v.Choice({"server", "kernel"}) == 1;
     }},
    {"readdirplus", 0, "readdirplus", "auto|all|off",
     "attributes with listings (READDIRPLUS_AUTO). auto (default): directories always; files of "
     "a listing's first chunk as the daemon learns whether their names get looked up next (a "
     "name-only find: no; ls -l, rm -rf: yes); later chunks always. all: every entry of every "
     "chunk. off: names only, each stat then looks the entry up",
     [](Options& o, const OptionValue& v) {
       constexpr ListingAttributes kByChoice[] = {ListingAttributes::kAdaptive,
                                                  ListingAttributes::kAll, ListingAttributes::kOff};
       o.fs.listing_attributes = kByChoice[v.Choice({"auto", "all", "off"})];
     }},
    {"max-stack-depth", 0, "max_stack_depth", "1|2",
     "with passthrough: 1 = the mount may itself sit under overlayfs; 2 = SOURCE may be on "
     "overlayfs or FUSE (the mount then cannot be stacked further). Default 1.",
     [](Options& o, const OptionValue& v) { o.max_stack_depth = v.Int(1, 2); }},
    {"request-timeout", 0, "request_timeout", "S",
     "abort the connection when a request has waited S seconds for the daemon (1-65535; Linux "
     "6.14+; the kernel checks every 15 s: with S=1 a caller of a stopped daemon got "
     "ECONNABORTED after 29 s here, instead of hanging for ever); the mount must then be "
     "unmounted. The kernel does not enforce it on io_uring queues, so with it the transport is "
     "/dev/fuse unless --transport=uring. Default 0: none (the system-wide "
     "/proc/sys/fs/fuse/default_request_timeout still applies)",
     [](Options& o, const OptionValue& v) { o.request_timeout = v.Int(0, 65535); }},
    {"poll-us", 0, "poll_us", "N",
     "with io_uring: after a request a queue's thread keeps reaping its ring, yielding its CPU "
     "to anything runnable, for a window that adapts to how closely requests follow one "
     "another, at most N microseconds, before it sleeps; this keeps callers from being woken "
     "on an idle CPU (0-1000; default 200; 0: sleeps at once; docs/transport.md has the "
     "measurements)",
     [](Options& o, const OptionValue& v) { o.poll_us = v.Int(0, 1000); }},
    {"sync-init", 0, "sync_init", "auto|off",
     "answer INIT during mount(2) where the kernel offers it (Linux 6.18, mounting as root, "
     "not with --restartable): the mount is complete when mount(2) returns, and a refused INIT "
     "fails the mount instead of leaving a dead one (default auto; off: INIT after mount(2))",
     [](Options& o, const OptionValue& v) { o.sync_init = v.Choice({"auto", "off"}) == 0; }},
    {"transport", 0, "transport", "dev|uring|auto",
     "how requests reach the daemon: reads of /dev/fuse (dev), FUSE over io_uring with one ring "
     "queue per CPU (uring: Linux 6.14+ with /sys/module/fuse/parameters/enable_uring = Y, else "
     "an error), or io_uring where the kernel offers it and /dev/fuse elsewhere (auto, the "
     "default)",
     [](Options& o, const OptionValue& v) {
       constexpr Options::Transport kByChoice[] = {
           Options::Transport::kDev, Options::Transport::kUring, Options::Transport::kAuto};
       o.transport = kByChoice[v.Choice({"dev", "uring", "auto"})];
     }},
    {"stats-file", 0, "stats_file", "PATH",
     "on SIGUSR1, write request and data-path counters here (they always go to the log too)",
     [](Options& o, const OptionValue& v) { o.stats_file = v.text(); }},
    {"inode-passthrough", 0, "inode_passthrough", "OPS",
     "inode ops the kernel may do itself on the backing inode, where the kernel offers inode "
     "passthrough (a proposed kernel feature; otherwise the daemon serves them). OPS: "
     "getattr,setattr,readdir (separated by ':' in -o), all or none",
     [](Options& o, const OptionValue& v) { o.fs.inode_passthrough_ops = ParseInodeOps(v); }},
    {"readdirpassthrough", 0, "readdirpassthrough", "",
     "same as --inode-passthrough=getattr,readdir",
     // The demo's switch: directories list through the kernel (and their
     // attributes come from the backing inode as well).
     [](Options& o, const OptionValue&) {
       o.fs.inode_passthrough_ops |= kInodeOpReaddir | kInodeOpGetattr;
     }},
    {"no-handles", 0, "no_handles", "", "hold an O_PATH fd per inode instead of a file handle",
     [](Options& o, const OptionValue&) { o.fs.handles = Handles::kOff; }},
    {"export", 0, "export", "",
     "make the mount's file handles last (NFS export, open_by_handle_at after the kernel "
     "forgot the inode): nodeids are derived from SOURCE's own handles. Needs root and SOURCE "
     "on ext4, xfs or tmpfs; mounts inside SOURCE answer EXDEV; excludes --inode-passthrough",
     [](Options& o, const OptionValue&) { o.fs.export_handles = true; }},
    {"export-table", 0, "export_table", "",
     "with --export: nodeids from a table kept in the state directory instead of derived from "
     "SOURCE's handles (the table is used anyway on filesystems whose handles are not an inode "
     "number and a generation, such as btrfs)",
     [](Options& o, const OptionValue&) { o.fs.export_table = true; }},
    {"state-dir", 0, "state_dir", "DIR",
     "where state that outlives the daemon is kept (the --export nodeid table; default "
     "/var/lib/passthroughfs, ~/.local/state/passthroughfs for other users)",
     [](Options& o, const OptionValue& v) { o.fs.state_dir = v.text(); }},
    {"restartable", 0, "restartable", "",
     "a supervisor process keeps the FUSE connection and starts the server again if it dies "
     "(kill -9, a crash): open files, working directories and mappings in the mount go on, "
     "and requests in flight are sent again. Implies --export; serves /dev/fuse",
     [](Options& o, const OptionValue&) {
       o.restartable = true;
       o.fs.export_handles = true;
     }},
    {"hide", 0, "hide", "GLOB",
     "policy: names matching GLOB do not exist through the mount (not listed, not found, "
     "cannot be created or renamed onto: EACCES); without '/' GLOB matches a name's last "
     "component (*.key), with '/' its path under SOURCE (build/*/cache); repeatable",
     [](Options& o, const OptionValue& v) {
       if (v.text().empty()) v.Fail("needs a glob");
       UseModule(o, "hide");
       o.hide_globs.push_back(v.text());
     }},
    {"read-only", 0, "read_only", "PATH",
     "policy: everything at or under PATH (relative to SOURCE) answers EROFS to every change "
     "through the mount (writes, creating, removing, renaming into or out of it, linking to "
     "files inside, chmod, chown, xattrs) while the rest stays writable; repeatable",
     [](Options& o, const OptionValue& v) {
       std::string why;
       std::optional<std::string> path = modules::NormalizeRelativePath(v.text(), &why);
       if (!path) v.Fail(why);
       UseModule(o, "read-only");
       o.read_only_paths.push_back(*path);
     }},
    {"map-owner", 0, "map_owner", "FROM:TO",
     "policy (bindfs's --map): files owned by user FROM in SOURCE are shown as owned by TO, "
     "TO's new files and chowns to TO are stored as FROM, and TO acts on SOURCE as FROM; user "
     "ids or names; repeatable; needs default_permissions (the kernel checks the shown owners)",
     [](Options& o, const OptionValue& v) {
       UseModule(o, "map-owner");
       AddIdMap(v, /*groups=*/false, &o.map_users);
     }},
    {"map-group", 0, "map_group", "FROM:TO",
     "the same for groups (group ids or names); repeatable",
     [](Options& o, const OptionValue& v) {
       UseModule(o, "map-owner");
       AddIdMap(v, /*groups=*/true, &o.map_groups);
     }},
    {"audit", 0, "audit", "FILE",
     "policy: append one JSON line per change made through the mount (create, mkdir, mknod, "
     "symlink, link, unlink, rmdir, rename, setattr, xattrs, opens for writing and each open's "
     "first write) to FILE, with time, uid, gid, pid, op, path(s) under SOURCE and result; "
     "SIGHUP reopens FILE (logrotate); format in docs/audit.md",
     [](Options& o, const OptionValue& v) {
       if (v.text().empty()) v.Fail("needs a file");
       if (!o.audit_file.empty()) v.Fail("may be given once");
       UseModule(o, "audit");
       o.audit_file = v.text();
     }},
    {"audit-reads", 0, "audit_reads", "",
     "with --audit, also log opens for reading and directory listings",
     [](Options& o, const OptionValue&) { o.audit_reads = true; }},
    {"audit-full", 0, "audit_full", "refuse|continue",
     "when the audit file cannot be written (disk full, I/O error): refuse every change with "
     "that error until it can (refuse, the default: nothing goes unaudited), or let changes go "
     "on, their lines waiting in memory (up to 4 MiB, then dropped and counted) (continue)",
     [](Options& o, const OptionValue& v) {
       o.audit_full_continue = v.Choice({"refuse", "continue"}) == 1;
       o.audit_full_given = true;
     }},
    {"help", 'h', "", "", "this text", [](Options& o, const OptionValue&) { o.help = true; }},
    {"version", 'V', "", "", "version", [](Options& o, const OptionValue&) { o.version = true; }},

    // Mount options the kernel (or fusermount3) acts on.
    {"", 0, "allow_other", "", "let other users use the mount (as root, each operation then runs "
     "as its caller)",
     [](Options& o, const OptionValue&) { o.mount.allow_other = true; }},
    {"", 0, "default_permissions", "",
     "the kernel checks permissions from the attributes (on by default)",
     [](Options& o, const OptionValue&) {
       o.mount.default_permissions = true;
       o.permissions_given = true;
     }},
    {"", 0, "nodefault_permissions", "",
     "SOURCE checks them, as each caller (as root; with allow_other, every path is then looked "
     "up as its caller)",
     [](Options& o, const OptionValue&) {
       o.mount.default_permissions = false;
       o.permissions_given = true;
     }},
    {"", 0, "ro", "", "read-only or read-write mount (default rw)",
     [](Options& o, const OptionValue&) { o.mount.read_only = true; }},
    {"", 0, "rw", "", "", [](Options& o, const OptionValue&) { o.mount.read_only = false; }},
    {"", 0, "fsname", "NAME", "the mount's source in /proc/mounts (default: SOURCE)",
     [](Options& o, const OptionValue& v) { o.mount.fsname = v.text(); }},
    {"", 0, "subtype", "NAME", "the mount's type is fuse.NAME (default passthroughfs)",
     [](Options& o, const OptionValue& v) { o.mount.subtype = v.text(); }},
    {"", 0, "nosuid", "", "default nosuid,nodev, as every FUSE mount", &MountFlags<MS_NOSUID, 0>},
    {"", 0, "suid", "", "", &MountFlags<0, MS_NOSUID>},
    {"", 0, "nodev", "", "", &MountFlags<MS_NODEV, 0>},
    {"", 0, "dev", "", "", &MountFlags<0, MS_NODEV>},
    {"", 0, "noexec", "", "as for any mount", &MountFlags<MS_NOEXEC, 0>},
    {"", 0, "exec", "", "", &MountFlags<0, MS_NOEXEC>},
    {"", 0, "sync", "", "", &MountFlags<MS_SYNCHRONOUS, 0>},
    {"", 0, "async", "", "", &MountFlags<0, MS_SYNCHRONOUS>},
    {"", 0, "dirsync", "", "", &MountFlags<MS_DIRSYNC, 0>},
    {"", 0, "lazytime", "", "", &MountFlags<MS_LAZYTIME, 0>},
    {"", 0, "nolazytime", "", "", &MountFlags<0, MS_LAZYTIME>},
    {"", 0, "noatime", "",
     "access-time rule of the mount, which reads through it (kernel passthrough included) "
     "apply to SOURCE's files (default relatime)",
     &MountFlags<MS_NOATIME, kAtimeRules & ~MS_NOATIME>},
    {"", 0, "relatime", "", "", &MountFlags<MS_RELATIME, kAtimeRules & ~MS_RELATIME>},
    {"", 0, "strictatime", "", "", &MountFlags<MS_STRICTATIME, kAtimeRules & ~MS_STRICTATIME>},
    {"", 0, "atime", "", "", &MountFlags<0, MS_NOATIME>},
    {"", 0, "nodiratime", "", "", &MountFlags<MS_NODIRATIME, 0>},
    {"", 0, "diratime", "", "", &MountFlags<0, MS_NODIRATIME>},
    {"", 0, "remount", "",
     "change ro/rw and the flags above of the running mount at MOUNTPOINT, then exit; flags "
     "not named keep their value (SOURCE may be left out; `mount -o remount,ro MOUNTPOINT` "
     "runs this; needs root)",
     [](Options& o, const OptionValue&) { o.remount = true; }},
    // What /proc/mounts shows of a FUSE mount; mount(8) passes them back on
    // a remount, where they are ignored (the kernel keeps its own).
    {"", 0, "user_id", "N",
     "what /proc/mounts shows; mount(8) passes them back with remount, which ignores them",
     &KernelShown},
    {"", 0, "group_id", "N", "", &KernelShown},
    {"", 0, "rootmode", "M", "", &KernelShown},
    {"", 0, "max_read", "N", "", &KernelShown},
    {"", 0, "blksize", "N", "", &KernelShown},
    {"", 0, "auto_unmount", "",
     "unmount when the daemon ends however it ends (kill -9, a crash), as root too: a guard "
     "process (passthroughfs-unmount-guard) waits for it",
     &FusermountOption},
    {"", 0, "allow_root", "", "", &FusermountOption},
    // Only mount(8) and fstab act on these; they mean nothing to the filesystem.
    {"", 0, "defaults", "", kFstabOnly, &Ignored},
    {"", 0, "auto", "", "", &Ignored},
    {"", 0, "noauto", "", "", &Ignored},
    {"", 0, "user", "", "", &Ignored},
    {"", 0, "nouser", "", "", &Ignored},
    {"", 0, "users", "", "", &Ignored},
    {"", 0, "owner", "", "", &Ignored},
    {"", 0, "group", "", "", &Ignored},
    {"", 0, "nofail", "", "", &Ignored},
    {"", 0, "_netdev", "", "", &Ignored},
    {"", 0, "loop", "", "", &Ignored},
    {"", 0, "comment", "TEXT", "", &Ignored},
    {"", 0, "x-*", "", "", &Ignored},
};

template <typename Match>
const OptionSpec* Find(std::span<const OptionSpec> table, Match match) {
  for (const OptionSpec& s : table) {
    if (match(s)) return &s;
  }
  return nullptr;
}

// The option table with the options of modules from outside (`extra`)
// after the daemon's own options, before --help; `keys` holds their -o keys
// (reserved here, so the table's views of them stay valid).
std::vector<OptionSpec> WithModules(std::span<const ModuleOption> extra,
                                    std::vector<std::string>* keys) {
  std::vector<OptionSpec> table(std::begin(kOptions), std::end(kOptions));
  if (extra.empty()) return table;
  keys->reserve(extra.size());
  auto at = std::find_if(table.begin(), table.end(),
                         [](const OptionSpec& s) { return s.long_name == "help"; });
  std::vector<OptionSpec> added;
  for (const ModuleOption& m : extra) {
    const std::string what = "module option '" + m.name + "'";
    const bool valid = !m.name.empty() && m.name[0] >= 'a' && m.name[0] <= 'z' &&
                       m.name.back() != '-' &&
                       m.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") ==
                           std::string::npos;
    if (!valid) {
      throw std::invalid_argument(what + ": a name is lower-case letters, digits and '-'");
    }
    if (!m.load) throw std::invalid_argument(what + " has no load function");
    std::string key = m.name;
    std::replace(key.begin(), key.end(), '-', '_');
    auto taken = [&](const OptionSpec& s) { return s.long_name == m.name || s.key == key; };
    if (std::any_of(table.begin(), table.end(), taken) ||
        std::any_of(added.begin(), added.end(), taken)) {
      throw std::invalid_argument(what + " is taken: --" + m.name + " or -o " + key +
                                  " is already an option");
    }
    keys->push_back(std::move(key));
    added.push_back({m.name, 0, keys->back(), m.value_name, m.help, nullptr, &m});
  }
  table.insert(at, added.begin(), added.end());
  return table;
}

// Gives `v` to `spec`: the daemon's options set fields of `o`; a module's
// from outside loads the module now, so that a bad value is an error of the
// command line like any other.
void Set(Options* o, const OptionSpec& spec, const OptionValue& v) {
  const std::string value = spec.value.empty() ? "" : "=" + v.text();
  o->given.push_back(spec.key.empty() ? "--" + std::string(spec.long_name) + value
                                      : std::string(spec.key) + value);
  if (spec.module == nullptr) return spec.apply(*o, v);
  ModuleChain::Factory factory;
  try {
    factory = spec.module->load(v.text());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(v.name() + ": " + e.what());
  }
  if (!factory) return;  // the option asked for no module
  o->modules.push_back(spec.module->name);
  o->loaded_modules.push_back({spec.module->name, v.text(), std::move(factory)});
}

// Applies `spec` as given under `name`; `value` is null when none was given
// with the option itself (--name VALUE, -t VALUE: `next` supplies it).
template <typename Next>
void Apply(Options* o, const OptionSpec& spec, const std::string& name, const std::string* value,
           Next next) {
  if (spec.value.empty()) {
    if (value != nullptr) throw std::invalid_argument(name + " takes no value");
    Set(o, spec, OptionValue(name, ""));
  } else {
    Set(o, spec, OptionValue(name, value != nullptr ? *value : next()));
  }
}

void ApplyMountOption(Options* o, std::span<const OptionSpec> table, const std::string& opt) {
  const size_t eq = opt.find('=');
  const std::string key = opt.substr(0, eq);
  const OptionSpec* spec = Find(table, [&](const OptionSpec& s) {
    if (s.key.ends_with('*')) return opt.starts_with(s.key.substr(0, s.key.size() - 1));
    return !s.key.empty() && s.key == key;
  });
  if (spec == nullptr) throw std::invalid_argument("unknown mount option '" + opt + "'");
  if (spec->key.ends_with('*')) return spec->apply(*o, OptionValue(opt, ""));
  const std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
  Apply(o, *spec, "-o " + key, eq == std::string::npos ? nullptr : &value,
        [&]() -> std::string { throw std::invalid_argument("-o " + key + " needs a value"); });
}

void ApplyMountOptions(Options* o, std::span<const OptionSpec> table, const std::string& list) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) ApplyMountOption(o, table, list.substr(start, comma - start));
    start = comma + 1;
  }
}

// Appends `text` to `out` in lines of at most 80 columns, each after `indent`
// spaces; the first line continues `out`'s last one if `column` leaves room.
void AppendWrapped(std::string* out, size_t column, std::string_view text) {
  constexpr size_t kIndent = 22, kWidth = 80;
  if (column + 2 > kIndent) {
    *out += '\n';
    column = 0;
  }
  out->append(kIndent - column, ' ');
  column = kIndent;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(start, end - start);
    if (column > kIndent && column + 1 + word.size() > kWidth) {
      out->append("\n").append(kIndent, ' ');
      column = kIndent;
    } else if (column > kIndent) {
      *out += ' ';
      ++column;
    }
    out->append(word);
    column += word.size();
    start = end + 1;
  }
  *out += '\n';
}

// "  -t, --threads=N, -o threads=N" or, for -o only options, "  ro, rw"
// (over more lines where a group is long).
std::string UsageLine(std::span<const OptionSpec> group) {
  const OptionSpec& first = group.front();
  std::string line = "  ";
  if (!first.long_name.empty()) {
    line += first.short_name != 0 ? std::string{'-', first.short_name, ',', ' '} : "    ";
    line.append("--").append(first.long_name);
    if (!first.value.empty()) line.append("=").append(first.value);
    if (!first.key.empty()) line.append(", -o ");
  }
  size_t line_start = 0;
  for (const OptionSpec& s : group) {
    std::string name(s.key);
    if (!s.value.empty()) name.append("=").append(s.value);
    if (&s != &group.front()) {
      const bool fits = line.size() - line_start + 2 + name.size() <= 78;
      line += fits ? ", " : ",\n  ";
      if (!fits) line_start = line.size() - 2;
    }
    line += name;
  }
  return line;
}

}  // namespace

std::span<const OptionSpec> OptionTable() { return kOptions; }

std::string Usage(const char* argv0, std::span<const ModuleOption> extra) {
  std::string out = std::string("usage: ") + argv0 +
                    " [options] SOURCE MOUNTPOINT\n"
                    "       " + argv0 + " status [--json] MOUNTPOINT\n"
                    "\n"
                    "Mirrors the directory SOURCE at MOUNTPOINT through FUSE.\n"
                    "\n"
                    "options (each also as -o KEY[=VALUE], so fstab lines can carry it):\n";
  std::vector<std::string> keys;
  const std::vector<OptionSpec> table = WithModules(extra, &keys);
  bool mount_heading = false;
  for (size_t i = 0; i < table.size();) {
    size_t n = 1;  // the entry and those shown with it
    while (i + n < table.size() && table[i + n].help.empty()) ++n;
    if (table[i].long_name.empty() && !mount_heading) {
      out += "\nmount options (-o OPT[,OPT...]):\n";
      mount_heading = true;
    }
    const std::string line = UsageLine(std::span(table).subspan(i, n));
    out += line;
    AppendWrapped(&out, line.size() - (line.rfind('\n') + 1), table[i].help);
    i += n;
  }
  out += "\nAnything else is an error, so that a typo does not mount with the wrong policy.\n";
  return out;
}

transport::MountRequest RemountRequest(const Options& o, unsigned long current_st_flags) {
  Options r = o;
  // statfs(2)'s ST_* flag -> mount(2)'s MS_* flag (ST_RELATIME differs).
  static constexpr std::pair<unsigned long, unsigned long> kKept[] = {
      {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},         {ST_NOEXEC, MS_NOEXEC},
      {ST_SYNCHRONOUS, MS_SYNCHRONOUS}, {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
      {ST_RELATIME, MS_RELATIME}};
  r.mount.flags = 0;
  for (const auto& [st, ms] : kKept) {
    if ((current_st_flags & st) != 0) r.mount.flags |= ms;
  }
  if ((current_st_flags & (ST_NOATIME | ST_RELATIME)) == 0) r.mount.flags |= MS_STRICTATIME;
  r.mount.read_only = (current_st_flags & ST_RDONLY) != 0;
  const std::span<const OptionSpec> table = OptionTable();
  for (const std::string& given : o.given) {
    if (!given.starts_with("--")) ApplyMountOption(&r, table, given);
  }
  return r.mount;
}

Options ParseOptions(int argc, char** argv, std::span<const ModuleOption> extra) {
  std::vector<std::string> keys;
  const std::vector<OptionSpec> table = WithModules(extra, &keys);
  Options o;
  o.mount.flags = MS_NOSUID | MS_NODEV;  // FUSE's safe defaults, as libfuse
  o.mount.subtype = "passthroughfs";
  o.fs.watch_source = true;  // the library's default is off; the daemon's on
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next_arg = [&](const std::string& name) -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(name + " needs a value");
      return argv[++i];
    };
    if (arg == "--") {
      for (++i; i < argc; ++i) positional.emplace_back(argv[i]);
      break;
    }
    if (arg == "-o") {
      ApplyMountOptions(&o, table, next_arg(arg));
    } else if (arg.starts_with("-o")) {
      ApplyMountOptions(&o, table, arg.substr(2));
    } else if (arg.starts_with("--")) {
      // --name, --name=VALUE or --name VALUE; the name must match exactly.
      const size_t eq = arg.find('=');
      const std::string name = arg.substr(0, eq);
      const OptionSpec* spec = Find(table, [&](const OptionSpec& s) {
        return !s.long_name.empty() && name.substr(2) == s.long_name;
      });
      if (spec == nullptr) throw std::invalid_argument("unknown option '" + name + "'");
      const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
      Apply(&o, *spec, name, eq == std::string::npos ? nullptr : &value,
            [&] { return next_arg(name); });
    } else if (arg.size() > 1 && arg[0] == '-') {
      // As getopt(3): flags may be grouped (-fq), and an option that takes
      // a value takes the rest of the word (-t4) or the next one (-t 4).
      for (size_t c = 1; c < arg.size(); ++c) {
        const std::string name = std::string("-") + arg[c];
        const OptionSpec* spec =
            Find(table, [&](const OptionSpec& s) { return s.short_name == arg[c]; });
        if (spec == nullptr) {
          throw std::invalid_argument("unknown option '" + name + "'" +
                                      (c > 1 ? " in '" + arg + "'" : ""));
        }
        if (!spec->value.empty() && c + 1 < arg.size()) {
          const std::string value = arg.substr(c + 1);
          Apply(&o, *spec, name, &value, [&] { return next_arg(name); });
          break;
        }
        Apply(&o, *spec, name, nullptr, [&] { return next_arg(name); });
      }
    } else {
      positional.push_back(arg);
    }
  }
  if (o.help || o.version) return o;
  if (!o.kernel_shown.empty() && !o.remount) {
    throw std::invalid_argument("-o " + o.kernel_shown +
                                " is set by the kernel; it is accepted only with -o remount");
  }
  if ((!o.map_users.empty() || !o.map_groups.empty()) && o.permissions_given &&
      !o.mount.default_permissions) {
    throw std::invalid_argument(
        "--map-owner/--map-group need default_permissions: the kernel checks the owners shown");
  }
  if (o.fs.export_handles && o.fs.inode_passthrough_ops != 0) {
    throw std::invalid_argument(
        "--export and --inode-passthrough exclude each other: one derives nodeids from file "
        "handles, the other needs nodeid == st_ino");
  }
  if (o.restartable && o.transport == Options::Transport::kUring) {
    // A request made while no process has ring entries registered is lost
    // (docs/persistent-identity.md); on /dev/fuse it waits in the queue.
    throw std::invalid_argument(
        "--restartable serves /dev/fuse: a request made while the server restarts would be "
        "lost over io_uring");
  }
  if (o.restartable) o.transport = Options::Transport::kDev;
  if (o.fs.export_table && !o.fs.export_handles) {
    throw std::invalid_argument("--export-table goes with --export (or --restartable)");
  }
  if (o.fs.export_handles && o.fs.handles == Handles::kOff) {
    throw std::invalid_argument("--export needs file handles (not --no-handles)");
  }
  if (o.audit_file.empty() && (o.audit_reads || o.audit_full_given)) {
    throw std::invalid_argument(std::string(o.audit_reads ? "--audit-reads" : "--audit-full") +
                                " needs --audit=FILE");
  }
  if (o.remount && positional.size() == 1) {
    // `passthroughfs -o remount,ro MOUNTPOINT`: no SOURCE is needed.
    o.mountpoint = o.mount.mountpoint = positional[0];
    return o;
  }
  if (positional.size() != 2) {
    throw std::invalid_argument("expected SOURCE and MOUNTPOINT (try --help)");
  }
  o.source = positional[0];
  o.mountpoint = positional[1];
  o.fs.source = o.source;
  o.mount.mountpoint = o.mountpoint;
  if (o.mount.fsname.empty()) o.mount.fsname = o.source;
  return o;
}

}  // namespace ptfs::cmd
