// Command line of the passthroughfs daemon.
//
// One table (OptionTable) lists every option once: its --long name, its
// -o key, what its value looks like, its help text and how it applies its
// value. Both parsers (--long[=VALUE] / --long VALUE and -o KEY[=VALUE],...)
// and the --help text are driven by it, so every daemon option can also be
// given as -o, where mount(8) and fstab lines put options.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mirror/mirror_fs.h"
#include "modules/map_owner.h"
#include "ptfs/daemon.h"
#include "ptfs/module.h"
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
  int request_timeout = 0;     // seconds; 0: none (FUSE_REQUEST_TIMEOUT)
  bool sync_init = true;       // INIT during mount(2) where offered
  int poll_us = 200;           // io_uring queue threads poll at most this long before sleeping
  std::string stats_file;      // rewritten on SIGUSR1
  // Where the log goes (--log): unset, stderr in the foreground and syslog
  // once daemonized (a file when there is no syslog: daemon.cc); or
  // "syslog", "stderr" (kept open by the daemon) or a file's path.
  std::string log;
  int log_level = 2;  // --log-level: 0 error, 1 warn, 2 info (default), 3 debug
  bool quiet = false; // -q: no summary line when the mount is live
  // How requests reach the daemon: /dev/fuse reads and writes, FUSE over
  // io_uring, or io_uring when the kernel offers it (the default;
  // docs/transport.md).
  enum class Transport { kDev, kUring, kAuto } transport = Transport::kAuto;
  // --restartable: a supervisor keeps the connection and starts the server
  // again when it dies (supervisor.h). Implies --export; serves /dev/fuse.
  bool restartable = false;
  // --nocache, and whether -o [no]default_permissions was given: with
  // nothing cached the kernel's permission checks would each need fresh
  // attributes (a GETATTR per path component), while the daemon checks every
  // operation as the caller anyway; so --nocache leaves the checks to it
  // unless asked otherwise (plan.cc, docs/decisions.md).
  bool nocache = false;
  bool permissions_given = false;
  // --fd-cache given; otherwise the cache gets half the fd limit (plan.cc).
  bool fd_cache_given = false;
  // -o remount: change the flags of the mount at MOUNTPOINT and exit (what
  // mount(8) runs for `mount -o remount,...`; daemon.cc). Only then may the
  // options the kernel shows in /proc/mounts (user_id=, group_id=, ...),
  // which mount(8) hands back on a remount, be given; `kernel_shown` holds
  // the first one seen, for the error otherwise.
  // Policy modules, in the order their first option came on the command
  // line (the first is the outermost: it sees each call first), and their
  // settings.
  std::vector<std::string> modules;  // "hide", "read-only", "audit", "map-owner"
  std::vector<std::string> hide_globs;
  std::vector<std::string> read_only_paths;  // normalised (modules/paths.h)
  // --map-owner / --map-group: stored id -> shown id.
  std::vector<modules::IdMap> map_users;
  std::vector<modules::IdMap> map_groups;
  std::string audit_file;
  bool audit_reads = false;
  bool audit_full_continue = false;  // --audit-full=continue (default refuse)
  bool audit_full_given = false;
  bool remount = false;
  std::string kernel_shown;
  transport::MountRequest mount;
  mirror::MirrorOptions fs;
  // Modules from outside the daemon (ptfs/daemon.h's ModuleOption), one per
  // occurrence of their option, in command-line order; `modules` names each
  // by its option, at its place in the chain.
  struct LoadedModule {
    std::string option;  // "deny-older-than"
    std::string value;
    ModuleChain::Factory factory;
    friend bool operator==(const LoadedModule& a, const LoadedModule& b) {
      return a.option == b.option && a.value == b.value;
    }
  };
  std::vector<LoadedModule> loaded_modules;
  // Every option as given, in -o form (KEY or KEY=VALUE; --NAME=VALUE for
  // one without a -o key) and command-line order, for the status command.
  // A record of the spelling, not a setting: it takes no part in comparing
  // two Options (the option tests compare what spellings set).
  struct Given : std::vector<std::string> {
    friend bool operator==(const Given&, const Given&) { return true; }
  } given;
  friend bool operator==(const Options&, const Options&) = default;
};

// An option's value as given, with the option as the user spelled it
// ("--threads", "-t", "-o threads") for error messages. The parsers throw
// std::invalid_argument with a one-line message.
class OptionValue {
 public:
  OptionValue(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {}
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  int Int(int lo, int hi) const;
  double Seconds() const;
  // The index of the value among `choices`; else "NAME must be a, b or c".
  size_t Choice(std::initializer_list<std::string_view> choices) const;
  [[noreturn]] void Fail(const std::string& what) const;

 private:
  std::string name_;
  std::string text_;
};

struct OptionSpec {
  std::string_view long_name;  // "threads" for --threads; empty: -o only
  char short_name;             // 't' for -t; 0: none
  // The -o key; empty: no -o form. A key ending in '*' matches every -o
  // option that starts with the rest, value included ("x-*").
  std::string_view key;
  // What the value looks like in --help ("N", "auto|off"); empty: the
  // option takes no value.
  std::string_view value;
  // --help text; empty: shown together with the entry above it.
  std::string_view help;
  void (*apply)(Options&, const OptionValue&);
  // Set (and `apply` null) for an option that loads a module from outside
  // (ModuleOption::load, called as the option is parsed).
  const ModuleOption* module = nullptr;
};

// The daemon's own options.
std::span<const OptionSpec> OptionTable();

// Parses argv: the daemon's options and `extra`'s. Throws
// std::invalid_argument with a one-line message (also for an `extra` whose
// name is not a valid option name or is already taken).
Options ParseOptions(int argc, char** argv, std::span<const ModuleOption> extra = {});
// `-o remount,...` as given in `o`, applied over the running mount's
// statfs(2) f_flags (ST_RDONLY, ST_NOSUID, ...): a flag the command line
// does not name keeps its current value, as when mount(8) restates them
// all.
transport::MountRequest RemountRequest(const Options& o, unsigned long current_st_flags);
// Generated from OptionTable, with `extra` after the daemon's options.
std::string Usage(const char* argv0, std::span<const ModuleOption> extra = {});

}  // namespace ptfs::cmd
