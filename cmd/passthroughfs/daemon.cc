// passthroughfs: mounts SOURCE at MOUNTPOINT and serves it until unmounted.
// ptfs::RunDaemon (include/ptfs/daemon.h), in libptfs: the passthroughfs
// executable is a main that calls it (passthroughfs.cc), and so is a daemon
// built outside this tree with modules of its own (examples/).
//
// Start-up order matters: everything that can fail with a useful message
// (options, SOURCE, /dev/fuse, the mount itself) happens in the foreground
// process, so its exit status says whether the mount is live. Only then does
// it fork the daemon, which starts the worker threads and reports back
// through a pipe before the parent exits.
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "abi/fuse_abi.h"
#include "cmd/passthroughfs/counters.h"
#include "cmd/passthroughfs/git_revision.h"  // generated in the build: PTFS_GIT_REVISION
#include "cmd/passthroughfs/log_choice.h"
#include "cmd/passthroughfs/options.h"
#include "cmd/passthroughfs/plan.h"
#include "cmd/passthroughfs/sd_notify.h"
#include "cmd/passthroughfs/status.h"
#include "cmd/passthroughfs/supervisor.h"
#include "mirror/mirror_fs.h"
#include "modules/audit.h"
#include "modules/audit_log.h"
#include "modules/hide.h"
#include "modules/map_owner.h"
#include "modules/read_only.h"
#include "proto/opcode_table.h"
#include "ptfs/module.h"
#include "session/device_backing.h"
#include "session/device_notifier.h"
#include "session/init_during_mount.h"
#include "session/memory_releaser.h"
#include "session/restart_state.h"
#include "session/server.h"
#include "session/session.h"
#include "sys/credentials.h"
#include "sys/mountinfo.h"
#include "sys/syscalls.h"
#include "transport/channel.h"
#include "transport/mount.h"
#include "transport/unmount_guard.h"
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

// The daemon leaves its working directory for / (Daemonize), and SIGTERM,
// SIGUSR1's stats file and /proc/mounts all use these paths later: a
// relative one must be made absolute now (issue 20: `passthroughfs s m`
// could not unmount m on SIGTERM, and showed the fsname `s`). Lexically,
// as the shell would read them: MOUNTPOINT may be a dead mount that cannot
// be resolved further.
void MakePathsAbsolute(Options* o) {
  auto absolute = [](std::string* path) {
    if (path->empty() || (*path)[0] == '/') return;
    std::string abs = std::filesystem::absolute(*path).lexically_normal().string();
    while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
    *path = abs;
  };
  const bool fsname_is_source = o->mount.fsname == o->source;
  absolute(&o->source);
  absolute(&o->mountpoint);
  absolute(&o->stats_file);
  absolute(&o->fs.state_dir);
  if (o->log != "syslog" && o->log != "stderr") absolute(&o->log);
  o->fs.source = o->source;
  o->mount.mountpoint = o->mountpoint;
  if (fsname_is_source) o->mount.fsname = o->source;
}

// Sets the log up as --log and --log-level say (log_choice.h) before
// anything is logged. Until the mount is live, warnings and errors are
// also shown on stderr, whatever the log. Returns whether the log is this
// process's stderr, which the daemon then keeps open. `where` names the
// log for the status command.
bool SetUpLog(const Options& o, std::string* warning, std::string* where) {
  const char* home = getenv("HOME");
  const char* xdg_state = getenv("XDG_STATE_HOME");
  LogHost host{o.foreground || o.remount, log::SyslogAvailable(), ::geteuid(),
               home != nullptr ? home : "", xdg_state != nullptr ? xdg_state : ""};
  LogChoice choice = ChooseLog(o.log, host);
  if (!choice.error.empty()) Die(choice.error);
  const auto level = static_cast<log::Level>(o.log_level);
  if (choice.sink == log::Sink::kFile) {
    if (o.log.empty() && host.uid != 0) {
      std::error_code ignored;  // the open below says what is wrong
      std::filesystem::create_directories(std::filesystem::path(choice.file).parent_path(),
                                          ignored);
    }
    if (int e = log::ConfigureFile(level, choice.file)) {
      if (!o.log.empty()) Die("--log=" + o.log + ": " + strerror(e));
      choice.warning = "no syslog (nothing listens on /dev/log) and " + choice.file + ": " +
                       strerror(e) + ": logging to this stderr (--log chooses)";
      choice.sink = log::Sink::kStderr;
    }
  }
  if (choice.sink != log::Sink::kFile) log::Configure(level, choice.sink);
  if (choice.sink != log::Sink::kStderr) log::EchoToStderr(true);
  // Said when the daemon is about to leave the terminal, not before a
  // start-up error (which then stays the one line printed).
  *warning = choice.warning;
  *where = choice.sink == log::Sink::kFile     ? choice.file
           : choice.sink == log::Sink::kSyslog ? "syslog (journalctl -t passthroughfs)"
                                               : "stderr";
  return choice.sink == log::Sink::kStderr;
}

// --read-only PATHs as the policy sees paths (FileSystem::PathOf: the real
// path under SOURCE): one through a symlink under SOURCE is the directory it
// leads to, one leading out of SOURCE is an error, one that does not exist
// yet stays as given (creating it through the mount is then refused).
std::vector<std::string> ResolveUnderSource(const std::string& source,
                                            const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  char* real_source = ::realpath(source.c_str(), nullptr);
  if (real_source == nullptr) Die("SOURCE " + source + ": " + strerror(errno));
  const std::string root(real_source);
  free(real_source);
  for (const std::string& p : paths) {
    char* real = ::realpath((root + "/" + p).c_str(), nullptr);
    if (real == nullptr) {
      out.push_back(p);
      continue;
    }
    const std::string r(real);
    free(real);
    const std::string prefix = root == "/" ? "/" : root + "/";
    if (!r.starts_with(prefix) || r.size() == prefix.size()) {
      Die("--read-only=" + p + " leads to " + r + ", not below SOURCE");
    }
    out.push_back(r.substr(prefix.size()));
  }
  return out;
}

