#include "cmd/passthroughfs/options.h"

#include <sys/mount.h>

#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace ptfs::cmd {
namespace {

int ParseInt(std::string_view what, const std::string& value, int lo, int hi) {
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || v < lo || v > hi) {
    throw std::invalid_argument(std::string(what) + " must be an integer in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                                value + "'");
  }
  return static_cast<int>(v);
}

double ParseSeconds(std::string_view what, const std::string& value) {
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || v < 0 || v > 1e9) {
    throw std::invalid_argument(std::string(what) + " must be a number of seconds, got '" +
                                value + "'");
  }
  return v;
}

uint32_t ParseInodeOps(const std::string& list) {
  if (list == "all") return kInodeOpsAll;
  if (list == "none") return 0;
  uint32_t ops = 0;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string op = list.substr(start, comma - start);
    if (op == "getattr") ops |= kInodeOpGetattr;
    else if (op == "setattr") ops |= kInodeOpSetattr;
    else if (op == "readdir") ops |= kInodeOpReaddir;
    else throw std::invalid_argument("--inode-passthrough: unknown op '" + op +
                                     "' (getattr, setattr, readdir, all, none)");
    start = comma + 1;
  }
  return ops;
}

void SetNoCache(Options* o) {
  o->nocache = true;
  o->fs.entry_timeout = Timeout{};
  o->fs.attr_timeout = Timeout{};
  o->fs.timeouts_given = true;
}

// --locks=server|kernel: true for kernel-kept locks.
bool ParseLocks(const std::string& v) {
  if (v == "server") return false;
  if (v == "kernel") return true;
  throw std::invalid_argument("--locks must be server or kernel, got '" + v + "'");
}

bool ParseWatch(const std::string& v) {
  if (v == "auto") return true;
  if (v == "off") return false;
  throw std::invalid_argument("--watch-source must be auto or off, got '" + v + "'");
}

bool ParsePrivateMount(const std::string& v) {
  if (v == "auto") return true;
  if (v == "off") return false;
  throw std::invalid_argument("--private-mount must be auto or off, got '" + v + "'");
}

// One -o option. Mount flags the kernel knows are applied; options that only
// mount(8)/fstab care about are accepted and ignored; anything else is an
// error, so that a typo does not silently mount with the wrong policy.
Options::Transport ParseTransport(const std::string& v) {
  if (v == "dev") return Options::Transport::kDev;
  if (v == "uring") return Options::Transport::kUring;
  if (v == "auto") return Options::Transport::kAuto;
  throw std::invalid_argument("--transport must be dev, uring or auto, got '" + v + "'");
}

