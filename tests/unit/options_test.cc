// cmd/passthroughfs: the option table (both parsers and --help) and the
// start-up plan resolved from options and host facts.
#include "cmd/passthroughfs/options.h"

#include <sys/mount.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "abi/fuse_abi.h"
#include "cmd/passthroughfs/plan.h"
#include "gtest/gtest.h"

namespace ptfs::cmd {
namespace {

// ParseOptions of "passthroughfs ARGS..." as they are.
Options ParseArgv(std::vector<std::string> args) {
  args.insert(args.begin(), "passthroughfs");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseOptions(static_cast<int>(argv.size()), argv.data());
}

// ParseOptions of "passthroughfs ARGS... /src /mnt".
Options Parse(std::vector<std::string> args) {
  args.push_back("/src");
  args.push_back("/mnt");
  return ParseArgv(std::move(args));
}

// The message ParseOptions throws for `args`, or "" if it accepts them.
std::string ParseError(std::vector<std::string> args) {
  try {
    Parse(std::move(args));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// A value for each option that takes one, different from the default, as
// given to --long and to -o (they differ where the value holds a comma).
struct Sample {
  std::string long_value;
  std::string o_value;
};
const std::map<std::string, Sample>& Samples() {
  static const std::map<std::string, Sample> samples = {
      {"threads", {"3", "3"}},
      {"entry_timeout", {"2.5", "2.5"}},
      {"attr_timeout", {"7", "7"}},
      {"watch_source", {"off", "off"}},
      {"private_mount", {"off", "off"}},
      {"fd_cache", {"256", "256"}},
      {"backing_cache", {"0", "0"}},
      {"passthrough", {"off", "off"}},
      {"locks", {"kernel", "kernel"}},
      {"readdirplus", {"all", "all"}},
      {"max_stack_depth", {"2", "2"}},
      {"request_timeout", {"30", "30"}},
      {"sync_init", {"off", "off"}},
      {"poll_us", {"50", "50"}},
      {"transport", {"dev", "dev"}},
      {"stats_file", {"/tmp/stats", "/tmp/stats"}},
      {"state_dir", {"/var/lib/ptfs-test", "/var/lib/ptfs-test"}},
      {"log", {"/var/log/x.log", "/var/log/x.log"}},
      {"log_level", {"warn", "warn"}},
      {"inode_passthrough", {"getattr,readdir", "getattr:readdir"}},
      {"fsname", {"", "other"}},
      {"subtype", {"", "other"}},
      {"comment", {"", "anything"}},
      {"hide", {"*.key", "*.key"}},
      {"read_only", {"etc/", "etc"}},
      {"audit", {"/var/log/a.jsonl", "/var/log/a.jsonl"}},
      {"map_owner", {"1000:2000", "1000:2000"}},
      {"map_group", {"root:2000", "0:2000"}},
      {"audit_full", {"continue", "continue"}},
      {"user_id", {"", "0"}},
      {"group_id", {"", "0"}},
      {"rootmode", {"", "40000"}},
      {"max_read", {"", "131072"}},
      {"blksize", {"", "4096"}},
  };
  return samples;
}

// Options that only mean something beside another: the other, given first.
const std::map<std::string, std::string>& Prerequisites() {
  static const std::map<std::string, std::string> needs = {
      {"audit_reads", "--audit=/var/log/a.jsonl"},
      {"audit_full", "--audit=/var/log/a.jsonl"},
      {"export_table", "--export"},
  };
  return needs;
}

TEST(OptionTable, EveryLongOptionParsesInBothFormsToTheSameOptions) {
  int checked = 0;
  for (const OptionSpec& s : OptionTable()) {
    if (s.long_name.empty()) continue;
    const std::string long_name = "--" + std::string(s.long_name);
    if (s.key.empty()) {
      // --help and --version: actions, not settings of a mount.
      EXPECT_TRUE(s.long_name == "help" || s.long_name == "version") << long_name;
      continue;
    }
    SCOPED_TRACE(long_name);
    std::vector<std::string> first;
    if (auto it = Prerequisites().find(std::string(s.key)); it != Prerequisites().end()) {
      first.push_back(it->second);
    }
    const auto with_first = [&first](std::vector<std::string> args) {
      args.insert(args.begin(), first.begin(), first.end());
      return Parse(args);
    };
    const Options defaults = with_first({});
    Options by_long, by_long_next, by_o, by_o_joined;
    if (s.value.empty()) {
      by_long = with_first({long_name});
      by_long_next = by_long;
      by_o = with_first({"-o", std::string(s.key)});
      by_o_joined = with_first({"-o" + std::string(s.key)});
    } else {
      ASSERT_TRUE(Samples().contains(std::string(s.key))) << "no sample value for " << s.key;
      const Sample& v = Samples().at(std::string(s.key));
      by_long = with_first({long_name + "=" + v.long_value});
      by_long_next = with_first({long_name, v.long_value});
      by_o = with_first({"-o", std::string(s.key) + "=" + v.o_value});
      by_o_joined = with_first({"-o" + std::string(s.key) + "=" + v.o_value});
    }
    EXPECT_FALSE(by_long == defaults) << long_name << " changed nothing";
    EXPECT_TRUE(by_long == by_long_next);
    EXPECT_TRUE(by_long == by_o) << "-o " << s.key << " differs from " << long_name;
    EXPECT_TRUE(by_long == by_o_joined);
    if (s.short_name != 0) {
      const std::string short_name{'-', s.short_name};
      Options by_short =
          s.value.empty() ? with_first({short_name})
                          : with_first({short_name, Samples().at(std::string(s.key)).long_value});
      EXPECT_TRUE(by_long == by_short) << short_name;
    }
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(OptionTable, SnakeCaseKeysAndNoDuplicates) {
  std::set<std::string_view> longs, keys;
  for (const OptionSpec& s : OptionTable()) {
    if (!s.long_name.empty()) {
      EXPECT_TRUE(longs.insert(s.long_name).second) << s.long_name;
    }
    if (!s.key.empty()) {
      EXPECT_TRUE(keys.insert(s.key).second) << s.key;
    }
    if (s.long_name.empty() || s.key.empty()) continue;
    std::string expected(s.long_name);
    std::replace(expected.begin(), expected.end(), '-', '_');
    EXPECT_EQ(s.key, expected);
  }
}

// Options /proc/mounts shows, accepted only with remount.
const std::set<std::string>& KernelShown() {
  static const std::set<std::string> keys = {"user_id", "group_id", "rootmode", "max_read",
                                             "blksize"};
  return keys;
}

TEST(OptionTable, EveryMountOnlyOptionParses) {
  for (const OptionSpec& s : OptionTable()) {
    if (!s.long_name.empty()) continue;
    std::string opt(s.key);
    if (opt.ends_with('*')) opt.replace(opt.size() - 1, 1, "systemd.automount");
    if (!s.value.empty()) opt += "=" + Samples().at(std::string(s.key)).o_value;
    if (KernelShown().contains(std::string(s.key))) {
      EXPECT_EQ(ParseError({"-o", opt}),
                "-o " + std::string(s.key) +
                    " is set by the kernel; it is accepted only with -o remount");
      opt = "remount," + opt;
    }
    EXPECT_EQ(ParseError({"-o", opt}), "") << opt;
  }
}

// `mount -o remount,ro MNT` through mount.fuse3 runs the daemon with the
// options /proc/mounts shows, remount among them.
TEST(OptionTable, RemountTakesWhatMountPassesAndNeedsNoSource) {
  const Options o = Parse({"-o",
                           "ro,nosuid,nodev,relatime,remount,user_id=0,group_id=0,"
                           "default_permissions,allow_other"});
  EXPECT_TRUE(o.remount);
  EXPECT_TRUE(o.mount.read_only);
  EXPECT_EQ(o.mount.flags, static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_RELATIME));
  EXPECT_EQ(o.mount.mountpoint, "/mnt");
  const Options m = ParseArgv({"-o", "remount,rw", "/mnt"});
  EXPECT_TRUE(m.remount);
  EXPECT_FALSE(m.mount.read_only);
  EXPECT_EQ(m.mountpoint, "/mnt");
  EXPECT_EQ(m.mount.mountpoint, "/mnt");
  EXPECT_FALSE(Parse({}).remount);
  // Issue 20: a direct `passthroughfs -o remount,rw MNT` changed a suid,dev
  // mount to nosuid,nodev (the defaults of a new mount); a flag not named
  // keeps the mount's current value, as does the access-time rule.
  const unsigned long suid_dev_noatime_ro = ST_RDONLY | ST_NOATIME;
  transport::MountRequest r = RemountRequest(m, suid_dev_noatime_ro);
  EXPECT_FALSE(r.read_only);
  EXPECT_EQ(r.flags, static_cast<unsigned long>(MS_NOATIME));
  r = RemountRequest(ParseArgv({"-o", "remount,nosuid", "/mnt"}), ST_NODEV | ST_RELATIME);
  EXPECT_FALSE(r.read_only);
  EXPECT_EQ(r.flags, static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_RELATIME));
  r = RemountRequest(ParseArgv({"-o", "remount,ro,dev", "/mnt"}), ST_NODEV | ST_NOEXEC);
  EXPECT_TRUE(r.read_only);
  EXPECT_EQ(r.flags, static_cast<unsigned long>(MS_NOEXEC | MS_STRICTATIME));
  // What mount(8) restates replaces the current flags entirely.
  EXPECT_EQ(RemountRequest(o, ST_NOEXEC | ST_NOATIME).flags,
            static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_RELATIME | MS_NOEXEC));
  try {
    ParseArgv({"-o", "ro", "/mnt"});
    ADD_FAILURE() << "one positional without remount accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "expected SOURCE and MOUNTPOINT (try --help)");
  }
}

TEST(OptionTable, MountOptionsSetWhatTheyDidBefore) {
  const Options d = Parse({});
  EXPECT_EQ(d.mount.flags, static_cast<unsigned long>(MS_NOSUID | MS_NODEV));
  EXPECT_EQ(d.mount.fsname, "/src");
  EXPECT_EQ(d.mount.subtype, "passthroughfs");
  EXPECT_TRUE(d.fs.watch_source);
  const Options o = Parse({"-o", "rw,dev,suid,noatime,relatime,defaults,nofail,_netdev,x-a.b=c"});
  EXPECT_EQ(o.mount.flags, static_cast<unsigned long>(MS_RELATIME));
  EXPECT_FALSE(o.mount.read_only);
  EXPECT_EQ(Parse({"-o", "strictatime,atime,nodiratime,noexec"}).mount.flags,
            static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_STRICTATIME | MS_NODIRATIME |
                                       MS_NOEXEC));
  EXPECT_TRUE(Parse({"-o", "auto_unmount"}).mount.auto_unmount);
  EXPECT_FALSE(Parse({"-o", "allow_root"}).mount.auto_unmount);
  EXPECT_EQ(Parse({"-o", "auto_unmount,allow_root"}).mount.fusermount_options,
            "auto_unmount,allow_root");
  const Options p = Parse({"-o", "allow_other,nodefault_permissions,ro,fsname=x,subtype=y"});
  EXPECT_TRUE(p.mount.allow_other);
  EXPECT_FALSE(p.mount.default_permissions);
  EXPECT_TRUE(p.permissions_given);
  EXPECT_TRUE(p.mount.read_only);
  EXPECT_EQ(p.mount.fsname, "x");
  EXPECT_EQ(p.mount.subtype, "y");
  EXPECT_TRUE(Parse({"-odebug"}).debug);
  EXPECT_TRUE(Parse({"-odebug"}).foreground);
  EXPECT_TRUE(Parse({"-o", "debug"}).debug);
  EXPECT_EQ(Parse({"-o", "debug"}).log_level, 3);
  EXPECT_EQ(Parse({"--readdirpassthrough"}).fs.inode_passthrough_ops,
            static_cast<uint32_t>(kInodeOpReaddir | kInodeOpGetattr));
  EXPECT_EQ(Parse({"--inode-passthrough=all"}).fs.inode_passthrough_ops,
            static_cast<uint32_t>(kInodeOpsAll));
  EXPECT_EQ(Parse({"--nocache"}).fs.entry_timeout, Timeout{});
  EXPECT_EQ(ParseArgv({"-f", "--", "-o", "x"}).source, "-o");  // positionals after --
}

TEST(OptionTable, OnlyExactNamesMatch) {
  EXPECT_EQ(ParseError({"--threadsx", "3"}), "unknown option '--threadsx'");
  EXPECT_EQ(ParseError({"--threadsx=3"}), "unknown option '--threadsx'");
  EXPECT_EQ(ParseError({"--thread=3"}), "unknown option '--thread'");
  EXPECT_EQ(ParseError({"--threads3"}), "unknown option '--threads3'");
  EXPECT_EQ(ParseError({"--no-cache"}), "unknown option '--no-cache'");
  EXPECT_EQ(ParseError({"--nocachex"}), "unknown option '--nocachex'");
  EXPECT_EQ(ParseError({"--fd-cachex=64"}), "unknown option '--fd-cachex'");
  EXPECT_EQ(ParseError({"--passthroughs=off"}), "unknown option '--passthroughs'");
  EXPECT_EQ(ParseError({"-x"}), "unknown option '-x'");
  EXPECT_EQ(ParseError({"-fx"}), "unknown option '-x' in '-fx'");
  EXPECT_EQ(ParseError({"-o", "threadsx=3"}), "unknown mount option 'threadsx=3'");
  EXPECT_EQ(ParseError({"-o", "rw,bogus"}), "unknown mount option 'bogus'");
  EXPECT_EQ(ParseError({"-o", "nosuidx"}), "unknown mount option 'nosuidx'");
  EXPECT_EQ(ParseError({"-o", "fd-cache=64"}), "unknown mount option 'fd-cache=64'");
  EXPECT_EQ(ParseError({"-o", "help"}), "unknown mount option 'help'");
}

// Short options as getopt(3) reads them (issue 20: -t0 was "unknown option").
TEST(OptionTable, ShortOptionsTakeAttachedValuesAndGroup) {
  EXPECT_EQ(Parse({"-t3"}).threads, 3);
  EXPECT_EQ(Parse({"-t", "3"}).threads, 3);
  EXPECT_EQ(ParseError({"-t0"}), "-t must be an integer in [1, 256], got '0'");
  const Options fq = Parse({"-fq"});
  EXPECT_TRUE(fq.foreground);
  EXPECT_TRUE(fq.quiet);
  EXPECT_FALSE(fq.debug);
  const Options grouped = Parse({"-qft", "5"});
  EXPECT_TRUE(grouped.quiet && grouped.foreground);
  EXPECT_EQ(grouped.threads, 5);
  EXPECT_EQ(Parse({"-ft7"}).threads, 7);
  EXPECT_TRUE(Parse({"-fd"}).debug);
}

TEST(OptionTable, LogOptions) {
  EXPECT_EQ(Parse({}).log, "");
  EXPECT_EQ(Parse({}).log_level, 2);
  EXPECT_EQ(Parse({"--log=stderr"}).log, "stderr");
  EXPECT_EQ(Parse({"-o", "log=/var/log/x.log"}).log, "/var/log/x.log");
  EXPECT_EQ(Parse({"--log-level=warn"}).log_level, 1);
  EXPECT_EQ(Parse({"-o", "log_level=debug"}).log_level, 3);
  EXPECT_EQ(Parse({"--debug"}).log_level, 3);
  EXPECT_EQ(ParseError({"--log-level=loud"}),
            "--log-level must be error, warn, info or debug, got 'loud'");
  EXPECT_EQ(ParseError({"--log="}), "--log needs syslog, stderr or a file, got ''");
  EXPECT_TRUE(Parse({"--quiet"}).quiet);
  EXPECT_TRUE(Parse({"-o", "quiet"}).quiet);
}

TEST(OptionTable, ValueErrors) {
  EXPECT_EQ(ParseError({"--threads=0"}), "--threads must be an integer in [1, 256], got '0'");
  EXPECT_EQ(ParseError({"-o", "threads=x"}), "-o threads must be an integer in [1, 256], got 'x'");
  EXPECT_EQ(ParseError({"--passthrough=on"}), "--passthrough must be auto or off, got 'on'");
  EXPECT_EQ(ParseError({"--transport=x"}), "--transport must be dev, uring or auto, got 'x'");
  EXPECT_EQ(ParseError({"--readdirplus=x"}), "--readdirplus must be auto, all or off, got 'x'");
  EXPECT_EQ(ParseError({"--entry-timeout=-1"}),
            "--entry-timeout must be a number of seconds, got '-1'");
  EXPECT_EQ(ParseError({"--inode-passthrough=getattr,x"}),
            "--inode-passthrough: unknown op 'x' (getattr, setattr, readdir, all, none)");
  EXPECT_EQ(ParseError({"--nocache=1"}), "--nocache takes no value");
  EXPECT_EQ(ParseError({"-o", "nocache=1"}), "-o nocache takes no value");
  EXPECT_EQ(ParseError({"-o", "threads"}), "-o threads needs a value");
  // The value would be taken from the next argument; at the end there is none.
  EXPECT_THROW(ParseArgv({"/src", "/mnt", "--threads"}), std::invalid_argument);
  EXPECT_THROW(ParseArgv({"/src", "/mnt", "-o"}), std::invalid_argument);
  EXPECT_EQ(ParseError({"/extra"}), "expected SOURCE and MOUNTPOINT (try --help)");
}

// The left column of --help: "-t", "--threads=N", "-o threads=N", "ro", ...
std::set<std::string> UsageNames() {
  std::set<std::string> names;
  std::istringstream lines(Usage("passthroughfs"));
  std::string line;
  while (std::getline(lines, line)) {
    const size_t p = line.find_first_not_of(' ');
    if (p == std::string::npos || p < 2 || p >= 22) continue;  // not an option, or help text
    std::string left = line.substr(p, line.find("  ", p) - p);
    if (left.ends_with(',')) left.pop_back();  // a group continued on the next line
    size_t start = 0;
    while (start < left.size()) {
      size_t end = left.find(", ", start);
      if (end == std::string::npos) end = left.size();
      names.insert(left.substr(start, end - start));
      start = end + 2;
    }
  }
  return names;
}

TEST(OptionTable, HelpListsEveryEntry) {
  const std::set<std::string> names = UsageNames();
  for (const OptionSpec& s : OptionTable()) {
    const std::string value = s.value.empty() ? "" : "=" + std::string(s.value);
    if (!s.long_name.empty()) {
      EXPECT_TRUE(names.contains("--" + std::string(s.long_name) + value))
          << "--help lacks --" << s.long_name << value;
    }
    if (s.short_name != 0) {
      EXPECT_TRUE(names.contains(std::string{'-', s.short_name})) << s.short_name;
    }
    if (s.key.empty()) continue;
    const std::string key = (s.long_name.empty() ? "" : "-o ") + std::string(s.key) + value;
    EXPECT_TRUE(names.contains(key)) << "--help lacks " << key;
  }
  const std::string usage = Usage("passthroughfs");
  EXPECT_EQ(usage.rfind("usage: passthroughfs [options] SOURCE MOUNTPOINT\n", 0), 0u);
  std::istringstream lines(usage);
  std::string line;
  while (std::getline(lines, line)) EXPECT_LE(line.size(), 80u) << line;
}

// ---- Resolve: the plan from options and host facts

constexpr HostFacts kRoot = {
    .cap_sys_admin = true, .fs_credentials = true, .fd_limit = 4096, .cpus = 8};
constexpr HostFacts kUser = {
    .cap_sys_admin = false, .fs_credentials = false, .fd_limit = 1024, .cpus = 1};

bool Has(uint64_t flags, uint64_t flag) { return (flags & flag) == flag; }

TEST(Resolve, RootWithDefaults) {
  const Plan plan = Resolve(Parse({}), kRoot);
  EXPECT_TRUE(plan.passthrough);
  EXPECT_EQ(plan.fs.no_passthrough_reason, "");
  const uint64_t f = plan.session.init.wanted_flags;
  EXPECT_TRUE(Has(f, abi::FUSE_PASSTHROUGH));
  EXPECT_TRUE(Has(f, abi::FUSE_POSIX_ACL));
  EXPECT_TRUE(Has(f, abi::FUSE_POSIX_LOCKS | abi::FUSE_FLOCK_LOCKS));
  EXPECT_TRUE(Has(f, abi::FUSE_DO_READDIRPLUS | abi::FUSE_READDIRPLUS_AUTO));
  EXPECT_TRUE(Has(f, abi::FUSE_HANDLE_KILLPRIV_V2 | abi::FUSE_CREATE_SUPP_GROUP));
  EXPECT_FALSE(Has(f, abi::FUSE_WRITEBACK_CACHE));
  EXPECT_FALSE(Has(f, abi::FUSE_EXPORT_SUPPORT)) << "only with --export";
  EXPECT_FALSE(Has(f, abi::FUSE_OVER_IO_URING));  // added only once the rings exist
  EXPECT_EQ(plan.session.init.max_write, session::kMaxWriteSupported);
  EXPECT_EQ(plan.session.init.max_stack_depth, 1u);
  EXPECT_EQ(plan.threads, 8);
  EXPECT_EQ(plan.fs.fd_cache_slots, 2048u);
  EXPECT_TRUE(plan.mount.default_permissions);
  EXPECT_TRUE(plan.fs.default_permissions);
  EXPECT_FALSE(plan.fs.per_caller_lookups);
  EXPECT_EQ(plan.fs.atime, sys::AtimeRule::kRelatime);
  EXPECT_TRUE(plan.log.empty());
}

TEST(Resolve, ExportAsksForExportSupportAndExcludesInodePassthrough) {
  for (const char* given : {"--export", "-oexport"}) {
    const Plan plan = Resolve(Parse({given}), kRoot);
    EXPECT_TRUE(Has(plan.session.init.wanted_flags, abi::FUSE_EXPORT_SUPPORT)) << given;
    EXPECT_TRUE(plan.fs.export_handles);
  }
  EXPECT_NE(ParseError({"--export", "--inode-passthrough=all"}).find("exclude each other"),
            std::string::npos);
  EXPECT_NE(ParseError({"--export", "--no-handles"}).find("needs file handles"), std::string::npos);
}

TEST(Resolve, RestartableExportsServesDevFuseAndRefusesUring) {
  for (const char* given : {"--restartable", "-orestartable"}) {
    const Options o = Parse({given});
    EXPECT_TRUE(o.restartable) << given;
    EXPECT_TRUE(o.fs.export_handles) << given;  // nodeids that outlive the server
    EXPECT_EQ(o.transport, Options::Transport::kDev) << given;
    const Plan plan = Resolve(o, kRoot);
    EXPECT_TRUE(Has(plan.session.init.wanted_flags, abi::FUSE_EXPORT_SUPPORT));
  }
  EXPECT_NE(ParseError({"--restartable", "--transport=uring"}).find("would be lost"),
            std::string::npos);
  EXPECT_NE(ParseError({"--export-table"}).find("goes with --export"), std::string::npos);
  EXPECT_TRUE(Parse({"--restartable", "--export-table"}).fs.export_table);
}

TEST(Resolve, NotRootNoPassthroughAndAllowOtherWarns) {
  const Plan plan = Resolve(Parse({"-o", "allow_other"}), kUser);
  EXPECT_FALSE(plan.passthrough);
  EXPECT_FALSE(Has(plan.session.init.wanted_flags, abi::FUSE_PASSTHROUGH));
  EXPECT_NE(plan.fs.no_passthrough_reason.find("CAP_SYS_ADMIN"), std::string::npos);
  EXPECT_EQ(plan.threads, 2);               // at least 2
  EXPECT_EQ(plan.fs.fd_cache_slots, 512u);  // half the fd limit
  ASSERT_EQ(plan.log.size(), 1u);
  EXPECT_EQ(plan.log[0].level, log::Level::kWarning);
  EXPECT_EQ(plan.log[0].text,
            "allow_other without root: every operation runs with the daemon's own identity "
            "(default_permissions still checks each caller's access)");
  EXPECT_FALSE(plan.fs.per_caller_lookups);  // cannot act as each caller anyway
}

TEST(Resolve, AllowOtherWithoutDefaultPermissionsLooksUpPerCaller) {
  const Plan plan = Resolve(Parse({"-o", "allow_other,nodefault_permissions"}), kRoot);
  EXPECT_TRUE(plan.fs.per_caller_lookups);
  EXPECT_FALSE(plan.fs.default_permissions);
  EXPECT_FALSE(Has(plan.session.init.wanted_flags, abi::FUSE_POSIX_ACL));
  ASSERT_EQ(plan.log.size(), 1u);
  EXPECT_EQ(plan.log[0].level, log::Level::kInfo);
  EXPECT_NE(plan.log[0].text.find("every path is looked up as its caller"), std::string::npos);
  // Without allow_other only the daemon's user reaches the mount.
  EXPECT_FALSE(Resolve(Parse({"-o", "nodefault_permissions"}), kRoot).fs.per_caller_lookups);
  // With default_permissions the kernel checks search permission itself.
  const Plan checked = Resolve(Parse({"-o", "allow_other"}), kRoot);
  EXPECT_FALSE(checked.fs.per_caller_lookups);
  EXPECT_TRUE(checked.log.empty());
}

TEST(Resolve, NocacheLeavesPermissionsToSourceUnlessAsked) {
  Plan plan = Resolve(Parse({"--nocache"}), kRoot);
  EXPECT_FALSE(plan.mount.default_permissions);
  EXPECT_FALSE(plan.fs.default_permissions);
  EXPECT_FALSE(Has(plan.session.init.wanted_flags, abi::FUSE_POSIX_ACL));
  ASSERT_EQ(plan.log.size(), 1u);
  EXPECT_EQ(plan.log[0].text.rfind("--nocache: permissions are checked by SOURCE", 0), 0u);
  plan = Resolve(Parse({"--nocache", "-o", "default_permissions"}), kRoot);
  EXPECT_TRUE(plan.mount.default_permissions);
  EXPECT_TRUE(plan.log.empty());
  plan = Resolve(Parse({"--nocache"}), kUser);  // an unprivileged daemon keeps them
  EXPECT_TRUE(plan.mount.default_permissions);
  EXPECT_TRUE(plan.log.empty());
}

TEST(Resolve, OptionsThatTurnFlagsOff) {
  Plan plan = Resolve(Parse({"--writeback"}), kRoot);
  EXPECT_FALSE(plan.passthrough);
  EXPECT_TRUE(Has(plan.session.init.wanted_flags, abi::FUSE_WRITEBACK_CACHE));
  EXPECT_EQ(plan.fs.no_passthrough_reason,
            "--writeback selects the kernel's writeback cache, which excludes passthrough");
  plan = Resolve(Parse({"--passthrough=off", "--readdirplus=off", "--locks=kernel"}), kRoot);
  EXPECT_FALSE(plan.passthrough);
  EXPECT_EQ(plan.fs.no_passthrough_reason, "--passthrough=off");
  const uint64_t f = plan.session.init.wanted_flags;
  EXPECT_FALSE(f & (abi::FUSE_PASSTHROUGH | abi::FUSE_DO_READDIRPLUS | abi::FUSE_READDIRPLUS_AUTO |
                    abi::FUSE_POSIX_LOCKS | abi::FUSE_FLOCK_LOCKS));
}

TEST(Resolve, FdCacheThreadsAndAtime) {
  HostFacts facts = kRoot;
  facts.fd_limit = 1 << 20;
  EXPECT_EQ(Resolve(Parse({}), facts).fs.fd_cache_slots, 16384u);
  facts.fd_limit = 20;
  EXPECT_EQ(Resolve(Parse({}), facts).fs.fd_cache_slots, 64u);
  EXPECT_EQ(Resolve(Parse({"--fd-cache=100"}), facts).fs.fd_cache_slots, 100u);
  EXPECT_EQ(Resolve(Parse({"-t", "5"}), facts).threads, 5);
  EXPECT_EQ(Resolve(Parse({"--max-stack-depth=2"}), facts).session.init.max_stack_depth, 2u);
  const Plan plan = Resolve(Parse({"-o", "noatime,nodiratime"}), facts);
  EXPECT_EQ(plan.fs.atime, sys::AtimeRule::kNoatime);
  EXPECT_TRUE(plan.fs.nodiratime);
  EXPECT_EQ(Resolve(Parse({"-o", "strictatime"}), facts).fs.atime, sys::AtimeRule::kStrictatime);
  EXPECT_TRUE(Resolve(Parse({"-d"}), facts).session.debug);
}

TEST(Resolve, Transport) {
  const transport::UringSupport offered{true, ""};
  const transport::UringSupport absent{false, "enable_uring is N"};
  Plan plan;
  ResolveTransport(Options::Transport::kDev, offered, &plan);
  EXPECT_FALSE(plan.want_uring);
  EXPECT_EQ(plan.transport.why, "--transport=dev");
  plan = {};
  ResolveTransport(Options::Transport::kAuto, offered, &plan);
  EXPECT_TRUE(plan.want_uring);
  EXPECT_FALSE(plan.transport.required);
  EXPECT_EQ(plan.transport.why, "--transport=auto: the kernel offers FUSE over io_uring");
  plan = {};
  ResolveTransport(Options::Transport::kAuto, absent, &plan);
  EXPECT_FALSE(plan.want_uring);
  EXPECT_EQ(plan.transport.why, "--transport=auto: enable_uring is N");
  EXPECT_EQ(plan.transport_error, "");
  plan = {};
  ResolveTransport(Options::Transport::kUring, offered, &plan);
  EXPECT_TRUE(plan.want_uring);
  EXPECT_TRUE(plan.transport.required);
  plan = {};
  ResolveTransport(Options::Transport::kUring, absent, &plan);
  EXPECT_FALSE(plan.want_uring);
  EXPECT_EQ(plan.transport_error, "--transport=uring: enable_uring is N");
}

// The kernel enforces a request timeout on /dev/fuse only: asked for, it
// keeps the transport there unless io_uring was required (then a warning).
TEST(Resolve, RequestTimeoutKeepsDevFuse) {
  const transport::UringSupport offered{true, ""};
  Plan plan;
  plan.session.init.request_timeout = 30;
  ResolveTransport(Options::Transport::kAuto, offered, &plan);
  EXPECT_FALSE(plan.want_uring);
  EXPECT_NE(plan.transport.why.find("--request-timeout"), std::string::npos);
  EXPECT_TRUE(plan.log.empty());
  plan = {};
  plan.session.init.request_timeout = 30;
  ResolveTransport(Options::Transport::kUring, offered, &plan);
  EXPECT_TRUE(plan.want_uring);
  ASSERT_EQ(plan.log.size(), 1u);
  EXPECT_EQ(plan.log[0].level, log::Level::kWarning);
}

}  // namespace
}  // namespace ptfs::cmd