// --audit's file, opened before the mount so that a bad path fails at once.
// Its path is made absolute (the daemon leaves its cwd) and must not lie in
// the mount, where each line would be a change to audit.
std::unique_ptr<modules::AuditLog> OpenAudit(const Options& o) {
  if (o.audit_file.empty()) return nullptr;
  std::string path = o.audit_file;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  char* real_dir = ::realpath(dir.c_str(), nullptr);
  if (real_dir == nullptr) Die("--audit=" + o.audit_file + ": " + dir + ": " + strerror(errno));
  path = std::string(real_dir) + (std::string(real_dir) == "/" ? "" : "/") +
         (slash == std::string::npos ? path : path.substr(slash + 1));
  free(real_dir);
  char* real_mnt = ::realpath(o.mountpoint.c_str(), nullptr);
  if (real_mnt != nullptr) {
    const std::string mnt(real_mnt);
    free(real_mnt);
    if (path.starts_with(mnt == "/" ? mnt : mnt + "/")) {
      Die("--audit=" + o.audit_file + " lies in MOUNTPOINT; give a file outside the mount");
    }
  }
  auto log = std::make_unique<modules::AuditLog>(
      path,
      o.audit_full_continue ? modules::AuditLog::OnFailure::kContinue
                            : modules::AuditLog::OnFailure::kRefuse,
      [](const std::string& message) { LOG_ERROR("%s", message.c_str()); });
  if (Errno e = log->Open()) Die("--audit=" + path + ": " + strerror(e.value()));
  return log;
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
  sigaddset(&set, SIGUSR2);  // --restartable: upgrade (supervisor), hand over (server)
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
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

HostFacts GatherHostFacts() {
  HostFacts facts;
  facts.cap_sys_admin = sys::HasCapability(CAP_SYS_ADMIN);
  facts.fs_credentials = sys::FsCredentials::Supported();
  facts.fd_limit = RaiseFdLimit();
  facts.cpus = static_cast<int>(std::thread::hardware_concurrency());
  return facts;
}

// The daemon `pid` ended its ready pipe without saying it serves: says in
// one line how it ended (its own error is in its log), and removes the mount
// a daemon killed by a signal leaves behind, dead (its connection went with
// it). Without this the command failed with no word at all.
void ReportDaemonEndedBeforeServing(pid_t pid, const std::string& mountpoint,
                                    transport::MountMethod method, unsigned mount_id,
                                    const std::string& log_where) {
  int status = 0;
  pid_t ended = 0;
  // It closed the pipe by ending; allow it a moment to be reaped.
  for (int i = 0; i < 500 && ended == 0; ++i) {
    ended = ::waitpid(pid, &status, WNOHANG);
    if (ended < 0 && errno == EINTR) ended = 0;
    if (ended == 0) ::usleep(10000);
  }
  if (ended == pid && WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const bool removed = !transport::Unmount(mountpoint, method, mount_id);
    fprintf(stderr,
            "passthroughfs: the daemon was killed by signal %d (%s) before it served %s%s\n", sig,
            strsignal(sig), mountpoint.c_str(), removed ? "; its dead mount is removed" : "");
  } else if (ended == pid && WIFEXITED(status)) {
    fprintf(stderr,
            "passthroughfs: the daemon ended (exit status %d) before it served %s; why is in its "
            "log (%s)\n",
            WEXITSTATUS(status), mountpoint.c_str(), log_where.c_str());
  } else {
    fprintf(stderr,
            "passthroughfs: the daemon (pid %d) did not say it serves %s; see its log (%s)\n",
            static_cast<int>(pid), mountpoint.c_str(), log_where.c_str());
  }
}

// Forks the daemon. The parent waits until the daemon says it serves (a byte
// 0 on the returned pipe end, then the summary line) and exits with the
// outcome, printing the summary unless `quiet`, or how the daemon ended
// (ReportDaemonEndedBeforeServing). The daemon gets its own session and / as
// its directory; its stdin and stdout become /dev/null, and its stderr too
// unless the log is stderr (`keep_stderr`).
int Daemonize(const std::string& mountpoint, transport::MountMethod method, unsigned mount_id,
              bool quiet, bool keep_stderr, const std::string& log_where) {
  int ready_pipe[2] = {-1, -1};
  if (::pipe2(ready_pipe, O_CLOEXEC) < 0) Die(std::string("pipe: ") + strerror(errno));
  fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    (void)transport::Unmount(mountpoint, method);
    Die(std::string("fork: ") + strerror(errno));
  }
  if (pid > 0) {  // parent: wait for the daemon to say it serves
    ::close(ready_pipe[1]);
    std::string said;
    char buf[512];
    ssize_t n;
    while ((n = ::read(ready_pipe[0], buf, sizeof(buf))) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      said.append(buf, static_cast<size_t>(n));
    }
    const bool serving = !said.empty() && said[0] == 0;
    if (serving && !quiet && said.size() > 1) {
      fputs(said.c_str() + 1, stdout);
      fflush(stdout);
    }
    if (!serving) ReportDaemonEndedBeforeServing(pid, mountpoint, method, mount_id, log_where);
    _exit(serving ? 0 : 1);
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
    if (!keep_stderr) ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
  return ready_pipe[1];
}

// The io_uring queues the plan wants, or nullptr (then the plan says why).
// False when they were required and could not be created.
bool CreateRings(int dev_fd, Plan* plan, std::unique_ptr<transport::UringTransport>* rings) {
  if (!plan->want_uring) return true;
  transport::UringConfig ucfg;
  ucfg.dev_fd = dev_fd;
  ucfg.queues = transport::PossibleCpus();
  ucfg.entries_per_queue = kUringEntriesPerQueue;
  ucfg.poll_us = plan->poll_us;
  ucfg.payload_size = session::kMaxWriteSupported;  // >= the kernel's max payload
  auto created = transport::UringTransport::Create(ucfg);
  if (created.ok()) {
    *rings = std::move(*created);
    plan->transport.uring = rings->get();
    plan->session.init.wanted_flags |= abi::FUSE_OVER_IO_URING;
    return true;
  }
  const std::string failed =
      std::string("creating the io_uring queues failed: ") + strerror(created.error().value());
  if (plan->transport.required) {
    LOG_ERROR("--transport=uring: %s", failed.c_str());
    return false;
  }
  plan->transport.why = "--transport=auto: " + failed;
  return true;
}

// A thread that waits for the blocked signals: SIGUSR1 logs (and writes) the
// counters, the others unmount (this very mount: `mount_id`, 0 if unknown),
// which ends the workers' reads with ENODEV.
void StartSignalThread(sigset_t signals, const Options& o, transport::MountMethod method,
                       unsigned mount_id, const session::Session& session,
                       const mirror::MirrorFs& fs, session::Server& server,
                       const transport::UringTransport* uring,
                       const session::MemoryReleaser& releaser, modules::AuditLog* audit) {
  std::thread([signals, mountpoint = o.mountpoint, method, mount_id, stats_file = o.stats_file,
               restartable = o.restartable, &session, &fs, &server, uring, &releaser,
               audit]() mutable {
    int sig;
    while (sigwait(&signals, &sig) == 0) {
      if (sig == SIGHUP && audit != nullptr) {
        // logrotate moved the audit file: write the next lines to a new one.
        if (audit->Reopen().ok()) LOG_INFO("audit file %s reopened", audit->path().c_str());
        continue;
      }
      if (sig == SIGUSR2) {
        // The supervisor upgrades (--restartable): stop reading, answer
        // what is held, and leave the connection to the next server.
        if (restartable) {
          LOG_INFO("handing the connection over to a new server");
          server.Drain();
        }
        continue;
      }
      if (sig == SIGUSR1) {
        const std::string text =
            FormatStats(CollectCounters(session, fs, server, uring, releaser, audit));
        LOG_INFO("stats:\n%s", text.c_str());
        if (!stats_file.empty()) WriteStats(stats_file, text);
        continue;
      }
      LOG_INFO("signal %d: unmounting %s", sig, mountpoint.c_str());
      NotifyServiceManager("STOPPING=1");
      if (Errno e = transport::Unmount(mountpoint, method, mount_id)) {
        LOG_ERROR("unmounting %s failed: %s", mountpoint.c_str(), strerror(e.value()));
      }
    }
  }).detach();
}

// A module from outside (ptfs/daemon.h) whose factory throws ends the
// daemon here, before it serves: it logs why, unmounts and exits 1 (the
// foreground parent of a daemon then exits 1 too).
ModuleChain::Factory EndIfThrows(const Options& o, const Options::LoadedModule& m) {
  return [&o, &m](FileSystem* inner) -> std::unique_ptr<Module> {
    try {
      return m.factory(inner);
    } catch (const std::exception& e) {
      LOG_ERROR("--%s=%s: %s", m.option.c_str(), m.value.c_str(), e.what());
    } catch (...) {
      LOG_ERROR("--%s=%s: an exception that is not a std::exception", m.option.c_str(),
                m.value.c_str());
    }
    // Which way the mount was made is not known here; the other way fails
    // harmlessly.
    if (transport::Unmount(o.mountpoint, transport::MountMethod::kSyscall)) {
      (void)transport::Unmount(o.mountpoint, transport::MountMethod::kFusermount);
    }
    fflush(nullptr);
    _exit(1);
  };
}

// The chain of the policy modules named in `o` over `mirror`; null if none.
std::unique_ptr<ModuleChain> MakeModuleChain(const Options& o, FileSystem* mirror,
                                             modules::AuditLog* audit) {
  if (o.modules.empty()) return nullptr;
  std::vector<ModuleChain::Factory> factories;
  auto loaded = o.loaded_modules.begin();  // modules from outside, in the same order
  for (const std::string& name : o.modules) {
    if (loaded != o.loaded_modules.end() && name == loaded->option) {
      factories.push_back(EndIfThrows(o, *loaded++));
      continue;
    }
    if (name == "hide") {
      factories.push_back([&o](FileSystem* inner) {
        return std::make_unique<modules::HideModule>(inner, o.hide_globs);
      });
    } else if (name == "read-only") {
      factories.push_back([&o](FileSystem* inner) {
        return std::make_unique<modules::ReadOnlyModule>(inner, o.read_only_paths);
      });
    } else if (name == "map-owner") {
      factories.push_back([&o](FileSystem* inner) {
        return std::make_unique<modules::MapOwnerModule>(inner, o.map_users, o.map_groups);
      });
    } else if (name == "audit") {
      factories.push_back([&o, audit](FileSystem* inner) {
        return std::make_unique<modules::AuditModule>(inner, audit, o.audit_reads);
      });
    }
  }
  for (const std::string& name : o.modules) LOG_INFO("policy module: %s", name.c_str());
  return std::make_unique<ModuleChain>(mirror, factories);
}

// What `passthroughfs status` shows, and where it is read from.
struct StatusSources {
  const Options& o;
  const Plan& plan;
  const std::string& log_where;
  time_t started;
  const session::Session& session;
  const mirror::MirrorFs& fs;
  const session::Server& server;
  const transport::UringTransport* uring;
  const session::MemoryReleaser& releaser;
  const modules::AuditLog* audit;
  int generation;  // --restartable: which server since the mount
};

std::string Joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

StatusReport MakeStatus(const StatusSources& in) {
  StatusReport r;
  r.Text("version", kVersion);
  r.Text("git_revision", PTFS_GIT_REVISION);
  r.Number("pid", ::getpid());
  // --restartable: the process holding the connection (upgrade signals it),
  // and which server this is since the mount (0: the first).
  r.Number("supervisor_pid", in.o.restartable ? ::getppid() : 0);
  r.Number("server_generation", in.generation);
  r.Number("uid", ::getuid());
  r.Text("source", in.o.source);
  r.Text("mountpoint", in.o.mountpoint);
  r.Text("type", "fuse." + in.o.mount.subtype);
  r.Text("options", in.o.given.empty() ? "(defaults)" : Joined(in.o.given, ","));
  r.Text("policies", in.o.modules.empty() ? "none" : Joined(in.o.modules, " "));
  r.Number("threads", in.plan.threads);
  r.Text("transport", in.server.uring_in_use() ? "io_uring" : "/dev/fuse");
  r.Text("data_path",
         in.fs.passthrough_enabled()
             ? "kernel passthrough"
             : "served by the daemon" + (in.plan.fs.no_passthrough_reason.empty()
                                             ? std::string()
                                             : " (" + in.plan.fs.no_passthrough_reason + ")"));
  r.Text("inode_passthrough", in.fs.inode_passthrough_enabled() ? "on" : "off");
  r.Text("source_watch", in.fs.source_watched() ? "on" : "off");
  if (in.session.initialized()) {
    const proto::InitOutcome& init = in.session.init();
    r.Text("protocol", "7." + std::to_string(init.out.minor));
    r.Text("kernel_protocol",
           std::to_string(init.kernel_major) + "." + std::to_string(init.kernel_minor));
    r.Text("init_flags", proto::DescribeInitFlags(init.flags));
    r.Number("max_write", init.max_write);
    r.Number("request_timeout", init.out.request_timeout);
    r.Text("init", in.plan.init_during_mount ? "answered during mount(2) (FUSE_DEV_IOC_SYNC_INIT)"
                                             : "answered after mount(2)");
  } else {
    r.Text("protocol", "INIT not yet answered");
  }
  r.Text("log", in.log_where);
  char started[32];
  struct tm tm;
  gmtime_r(&in.started, &tm);
  strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
  r.Text("started", started);
  r.Number("uptime_seconds", std::time(nullptr) - in.started);
  for (const auto& [name, value] :
       CollectCounters(in.session, in.fs, in.server, in.uring, in.releaser, in.audit)) {
    r.Number(name, value);
  }
  return r;
}

// Listens for `passthroughfs status` under the name of this mount's device
// (`mount`: as mountinfo showed it after mounting); without it the daemon
// serves on, and says why there is no status.
std::unique_ptr<StatusServer> StartStatusServer(const std::string& mountpoint,
                                                const std::optional<sys::MountInfo>& mount,
                                                const StatusSources& sources) {
  if (!mount) {
    LOG_WARN("no status command: %s is not in /proc/self/mountinfo", mountpoint.c_str());
    return nullptr;
  }
  const std::string name = StatusSocketName(mount->major, mount->minor);
  auto server = StatusServer::Start(name, ::getuid(), [sources] { return MakeStatus(sources); });
  if (!server.ok()) {
    LOG_WARN("no status command: socket @%s: %s", name.c_str(), strerror(server.error().value()));
    return nullptr;
  }
  LOG_DEBUG("status socket @%s", name.c_str());
  return std::move(*server);
}

// Wires the session to the mounted device and serves until unmounted.
// `ready_fd` (daemon mode): told once the daemon serves.
// --restartable (supervisor.h): the state file the supervisor holds, and
// which server this is (0: the first, which answers INIT; later ones take the
// connection over).
struct RestartRole {
  int state_fd = -1;
  int generation = 0;
  int ready_fd = -1;  // told once this server serves (supervisor.h)
  // The lock hand-over socket pair (upgrade): sent on by a server handing
  // over, received from by the next.
  int handover_send = -1;
  int handover_recv = -1;
};

void TellSupervisorReady(const RestartRole& restart) {
  if (restart.ready_fd < 0) return;
  const char byte = 1;
  if (::write(restart.ready_fd, &byte, 1) != 1) {
    // The supervisor is gone: so is the connection; nothing to tell.
  }
}

// The first server records how INIT was answered and journals opens; a
// restarted one takes over from that record. Returns false (logged) if the
// state cannot be taken over.
bool PrepareRestart(const RestartRole& restart, Plan* plan, mirror::MirrorFs* fs) {
  if (restart.state_fd < 0) return true;
  auto header = session::ReadRestartHeader(restart.state_fd);
  if (!header.ok()) {
    LOG_ERROR("--restartable: the restart state is unreadable (%s)",
              strerror(header.error().value()));
    return false;
  }
  if (restart.generation == 0) {
    plan->session.init_accepted = [fd = restart.state_fd,
                                   h = *header](const proto::InitOutcome& out) mutable {
      h.initialized = true;
      h.init = out;
      if (Errno e = session::WriteRestartHeader(fd, h)) {
        LOG_WARN("--restartable: cannot record the INIT outcome (%s): a restart will fail",
                 strerror(e.value()));
      }
    };
    fs->KeepRestartJournal(restart.state_fd);
    return true;
  }
  const mirror::InodeKey root = fs->root_key();
  if (!header->initialized || header->source_dev != root.dev || header->source_ino != root.ino) {
    LOG_ERROR("--restartable: the connection %s; not taken over",
              header->initialized ? "serves another SOURCE" : "was never initialized");
    return false;
  }
  return true;
}

int Serve(const Options& o, Plan plan, mirror::MirrorFs* fs, transport::Mounted mounted,
          sigset_t signals, int ready_fd, modules::AuditLog* audit, const std::string& log_where,
          RestartRole restart = {}) {
  if (!PrepareRestart(restart, &plan, fs)) return 1;
  plan.transport.share_device_fd = restart.state_fd >= 0;
  // Memory freed for forgotten inodes goes back to the OS, after each burst
  // of forgets (memory_releaser.h). Declared before the session: workers
  // call it until the server has joined them.
  session::MemoryReleaser releaser(sys::ReleaseFreeMemory);
  plan.session.forgotten = [&releaser](uint64_t nodeids) { releaser.Freed(nodeids); };
  const int dev_fd = mounted.device.get();
  // Declared before the session, so that the rings and entry buffers outlive
  // every thread that may still answer through them (the lock waiters).
  std::unique_ptr<transport::UringTransport> uring;
  if (!CreateRings(dev_fd, &plan, &uring)) {
    (void)transport::Unmount(o.mountpoint, mounted.method);
    return 1;
  }
  if (plan.init_during_mount && uring == nullptr &&
      (plan.init_during_mount->flags & abi::FUSE_OVER_IO_URING) != 0) {
    // INIT told the kernel requests come over io_uring: without the rings
    // every request would wait for ever.
    LOG_ERROR(
        "INIT (answered during mount(2)) chose io_uring, whose queues could not be "
        "created; unmounting (--transport=dev or --sync-init=off avoid this)");
    (void)transport::Unmount(o.mountpoint, mounted.method);
    return 1;
  }
  // Policy modules in front of the mirror, in command-line order; without
  // any the session serves the mirror directly.
  std::unique_ptr<ModuleChain> chain = MakeModuleChain(o, fs, audit);
  session::Session session(chain ? static_cast<FileSystem*>(chain.get()) : fs, plan.session);
  transport::FuseDeviceControl control(dev_fd);
  session::DeviceBackingRegistrar registrar(&control);
  if (plan.passthrough) fs->SetBackingRegistrar(&registrar);
  // Notifications reach the kernel through a connection fd of their own (a
  // clone): outside changes to SOURCE from the source watcher's thread, and
  // attribute invalidations when a file is first opened for writing through
  // kernel passthrough (MirrorFs::AttachBacking).
  std::unique_ptr<session::DeviceNotifier> notifier;
  auto notify_channel = control.Clone();
  if (notify_channel.ok()) {
    notifier = std::make_unique<session::DeviceNotifier>(std::move(*notify_channel));
    fs->SetNotifier(notifier.get());
  } else {
    LOG_WARN(
        "cannot clone the device fd for notifications (%s): no source watch, and "
        "times moved by writes through shared mappings show after the attribute timeout",
        strerror(notify_channel.error().value()));
  }

  // Once INIT is answered and the transport decided, the mount is live as
  // it will be served: say so in one line, to the log and (daemon mode)
  // through `ready_fd` to the parent, which returns only then.
  plan.transport.initialized = [&o, fs, ready_fd, restart](bool uring_in_use) {
    TellSupervisorReady(restart);
    std::string summary =
        "mounted " + o.source + " at " + o.mountpoint + ": data path " +
        (fs->passthrough_enabled() ? "kernel passthrough" : "served by the daemon") +
        ", transport " + (uring_in_use ? "io_uring" : "/dev/fuse") + ", source watch " +
        (fs->source_watched() ? "on" : "off");
    for (size_t i = 0; i < o.modules.size(); ++i) {
      summary += (i == 0 ? ", policies " : " ") + o.modules[i];
    }
    LOG_INFO("%s", summary.c_str());
    log::EchoToStderr(false);
    // systemd's Type=notify (docs/systemd): the unit is up from here.
    NotifyServiceManager("READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=" + summary);
    if (ready_fd >= 0) {
      const std::string said = std::string(1, '\0') + summary + "\n";
      if (::write(ready_fd, said.data(), said.size()) != static_cast<ssize_t>(said.size())) {
        // The parent is gone; keep serving.
      }
      ::close(ready_fd);
    }
  };
  if (restart.generation > 0) {
    // Taking over: the connection's parameters as the first server
    // negotiated them, the open files and backings the kernel still holds,
    // and every request the dead server had read and not answered.
    const auto header = session::ReadRestartHeader(restart.state_fd);
    session.Adopt(header->init);
    auto restored = fs->RestoreFrom(restart.state_fd);
    if (!restored.ok()) {
      LOG_ERROR("--restartable: cannot take over the open files: %s",
                strerror(restored.error().value()));
      return 1;
    }
    const uint64_t lock_owners =
        restart.handover_recv >= 0 ? fs->TakeOverLocks(restart.handover_recv) : 0;
    LOG_INFO(
        "server %d took over %llu open files, %llu open directories, %llu backing ids, "
        "%llu lock owners (%llu opens could not be reopened)",
        restart.generation, static_cast<unsigned long long>(restored->files),
        static_cast<unsigned long long>(restored->dirs),
        static_cast<unsigned long long>(restored->backings),
        static_cast<unsigned long long>(lock_owners),
        static_cast<unsigned long long>(restored->failed));
    // Changes made in SOURCE while no server watched it were not seen.
    fs->CachedNamesMayBeStale("a new server took over");
    if (notifier == nullptr) {
      LOG_ERROR("--restartable: no notification channel: the requests in flight cannot be resent");
    } else if (Errno e = notifier->ResendUnanswered()) {
      LOG_WARN(
          "--restartable: FUSE_NOTIFY_RESEND failed (%s): requests the dead server had "
          "read stay unanswered",
          strerror(e.value()));
    }
  }
  if (plan.init_during_mount) {
    session.AdoptInitAnsweredDuringMount(*plan.init_during_mount);
  }
  auto channel = std::make_unique<transport::FdChannel>(mounted.device.Release(), true);
  session::Server server(&session, &control, std::move(channel), plan.threads, plan.transport);
  StartSignalThread(signals, o, mounted.method, mounted.info ? mounted.info->id : 0, session, *fs,
                    server, uring.get(), releaser, audit);
  // Declared after everything it reads: it stops answering first.
  const StatusSources sources{
      o,           plan,     log_where, std::time(nullptr), session, *fs, server,
      uring.get(), releaser, audit,     restart.generation};
  std::unique_ptr<StatusServer> status = StartStatusServer(o.mountpoint, mounted.info, sources);

  LOG_INFO("serving %s at %s with %d threads (%s)", o.source.c_str(), o.mountpoint.c_str(),
           plan.threads, fs->handles_enabled() ? "file handles" : "O_PATH fds");
  Errno e = server.Run();
  if (!e && server.drained()) {
    // Handed over (upgrade): nothing is released, the open files, backings
    // and journal are the next server's. It starts once this process is
    // gone, with requests waiting meanwhile: end now, without the orderly
    // teardown (the status and watch threads take up to half a second to
    // stop). The process's end closes this server's fds and sockets.
    if (restart.handover_send >= 0) {
      auto sent = fs->HandOverLocks(restart.handover_send);
      if (!sent.ok()) {
        LOG_WARN(
            "upgrade: the POSIX locks held could not all be handed over (%s): those not "
            "sent are lost",
            strerror(sent.error().value()));
      } else if (*sent > 0) {
        LOG_INFO("upgrade: handed over the locks of %llu lock owners",
                 static_cast<unsigned long long>(*sent));
      }
    }
    LOG_INFO("handed the connection over (upgrade)");
    if (status) status->StopListening();  // frees the socket's name for the next server
    (void)::kill(::getppid(), HandedOverSignal());
    fflush(nullptr);
    _exit(kExitHandedOver);
  }
  // The mount is gone: free the status socket's name now, not after the
  // teardown below (up to half a second): a new mount may already have this
  // device number, and its daemon wants the name. (Joined, not detached: an
  // answer being made reads what the teardown frees.)
  status.reset();
  fs->Destroy();  // stops the source watch before the notifier goes
  if (e) {
    LOG_ERROR("stopped: %s", strerror(e.value()));
    return 1;
  }
  LOG_INFO("unmounted %s", o.mountpoint.c_str());
  return 0;
}

// Live upgrade (--restartable): what a supervisor hands the binary on disk
// when it execs it. The fds stay open across the exec; their numbers and
// the running server travel as the first argument, before the original
// ones: --take-over=DEV:STATE:SERVER:GENERATION:MOUNT_ID:METHOD:GUARD:AUTOSOCK:
// HANDOVER_SEND:HANDOVER_RECV
struct TakeOver {
  int dev_fd = -1;
  int state_fd = -1;
  pid_t server = 0;
  int generation = 0;
  unsigned mount_id = 0;
  int method = 0;
  int unmount_guard = -1;
  int auto_unmount_socket = -1;
  int handover_send = -1;
  int handover_recv = -1;
};
constexpr std::string_view kTakeOverFlag = "--take-over=";

// The command line this process started with, and its executable's path
// then (the binary on disk an upgrade runs: a package upgrade replaces the
// file at that path).
std::vector<std::string> g_args;
std::string g_self_path;

std::optional<TakeOver> ParseTakeOver(std::string_view arg) {
  if (!arg.starts_with(kTakeOverFlag)) return std::nullopt;
  TakeOver t;
  long long v[10];
  if (sscanf(std::string(arg.substr(kTakeOverFlag.size())).c_str(),
             "%lld:%lld:%lld:%lld:%lld:%lld:%lld:%lld:%lld:%lld", &v[0], &v[1], &v[2], &v[3], &v[4],
             &v[5], &v[6], &v[7], &v[8], &v[9]) != 10) {
    throw std::invalid_argument("malformed " + std::string(arg));
  }
  t.dev_fd = static_cast<int>(v[0]);
  t.state_fd = static_cast<int>(v[1]);
  t.server = static_cast<pid_t>(v[2]);
  t.generation = static_cast<int>(v[3]);
  t.mount_id = static_cast<unsigned>(v[4]);
  t.method = static_cast<int>(v[5]);
  t.unmount_guard = static_cast<int>(v[6]);
  t.auto_unmount_socket = static_cast<int>(v[7]);
  t.handover_send = static_cast<int>(v[8]);
  t.handover_recv = static_cast<int>(v[9]);
  return t;
}

void KeepAcrossExec(int fd, bool keep) {
  if (fd < 0) return;
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, keep ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC);
}