void ApplyMountOption(Options* o, const std::string& opt) {
  const auto eq = opt.find('=');
  const std::string key = opt.substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
  auto& m = o->mount;
  struct Flag {
    const char* name;
    unsigned long set;
    unsigned long clear;
  };
  static constexpr Flag kFlags[] = {
      {"nosuid", MS_NOSUID, 0},        {"suid", 0, MS_NOSUID},
      {"nodev", MS_NODEV, 0},          {"dev", 0, MS_NODEV},
      {"noexec", MS_NOEXEC, 0},        {"exec", 0, MS_NOEXEC},
      {"noatime", MS_NOATIME, MS_RELATIME | MS_STRICTATIME},
      {"relatime", MS_RELATIME, MS_NOATIME | MS_STRICTATIME},
      {"strictatime", MS_STRICTATIME, MS_NOATIME | MS_RELATIME},
      {"atime", 0, MS_NOATIME},        {"nodiratime", MS_NODIRATIME, 0},
      {"diratime", 0, MS_NODIRATIME},  {"sync", MS_SYNCHRONOUS, 0},
      {"async", 0, MS_SYNCHRONOUS},    {"dirsync", MS_DIRSYNC, 0},
      {"lazytime", MS_LAZYTIME, 0},    {"nolazytime", 0, MS_LAZYTIME},
  };
  for (const Flag& f : kFlags) {
    if (opt == f.name) {
      m.flags = (m.flags | f.set) & ~f.clear;
      return;
    }
  }
  if (opt == "allow_other") m.allow_other = true;
  else if (opt == "default_permissions" || opt == "nodefault_permissions") {
    m.default_permissions = opt == "default_permissions";
    o->permissions_given = true;
  }
  else if (opt == "ro") m.read_only = true;
  else if (opt == "rw") m.read_only = false;
  else if (key == "fsname") m.fsname = value;
  else if (key == "subtype") m.subtype = value;
  else if (opt == "auto_unmount" || opt == "allow_root") {
    if (!m.fusermount_options.empty()) m.fusermount_options += ',';
    m.fusermount_options += opt;
  }
  // passthroughfs options, also accepted as -o so fstab lines can carry them.
  else if (key == "threads") o->threads = ParseInt("threads", value, 1, 256);
  else if (key == "passthrough" && (value == "auto" || value == "off")) {
    o->passthrough = value == "auto" ? Options::Passthrough::kAuto : Options::Passthrough::kOff;
  } else if (key == "transport") o->transport = ParseTransport(value);
  else if (opt == "writeback") o->writeback = true;
  else if (opt == "nocache") SetNoCache(o);
  else if (key == "entry_timeout") {
    o->fs.entry_timeout = Timeout::Seconds(ParseSeconds(key, value));
    o->fs.timeouts_given = true;
  } else if (key == "attr_timeout") {
    o->fs.attr_timeout = Timeout::Seconds(ParseSeconds(key, value));
    o->fs.timeouts_given = true;
  } else if (key == "watch_source") o->fs.watch_source = ParseWatch(value);
  else if (key == "private_mount") o->fs.private_mounts = ParsePrivateMount(value);
  else if (key == "locks") o->fs.kernel_locks = ParseLocks(value);
  // Only mount(8) and fstab act on these; they mean nothing to the filesystem.
  else if (opt == "defaults" || opt == "auto" || opt == "noauto" || opt == "user" ||
           opt == "nouser" || opt == "users" || opt == "owner" || opt == "group" ||
           opt == "nofail" || opt == "_netdev" || opt == "loop" || opt.rfind("x-", 0) == 0 ||
           opt.rfind("comment=", 0) == 0) {
  } else {
    throw std::invalid_argument("unknown mount option '" + opt + "'");
  }
}

void ApplyMountOptions(Options* o, const std::string& list) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) ApplyMountOption(o, list.substr(start, comma - start));
    start = comma + 1;
  }
}

}  // namespace