namespace ptfs::cmd {
namespace {

TEST(PolicyOptions, OwnerMapsAreOneToOneAndNeedTheKernelsChecks) {
  const Options o =
      Parse({"--map-owner=1000:2000", "--map-owner=root:3000", "-o", "map_group=1000:2000"});
  EXPECT_EQ(o.map_users, (std::vector<modules::IdMap>{{1000, 2000}, {0, 3000}}));
  EXPECT_EQ(o.map_groups, (std::vector<modules::IdMap>{{1000, 2000}}));
  EXPECT_EQ(o.modules, std::vector<std::string>{"map-owner"}) << "one module for both";
  EXPECT_EQ(ParseError({"--map-owner=1000:2000", "--map-owner=1000:3000"}),
            "--map-owner maps 1000 a second time, got '1000:3000'");
  EXPECT_EQ(ParseError({"--map-owner=1000:2000", "--map-owner=1001:2000"}),
            "--map-owner maps onto 2000 a second time, got '1001:2000'");
  EXPECT_EQ(ParseError({"--map-owner=1000"}),
            "--map-owner must be UID:UID (or user names), got '1000'");
  EXPECT_EQ(ParseError({"--map-group=1:no-such-group-here"}),
            "--map-group names no group 'no-such-group-here', got '1:no-such-group-here'");
  EXPECT_EQ(ParseError({"--map-owner=1:2", "-o", "nodefault_permissions"}),
            "--map-owner/--map-group need default_permissions: the kernel checks the owners "
            "shown");
}

TEST(PolicyOptions, AuditSettingsNeedAnAuditFile) {
  EXPECT_EQ(ParseError({"--audit-reads"}), "--audit-reads needs --audit=FILE");
  EXPECT_EQ(ParseError({"-o", "audit_full=continue"}), "--audit-full needs --audit=FILE");
  EXPECT_EQ(ParseError({"--audit=/a", "--audit=/b"}), "--audit may be given once, got '/b'");
  const Options o = Parse({"--audit-reads", "-o", "audit=/var/log/a"});
  EXPECT_EQ(o.audit_file, "/var/log/a");
  EXPECT_TRUE(o.audit_reads);
  EXPECT_FALSE(o.audit_full_continue) << "refuse by default";
}

TEST(PolicyOptions, ReadOnlyPathsAreNormalisedAndMustNameSomethingBelowSource) {
  const Options o = Parse({"--read-only=//a//b/", "-o", "read_only=/c", "--hide=*.key"});
  EXPECT_EQ(o.read_only_paths, (std::vector<std::string>{"a/b", "c"}));
  EXPECT_EQ(o.modules, (std::vector<std::string>{"read-only", "hide"})) << "command-line order";
  EXPECT_EQ(ParseError({"--read-only=/"}), "--read-only names SOURCE itself, got '/'");
  EXPECT_EQ(ParseError({"--read-only=."}),
            "--read-only must not have '.' or '..' components, got '.'");
  EXPECT_EQ(ParseError({"-o", "read_only=a/../b"}),
            "-o read_only must not have '.' or '..' components, got 'a/../b'");
}

}  // namespace
}  // namespace ptfs::cmd