// SIGUSR2 to the supervisor: exec the binary on disk as this supervisor,
// handing it the connection, the state file and the running server (which
// the new binary tells to hand over). Returns only if the exec failed.
void ExecUpgrade(const Options& o, const mirror::InodeKey& served,
                 const transport::Mounted& mounted, int state_fd, const int handover[2],
                 pid_t server, int generation) {
  if (g_self_path.empty()) {
    LOG_ERROR("upgrade: this process's executable is unknown; not upgraded");
    return;
  }
  // The new binary finds SOURCE by its path: if the path now names another
  // directory, it would refuse the connection (the state file names the
  // one served). Refused here instead, where this supervisor goes on.
  struct stat now;
  if (::stat(o.source.c_str(), &now) < 0 || now.st_dev != served.dev || now.st_ino != served.ino) {
    LOG_ERROR(
        "upgrade refused: %s is no longer the directory this mount serves (moved or "
        "replaced); the running server goes on",
        o.source.c_str());
    return;
  }
  const int fds[] = {mounted.device.get(),
                     state_fd,
                     mounted.unmount_guard.get(),
                     mounted.auto_unmount_socket.get(),
                     handover[0],
                     handover[1]};
  char take_over[192];
  snprintf(take_over, sizeof take_over, "%.*s%d:%d:%d:%d:%u:%d:%d:%d:%d:%d",
           static_cast<int>(kTakeOverFlag.size()), kTakeOverFlag.data(), fds[0], fds[1],
           static_cast<int>(server), generation, mounted.info ? mounted.info->id : 0u,
           static_cast<int>(mounted.method), fds[2], fds[3], fds[4], fds[5]);
  std::vector<std::string> args{g_self_path, take_over};
  args.insert(args.end(), g_args.begin() + 1, g_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  LOG_INFO("upgrade: running %s (the server, process %d, hands over to it)", g_self_path.c_str(),
           static_cast<int>(server));
  for (int fd : fds) KeepAcrossExec(fd, true);
  ::execv(g_self_path.c_str(), argv.data());
  const int e = errno;
  for (int fd : fds) KeepAcrossExec(fd, false);
  LOG_ERROR("upgrade: cannot run %s: %s; the running server goes on", g_self_path.c_str(),
            strerror(e));
}

// --restartable: this process keeps the connection (the device fd in
// `mounted`, never given up here) and the restart state, and serves in
// children (supervisor.h), each a copy of this process as it is now.
// `take_over`: this process is an upgraded supervisor (exec'd by the
// previous binary), with the state file and a server already running.
int Supervised(const Options& o, const Plan& plan, mirror::MirrorFs* fs,
               transport::Mounted& mounted, sigset_t signals, int ready_fd,
               modules::AuditLog* audit, const std::string& log_where,
               const std::optional<TakeOver>& take_over) {
  sys::UniqueFd state;
  if (take_over) {
    state = sys::UniqueFd(take_over->state_fd);
    KeepAcrossExec(state.get(), false);
    auto header = session::ReadRestartHeader(state.get());
    if (!header.ok() || header->source_dev != fs->root_key().dev ||
        header->source_ino != fs->root_key().ino) {
      // Not this SOURCE's connection (its path changed since the old
      // supervisor checked): refuse it. The running server goes on, and
      // this process outlives it as its parent, restarting nothing.
      LOG_ERROR(
          "upgrade: the connection handed over does not serve %s; refused: the running "
          "server (process %d) goes on, not restarted if it dies",
          o.source.c_str(), static_cast<int>(take_over->server));
      return Outlive(take_over->server, signals);
    }
  } else {
    state = sys::UniqueFd(::memfd_create("passthroughfs-restart", MFD_CLOEXEC));
    if (!state.valid()) {
      LOG_ERROR("--restartable: no state file (memfd_create: %s)", strerror(errno));
      (void)transport::Unmount(o.mountpoint, mounted.method);
      return 1;
    }
    session::RestartHeader header;
    header.source_dev = fs->root_key().dev;
    header.source_ino = fs->root_key().ino;
    if (Errno e = session::WriteRestartHeader(state.get(), header)) {
      LOG_ERROR("--restartable: cannot write the state file: %s", strerror(e.value()));
      (void)transport::Unmount(o.mountpoint, mounted.method);
      return 1;
    }
  }
  // The lock hand-over socket pair (HandOverLocks), kept across upgrades.
  sys::UniqueFd handover_send, handover_recv;
  if (take_over && take_over->handover_send >= 0) {
    handover_send = sys::UniqueFd(take_over->handover_send);
    handover_recv = sys::UniqueFd(take_over->handover_recv);
    KeepAcrossExec(handover_send.get(), false);
    KeepAcrossExec(handover_recv.get(), false);
  } else {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) == 0) {
      handover_send = sys::UniqueFd(pair[0]);
      handover_recv = sys::UniqueFd(pair[1]);
      // Room for many lock owners: the sender never blocks (MSG_DONTWAIT).
      const int size = 8 << 20;
      (void)::setsockopt(pair[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
      (void)::setsockopt(pair[1], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    } else {
      LOG_WARN(
          "--restartable: no lock hand-over socket (%s): an upgrade loses the POSIX "
          "locks the server holds",
          strerror(errno));
    }
  }
  SupervisorConfig config;
  config.mount_id = mounted.info ? mounted.info->id : 0;
  config.mountpoint = o.mountpoint;
  config.signals = signals;
  config.close_after_first_start = ready_fd;
  if (take_over) {
    config.hand_over_from = take_over->server;
    config.first_generation = take_over->generation + 1;
  }
  const int handover[2] = {handover_send.get(), handover_recv.get()};
  config.upgrade = [&o, served = fs->root_key(), &mounted, fd = state.get(), &handover](
                       pid_t server, int generation) {
    ExecUpgrade(o, served, mounted, fd, handover, server, generation);
  };
  return Supervise(config, [&](int generation, int supervisor_ready_fd) {
    // In the child: its own copies of the objects (never used by the
    // supervisor), and the connection's fd duplicated as this server's.
    transport::Mounted own;
    own.device = sys::UniqueFd(::fcntl(mounted.device.get(), F_DUPFD_CLOEXEC, 0));
    own.method = mounted.method;
    own.info = mounted.info;
    if (!own.device.valid()) return 1;
    return Serve(
        o, plan, fs, std::move(own), signals, generation == 0 ? ready_fd : -1, audit, log_where,
        RestartRole{state.get(), generation, supervisor_ready_fd, handover[0], handover[1]});
  });
}

// -o remount: the running daemon keeps serving; this process only asks the
// kernel to change the mount's flags.
int Remount(const Options& o) {
  struct statfs now;
  if (::statfs(o.mountpoint.c_str(), &now) < 0) {
    Die("cannot remount " + o.mountpoint + ": " + strerror(errno));
  }
  std::string why;
  if (transport::Remount(RemountRequest(o, static_cast<unsigned long>(now.f_flags)), &why)) {
    Die(why);
  }
  return 0;
}

int Run(Options o, const std::optional<TakeOver>& take_over) {
  MakePathsAbsolute(&o);
  if (o.fs.state_dir.empty()) {
    const char* home = getenv("HOME");
    const char* xdg_state = getenv("XDG_STATE_HOME");
    o.fs.state_dir = DefaultStateDir(
        LogHost{false, false, ::geteuid(), home ? home : "", xdg_state ? xdg_state : ""});
    if (o.fs.export_handles && ::geteuid() != 0 && !o.fs.state_dir.empty()) {
      std::error_code ignored;  // MirrorFs says what is wrong if it is missing
      std::filesystem::create_directories(std::filesystem::path(o.fs.state_dir).parent_path(),
                                          ignored);
    }
  }
  std::string log_warning, log_where;
  const bool log_is_stderr = SetUpLog(o, &log_warning, &log_where);
  if (o.remount) return Remount(o);
  // Before any thread starts, for the MemoryReleaser below (syscalls.h).
  sys::PrepareAllocatorForRelease();
  CheckSource(o.source);
  o.read_only_paths = ResolveUnderSource(o.source, o.read_only_paths);
  std::unique_ptr<modules::AuditLog> audit = OpenAudit(o);
  // Blocked before the mount exists: a SIGUSR1 (stats) or SIGTERM sent as
  // soon as the mount shows up must wait for the signal thread, not take the
  // default action and kill a daemon whose mount then stays behind.
  sigset_t signals = BlockSignals();
  Plan plan = Resolve(o, GatherHostFacts());
  for (const LogLine& line : plan.log) {
    if (log::Enabled(line.level)) log::Write(line.level, "%s", line.text.c_str());
  }
  auto fs = mirror::MirrorFs::Create(plan.fs);
  if (!fs.ok()) Die("SOURCE " + o.source + ": " + strerror(fs.error().value()));
  if (take_over) {
    // An upgraded supervisor: the mount exists; its connection, state file
    // and server came with the exec.
    transport::Mounted mounted;
    mounted.device = sys::UniqueFd(take_over->dev_fd);
    mounted.method = static_cast<transport::MountMethod>(take_over->method);
    mounted.unmount_guard = sys::UniqueFd(take_over->unmount_guard);
    mounted.auto_unmount_socket = sys::UniqueFd(take_over->auto_unmount_socket);
    for (int fd : {take_over->dev_fd, take_over->unmount_guard, take_over->auto_unmount_socket}) {
      KeepAcrossExec(fd, false);
    }
    for (const sys::MountInfo& m : sys::ReadMountInfo()) {
      if (m.id == take_over->mount_id) mounted.info = m;
    }
    o.transport = Options::Transport::kDev;
    ResolveTransport(o.transport, transport::UringSupport{}, &plan);
    LOG_INFO("upgrade: %s %s (git %s) takes over %s", g_self_path.c_str(), kVersion,
             PTFS_GIT_REVISION, o.mountpoint.c_str());
    return Supervised(o, plan, fs->get(), mounted, signals, -1, audit.get(), log_where, take_over);
  }
  // INIT during mount(2) (Linux 6.18, mount(2) as root): answered on a
  // thread of the mount while mount(2) waits for it. /dev/fuse is open by
  // then, so the fuse module is loaded and the transport can be decided
  // first: INIT asks for io_uring only if the rings will be used. (Not with
  // --restartable: its servers record INIT themselves.)
  // The transport is decided once the fuse module is loaded (it holds
  // /sys/module/fuse/parameters): before INIT during mount(2), else after
  // the mount, before INIT reaches the server.
  bool transport_resolved = false;
  auto resolve_transport = [&] {
    if (transport_resolved) return;
    ResolveTransport(o.transport,
                     o.transport == Options::Transport::kDev ? transport::UringSupport{}
                                                             : transport::ProbeUringSupport(),
                     &plan);
    transport_resolved = true;
  };
  transport::InitAnswerer answer_init;
  if (o.sync_init && !o.restartable) {
    answer_init = [&](int dev_fd, const std::atomic<bool>& stop) {
      resolve_transport();
      // (A transport error is reported after mount(2): INIT is answered
      // regardless, or mount(2) would wait for ever.)
      proto::InitConfig config = plan.session.init;
      if (plan.want_uring) config.wanted_flags |= abi::FUSE_OVER_IO_URING;
      transport::FdChannel channel(dev_fd, /*owned=*/false);
      auto outcome = session::AnswerInitDuringMount(channel, config, stop);
      if (!outcome.ok()) return false;
      plan.init_during_mount = *outcome;
      return true;
    };
  }
  const size_t logged = plan.log.size();
  std::string why;
  auto mounted = transport::Mount(plan.mount, &why, answer_init);
  if (!mounted.ok()) {
    if (!plan.transport_error.empty()) Die(plan.transport_error);
    Die(why);
  }
  if (!mounted->init_during_mount) plan.init_during_mount.reset();
  if (o.mount.auto_unmount) {
    if (Errno e = transport::StartUnmountGuard(&*mounted)) {
      LOG_WARN(
          "-o auto_unmount: cannot start the unmount guard (%s): a daemon killed with -9 "
          "leaves its mount behind",
          strerror(e.value()));
    }
  }
  resolve_transport();
  for (size_t i = logged; i < plan.log.size(); ++i) {
    if (log::Enabled(plan.log[i].level))
      log::Write(plan.log[i].level, "%s", plan.log[i].text.c_str());
  }
  if (!plan.transport_error.empty()) {
    (void)transport::Unmount(o.mountpoint, mounted->method);
    Die(plan.transport_error);
  }
  if (!log_warning.empty()) LOG_WARN("%s", log_warning.c_str());
  const int ready_fd =
      o.foreground ? -1
                   : Daemonize(o.mountpoint, mounted->method, mounted->info ? mounted->info->id : 0,
                               o.quiet, log_is_stderr, log_where);
  if (o.restartable)
    return Supervised(o, plan, fs->get(), *mounted, signals, ready_fd, audit.get(), log_where,
                      std::nullopt);
  return Serve(o, std::move(plan), fs->get(), std::move(*mounted), signals, ready_fd, audit.get(),
               log_where);
}

}  // namespace
}  // namespace ptfs::cmd

