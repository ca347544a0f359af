#include "cmd/passthroughfs/status.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "modules/json_line.h"
#include "sys/mountinfo.h"
#include "util/log.h"

namespace ptfs::cmd {
namespace {

// How long a connection may take to send its one-line request: only root
// and the daemon's user get this far, and one at a time.
constexpr int kRequestTimeoutMs = 2000;
// How long the command waits for the report: a stopped daemon (SIGSTOP, a
// debugger) accepts the connection in the kernel but never answers.
constexpr int kReplyTimeoutSeconds = 5;

// sockaddr_un for the abstract name `name`; its length in *len.
sockaddr_un AbstractAddress(const std::string& name, socklen_t* len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t n = std::min(name.size(), sizeof(addr.sun_path) - 1);
  memcpy(addr.sun_path + 1, name.data(), n);  // sun_path[0] = 0: abstract
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
  return addr;
}

bool PeerCredentials(int fd, ucred* cred) {
  socklen_t len = sizeof(*cred);
  return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == 0;
}

void SendAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Up to the first newline (or `limit` bytes), waiting at most `timeout_ms`
// in all.
std::string ReceiveLine(int fd, size_t limit, int timeout_ms) {
  std::string line;
  while (line.size() < limit && line.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  return line.substr(0, line.find('\n'));
}

std::string ReceiveAll(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

int Fail(const std::string& message) {
  fprintf(stderr, "passthroughfs: %s\n", message.c_str());
  return 1;
}

}  // namespace

std::string StatusReport::Lines() const {
  std::string out;
  for (const Field& f : fields_) {
    out += f.key;
    out += ": ";
    for (char c : f.value) {
      if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '\n';
  }
  return out;
}

std::string StatusReport::Json() const {
  modules::JsonLine line;
  for (const Field& f : fields_) {
    if (f.number) {
      line.Int(f.key, std::stoll(f.value));
    } else {
      line.Str(f.key, f.value);
    }
  }
  return std::move(line).Take();
}

std::string StatusSocketName(unsigned major, unsigned minor) {
  return "passthroughfs/status/" + std::to_string(major) + ":" + std::to_string(minor);
}

namespace {

// A socket listening on the abstract `name`, or the errno.
Result<sys::UniqueFd> Listen(const std::string& name) {
  // Non-blocking: the answering thread polls it with the stop eventfd, and a
  // connection gone between the poll and the accept must not block it.
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Errno::Last();
  socklen_t len;
  const sockaddr_un addr = AbstractAddress(name, &len);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) < 0 ||
      ::listen(fd.get(), 8) < 0) {
    return Errno::Last();
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<StatusServer>> StatusServer::Start(const std::string& name, uid_t owner,
                                                          std::function<StatusReport()> make,
                                                          std::chrono::milliseconds wait_for_name) {
  auto listener = Listen(name);
  sys::UniqueFd fd;
  if (listener.ok()) {
    fd = std::move(*listener);
  } else if (listener.error().value() != EADDRINUSE || wait_for_name.count() <= 0) {
    return listener.error();
  }
  return std::unique_ptr<StatusServer>(
      new StatusServer(name, std::move(fd), owner, std::move(make), wait_for_name));
}

StatusServer::StatusServer(std::string name, sys::UniqueFd listener, uid_t owner,
                           std::function<StatusReport()> make,
                           std::chrono::milliseconds wait_for_name)
    : name_(std::move(name)),
      listener_(std::move(listener)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      owner_(owner),
      make_(std::move(make)),
      wait_for_name_(wait_for_name) {
  thread_ = std::thread([this] { Loop(); });
}

void StatusServer::WakeToStop() {
  stop_ = true;
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
}

void StatusServer::StopListening() {
  WakeToStop();
  thread_.detach();  // it ends on its own; the process ends anyway
  std::lock_guard<std::mutex> lock(mu_);
  ::shutdown(listener_.get(), SHUT_RDWR);
  listener_.Reset();  // the name is free from here
}

StatusServer::~StatusServer() {
  WakeToStop();
  if (thread_.joinable()) thread_.join();
}

int StatusServer::WaitForName() {
  const auto deadline = std::chrono::steady_clock::now() + wait_for_name_;
  for (;;) {
    auto listener = Listen(name_);
    if (listener.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return -1;
      listener_ = std::move(*listener);
      LOG_DEBUG("status socket @%s: free now", name_.c_str());
      return listener_.get();
    }
    if (listener.error().value() != EADDRINUSE || std::chrono::steady_clock::now() >= deadline) {
      LOG_WARN("no status command: socket @%s: %s", name_.c_str(),
               strerror(listener.error().value()));
      return -1;
    }
    pollfd wake{wake_.get(), POLLIN, 0};
    if (::poll(&wake, 1, 20) > 0 || stop_) return -1;
  }
}

void StatusServer::Loop() {
  int listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listener = listener_.get();
  }
  if (listener < 0 && (listener = WaitForName()) < 0) return;
  for (;;) {
    pollfd fds[2] = {{listener, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0 || stop_) return;
    const int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
      return;  // shut down
    }
    Answer(conn);
    ::close(conn);
  }
}

void StatusServer::Answer(int conn) {
  ucred peer{};
  if (!PeerCredentials(conn, &peer)) return;
  if (peer.uid != 0 && peer.uid != owner_) {
    LOG_INFO("status refused to uid %u (pid %d)", peer.uid, peer.pid);
    SendAll(conn, "refused: only root and the mounting user (uid " + std::to_string(owner_) +
                      ") may read this mount's status\n");
    return;
  }
  const std::string request = ReceiveLine(conn, 64, kRequestTimeoutMs);
  if (request != "status" && request != "status json") {
    SendAll(conn, "refused: unknown request\n");
    return;
  }
  const StatusReport report = make_();
  SendAll(conn, "ok\n" + (request == "status json" ? report.Json() : report.Lines()));
}

// Asks the daemon serving `given` for its report: the report's text (the
// lines after "ok"), or the reason, for the user, in *why.
std::optional<std::string> QueryStatus(const std::string& given, bool json, std::string* why) {
  auto fail = [why](std::string text) -> std::optional<std::string> {
    *why = std::move(text);
    return std::nullopt;
  };
  // Not stat(2): the mount's root belongs to the daemon, which may not answer.
  const std::string path = sys::MountPointPath(given);
  const std::optional<sys::MountInfo> mount = sys::FindMount(sys::ReadMountInfo(), path);
  if (!mount) return fail(given + ": not a mount point");
  if (mount->fstype != "fuse" && !mount->fstype.starts_with("fuse.")) {
    return fail(given + ": a " + mount->fstype + " mount, not passthroughfs");
  }
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(std::string("socket: ") + strerror(errno));
  socklen_t len;
  const sockaddr_un addr = AbstractAddress(StatusSocketName(mount->major, mount->minor), &len);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) < 0) {
    return fail(given + ": no passthroughfs daemon answers for this " + mount->fstype +
                " mount (another FUSE server, a daemon that has died, or one in another "
                "network namespace)");
  }
  ucred server{};
  const std::optional<std::string> owner = mount->SuperOption("user_id");
  if (!PeerCredentials(fd.get(), &server) ||
      (server.uid != 0 && (!owner || *owner != std::to_string(server.uid)))) {
    return fail(given + ": the status socket is held by uid " + std::to_string(server.uid) +
                " (pid " + std::to_string(server.pid) + "), not by root or the mount's owner (" +
                (owner ? "uid " + *owner : "unknown") + "): not trusted");
  }
  const timeval timeout{kReplyTimeoutSeconds, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  SendAll(fd.get(), json ? "status json\n" : "status\n");
  errno = 0;
  const std::string reply = ReceiveAll(fd.get());
  if (reply.empty() && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return fail(given + ": the daemon (pid " + std::to_string(server.pid) +
                ") did not answer within " + std::to_string(kReplyTimeoutSeconds) + " s");
  }
  if (reply.starts_with("ok\n")) return reply.substr(3);
  const std::string reason = reply.substr(0, reply.find('\n'));
  if (reason.empty()) return fail(given + ": the daemon closed the connection without a status");
  return fail(given + ": " + (reason.starts_with("refused: ") ? reason.substr(9) : reason));
}

int RunStatus(const std::vector<std::string>& args) {
  bool json = false;
  std::string given;
  for (const std::string& a : args) {
    if (a == "--json") {
      json = true;
    } else if (a.starts_with("-") && a != "-") {
      return Fail("status: unknown option '" + a +
                  "' (usage: passthroughfs status [--json] MOUNTPOINT)");
    } else if (given.empty()) {
      given = a;
    } else {
      return Fail("status: one MOUNTPOINT only (usage: passthroughfs status [--json] MOUNTPOINT)");
    }
  }
  if (given.empty()) return Fail("usage: passthroughfs status [--json] MOUNTPOINT");
  std::string why;
  const std::optional<std::string> report = QueryStatus(given, json, &why);
  if (!report) return Fail(why);
  fputs(report->c_str(), stdout);
  return 0;
}

namespace {
// "name: value" lines of a status report, the value of `name`.
std::string Field(const std::string& report, const std::string& name) {
  const std::string key = name + ": ";
  for (size_t pos = 0; pos < report.size();) {
    const size_t end = report.find('\n', pos);
    const std::string line = report.substr(pos, end - pos);
    if (line.starts_with(key)) return line.substr(key.size());
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "";
}
}  // namespace

int RunUpgrade(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0].starts_with("-")) {
    return Fail("usage: passthroughfs upgrade MOUNTPOINT");
  }
  const std::string& given = args[0];
  std::string why;
  const std::optional<std::string> before = QueryStatus(given, false, &why);
  if (!before) return Fail(why);
  const long supervisor = std::atol(Field(*before, "supervisor_pid").c_str());
  if (supervisor <= 0) {
    return Fail(given +
                ": not mounted with --restartable: there is no supervisor to hand the "
                "connection to a new server (unmount and mount again instead)");
  }
  const std::string old_pid = Field(*before, "pid");
  const auto t0 = std::chrono::steady_clock::now();
  // The supervisor runs the binary on disk, which takes the connection over
  // from the running server (docs/persistent-identity.md).
  if (::kill(static_cast<pid_t>(supervisor), SIGUSR2) < 0) {
    return Fail(given + ": cannot signal the supervisor (pid " + std::to_string(supervisor) +
                "): " + strerror(errno));
  }
  for (int i = 0; i < 6000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::optional<std::string> now = QueryStatus(given, false, &why);
    if (!now) continue;  // between servers
    const std::string pid = Field(*now, "pid");
    if (pid.empty() || pid == old_pid) continue;
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    printf("upgraded %s: server %s -> %s, now %s (git %s), %.0f ms\n", given.c_str(),
           old_pid.c_str(), pid.c_str(), Field(*now, "version").c_str(),
           Field(*now, "git_revision").c_str(), ms);
    return 0;
  }
  return Fail(given +
              ": no new server answered within 30 s: the upgrade was refused or failed "
              "(the daemon's log says why; the running server goes on)");
}

}  // namespace ptfs::cmd