std::string Usage(const char* argv0) {
  return std::string("usage: ") + argv0 +
         " [options] SOURCE MOUNTPOINT\n"
         "\n"
         "Mirrors the directory SOURCE at MOUNTPOINT through FUSE.\n"
         "\n"
         "options:\n"
         "  -o OPT[,OPT...]     mount options (see below)\n"
         "  -f, --foreground    stay in the foreground (default: daemonize once mounted)\n"
         "  -d, --debug         log every request (implies --foreground)\n"
         "  -t, --threads=N     worker threads (default: number of CPUs, at least 2)\n"
         "      --nocache       entry and attribute timeouts 0: every stat asks, and\n"
         "                      SOURCE checks permissions as each caller (as root, unless\n"
         "                      -o default_permissions is given: nodefault_permissions)\n"
         "      --entry-timeout=S, --attr-timeout=S   kernel cache timeouts (default: 1 day\n"
         "                      while the source watch is on, else 1 s)\n"
         "      --watch-source=auto|off\n"
         "                      watch SOURCE with fanotify for changes made outside the\n"
         "                      mount and drop them from the kernel's caches at once, so\n"
         "                      entries, attributes and negative lookups can be cached for\n"
         "                      long (auto, the default: where the daemon has CAP_SYS_ADMIN\n"
         "                      and SOURCE's filesystem reports file ids)\n"
         "      --private-mount=auto|off\n"
         "                      with the source watch, reach SOURCE through a private copy\n"
         "                      of its mounts (open_tree), so that the mount's own\n"
         "                      passthrough writes raise no fanotify events (auto, the\n"
         "                      default, where the kernel allows it). A filesystem mounted\n"
         "                      inside SOURCE after the start then shows only where mount\n"
         "                      propagation carries it; off: SOURCE's own mounts\n"
         "      --fd-cache=N    bound on cached O_PATH fds (default: half the fd limit, at\n"
         "                      most 16384; at the limit, half of them are closed)\n"
         "      --backing-cache=N\n"
         "                      passthrough backings kept registered after a file's last\n"
         "                      close, so reopening it costs no registration (default\n"
         "                      4096; 0: closed at the last close)\n"
         "      --passthrough=auto|off\n"
         "                      kernel passthrough of file reads, writes and mmap (default\n"
         "                      auto: used when the kernel offers it and the daemon has\n"
         "                      CAP_SYS_ADMIN; otherwise the daemon serves the data)\n"
         "      --writeback     use the kernel's writeback cache instead (turns passthrough off)\n"
         "      --locks=server|kernel\n"
         "                      who keeps POSIX (fcntl) and flock locks: the daemon, on\n"
         "                      SOURCE, so they also conflict with programs using SOURCE\n"
         "                      directly (server, the default), or the kernel, for the\n"
         "                      mount's users only; then no close waits for a FLUSH\n"
         "      --readdirplus=auto|all|off\n"
         "                      attributes with listings (READDIRPLUS_AUTO). auto (default):\n"
         "                      directories always; files of a listing's first chunk as the\n"
         "                      daemon learns whether their names get looked up next (a\n"
         "                      name-only find: no; ls -l, rm -rf: yes); later chunks always.\n"
         "                      all: every entry of every chunk. off: names only, each stat\n"
         "                      then looks the entry up\n"
         "      --max-stack-depth=1|2\n"
         "                      with passthrough: 1 = the mount may itself sit under\n"
         "                      overlayfs; 2 = SOURCE may be on overlayfs or FUSE (the mount\n"
         "                      then cannot be stacked further). Default 1.\n"
         "      --transport=dev|uring|auto\n"
         "                      how requests reach the daemon: reads of /dev/fuse (dev),\n"
         "                      FUSE over io_uring with one ring queue per CPU (uring:\n"
         "                      Linux 6.14+ with /sys/module/fuse/parameters/enable_uring\n"
         "                      = Y, else an error), or io_uring where the kernel offers\n"
         "                      it and /dev/fuse elsewhere (auto, the default)\n"
         "      --stats-file=PATH  on SIGUSR1, write request and data-path counters here\n"
         "                      (they always go to the log too)\n"
         "      --inode-passthrough=getattr,setattr,readdir|all|none\n"
         "                      inode ops the kernel may do itself on the backing inode,\n"
         "                      where the kernel offers inode passthrough (a proposed\n"
         "                      kernel feature; otherwise the daemon serves them)\n"
         "      --readdirpassthrough  same as --inode-passthrough=getattr,readdir\n"
         "      --no-handles    hold an O_PATH fd per inode instead of a file handle\n"
         "  -h, --help          this text\n"
         "  -V, --version       version\n"
         "\n"
         "mount options (-o):\n"
         "  allow_other, default_permissions (on by default), nodefault_permissions,\n"
         "  ro, rw, fsname=NAME, subtype=NAME, suid/nosuid, dev/nodev, exec/noexec,\n"
         "  atime/noatime/relatime/strictatime, diratime/nodiratime, sync/async, dirsync,\n"
         "  auto_unmount (unprivileged mounts), threads=N, nocache, entry_timeout=S,\n"
         "  attr_timeout=S, watch_source=auto|off, private_mount=auto|off,\n"
         "  locks=server|kernel, transport=dev|uring|auto. fstab-only options\n"
         "  (defaults, noauto, user, nofail, _netdev, x-*) are accepted and ignored.\n";
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  o.mount.flags = MS_NOSUID | MS_NODEV;  // FUSE's safe defaults, as libfuse
  o.mount.subtype = "passthroughfs";
  o.fs.watch_source = true;  // the library's default is off; the daemon's on
  std::vector<std::string> positional;
  auto value_of = [&](int* i, const std::string& arg, const std::string& name) -> std::string {
    if (arg.size() > name.size() && arg[name.size()] == '=') return arg.substr(name.size() + 1);
    if (*i + 1 >= argc) throw std::invalid_argument(name + " needs a value");
    return argv[++*i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional.emplace_back(argv[i]);
      break;
    }
    if (arg == "-o") {
      if (i + 1 >= argc) throw std::invalid_argument("-o needs a value");
      ApplyMountOptions(&o, argv[++i]);
    } else if (arg.rfind("-o", 0) == 0 && arg.size() > 2) {
      ApplyMountOptions(&o, arg.substr(2));
    } else if (arg == "-f" || arg == "--foreground") {
      o.foreground = true;
    } else if (arg == "-d" || arg == "--debug" || arg == "-odebug") {
      o.debug = o.foreground = true;
    } else if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg == "-V" || arg == "--version") {
      o.version = true;
    } else if (arg == "-t" || arg.rfind("--threads", 0) == 0) {
      o.threads = ParseInt("--threads", value_of(&i, arg, arg == "-t" ? "-t" : "--threads"), 1, 256);
    } else if (arg == "--nocache") {
      SetNoCache(&o);
    } else if (arg.rfind("--entry-timeout", 0) == 0) {
      o.fs.entry_timeout = Timeout::Seconds(ParseSeconds(arg, value_of(&i, arg, "--entry-timeout")));
      o.fs.timeouts_given = true;
    } else if (arg.rfind("--attr-timeout", 0) == 0) {
      o.fs.attr_timeout = Timeout::Seconds(ParseSeconds(arg, value_of(&i, arg, "--attr-timeout")));
      o.fs.timeouts_given = true;
    } else if (arg.rfind("--watch-source", 0) == 0) {
      o.fs.watch_source = ParseWatch(value_of(&i, arg, "--watch-source"));
    } else if (arg.rfind("--private-mount", 0) == 0) {
      o.fs.private_mounts = ParsePrivateMount(value_of(&i, arg, "--private-mount"));
    } else if (arg.rfind("--fd-cache", 0) == 0) {
      o.fs.fd_cache_slots = ParseInt("--fd-cache", value_of(&i, arg, "--fd-cache"), 16, 1 << 20);
      o.fd_cache_given = true;
    } else if (arg.rfind("--backing-cache", 0) == 0) {
      o.fs.idle_backings =
          ParseInt("--backing-cache", value_of(&i, arg, "--backing-cache"), 0, 1 << 20);
    } else if (arg.rfind("--passthrough", 0) == 0) {
      const std::string v = value_of(&i, arg, "--passthrough");
      if (v == "auto") o.passthrough = Options::Passthrough::kAuto;
      else if (v == "off") o.passthrough = Options::Passthrough::kOff;
      else throw std::invalid_argument("--passthrough must be auto or off, got '" + v + "'");
    } else if (arg.rfind("--inode-passthrough", 0) == 0) {
      o.fs.inode_passthrough_ops = ParseInodeOps(value_of(&i, arg, "--inode-passthrough"));
    } else if (arg == "--readdirpassthrough") {
      // The demo's switch: directories list through the kernel (and their
      // attributes come from the backing inode as well).
      o.fs.inode_passthrough_ops |= kInodeOpReaddir | kInodeOpGetattr;
    } else if (arg.rfind("--locks", 0) == 0) {
      o.fs.kernel_locks = ParseLocks(value_of(&i, arg, "--locks"));
    } else if (arg.rfind("--readdirplus", 0) == 0) {
      const std::string v = value_of(&i, arg, "--readdirplus");
      using LA = passthrough::PassthroughOptions::ListingAttributes;
      if (v == "auto") o.fs.listing_attributes = LA::kAdaptive;
      else if (v == "all") o.fs.listing_attributes = LA::kAll;
      else if (v == "off") o.fs.listing_attributes = LA::kOff;
      else throw std::invalid_argument("--readdirplus must be auto, all or off, got '" + v + "'");
    } else if (arg == "--writeback") {
      o.writeback = true;
    } else if (arg.rfind("--max-stack-depth", 0) == 0) {
      o.max_stack_depth = ParseInt("--max-stack-depth", value_of(&i, arg, "--max-stack-depth"), 1, 2);
    } else if (arg.rfind("--transport", 0) == 0) {
      o.transport = ParseTransport(value_of(&i, arg, "--transport"));
    } else if (arg.rfind("--stats-file", 0) == 0) {
      o.stats_file = value_of(&i, arg, "--stats-file");
    } else if (arg == "--no-handles") {
      o.fs.handles = passthrough::PassthroughOptions::Handles::kOff;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw std::invalid_argument("unknown option '" + arg + "'");
    } else {
      positional.push_back(arg);
    }
  }
  if (o.help || o.version) return o;
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