int ptfs::RunDaemon(int argc, char** argv, const std::vector<ModuleOption>& extra) {
  try {
    // The daemon's executable run as its own -o auto_unmount guard.
    if (argc >= 1 && std::string_view(argv[0]) == ptfs::transport::kUnmountGuardName) {
      return ptfs::transport::RunUnmountGuard(argc, argv);
    }
    if (argc >= 2 && std::string_view(argv[1]) == "status") {
      // `passthroughfs status MOUNTPOINT`: mounting needs two operands, so a
      // SOURCE directory named "status" still mounts as before.
      std::vector<std::string> rest(argv + 2, argv + argc);
      size_t operands = 0;
      for (const std::string& a : rest) operands += a.starts_with("-") ? 0 : 1;
      if (operands <= 1) return ptfs::cmd::RunStatus(rest);
    }
    if (argc == 3 && std::string_view(argv[1]) == "upgrade" && argv[2][0] != '-') {
      // `passthroughfs upgrade MOUNTPOINT`, as `status` (./upgrade names a
      // SOURCE directory of that name).
      return ptfs::cmd::RunUpgrade(std::vector<std::string>(argv + 2, argv + argc));
    }
    // The command line and executable an upgrade runs again (daemon.cc).
    std::vector<char*> args(argv, argv + argc);
    std::optional<ptfs::cmd::TakeOver> take_over;
    if (argc >= 2) take_over = ptfs::cmd::ParseTakeOver(argv[1]);
    if (take_over) args.erase(args.begin() + 1);
    ptfs::cmd::g_args.assign(args.begin(), args.end());
    char self[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) ptfs::cmd::g_self_path.assign(self, static_cast<size_t>(n));
    argc = static_cast<int>(args.size());
    argv = args.data();
    ptfs::cmd::Options o = ptfs::cmd::ParseOptions(argc, argv, extra);
    if (o.help) {
      fputs(ptfs::cmd::Usage(argv[0], extra).c_str(), stdout);
      return 0;
    }
    if (o.version) {
      printf("passthroughfs %s (git %s, FUSE protocol 7.%u)\n", ptfs::cmd::kVersion,
             PTFS_GIT_REVISION, ptfs::abi::kKernelMinorVersion);
      return 0;
    }
    return ptfs::cmd::Run(o, take_over);
  } catch (const std::exception& e) {
    fprintf(stderr, "passthroughfs: %s\n", e.what());
    return 1;
  }
}
