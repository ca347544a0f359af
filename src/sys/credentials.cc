#include "sys/credentials.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string>
#include <vector>

#include "util/log.h"

namespace ptfs::sys {
namespace {

// The daemon's own supplementary groups, restored after each switch.
const std::vector<gid_t>& OwnGroups() {
  static const std::vector<gid_t> groups = [] {
    std::vector<gid_t> g(static_cast<size_t>(std::max(0, ::getgroups(0, nullptr))));
    if (!g.empty() && ::getgroups(static_cast<int>(g.size()), g.data()) < 0) g.clear();
    return g;
  }();
  return groups;
}

long CurrentFsuid() { return ::syscall(SYS_setfsuid, -1); }  // -1: query only
long CurrentFsgid() { return ::syscall(SYS_setfsgid, -1); }

}  // namespace

bool FsCredentials::Supported() {
  static const bool root = ::geteuid() == 0;
  return root;
}

Result<FsCredentials> FsCredentials::Assume(uint32_t uid, uint32_t gid,
                                            std::span<const uint32_t> groups) {
  if (!WouldSwitch(uid, gid, groups)) return FsCredentials(false);
  (void)OwnGroups();  // captured before the first switch
  std::vector<gid_t> list(groups.begin(), groups.end());
  if (::syscall(SYS_setgroups, list.size(), list.data()) < 0) return Errno::Last();
  ::syscall(SYS_setfsgid, gid);
  ::syscall(SYS_setfsuid, uid);
  if (CurrentFsuid() != static_cast<long>(uid) || CurrentFsgid() != static_cast<long>(gid)) {
    FsCredentials undo(true);  // restores whatever did change
    return Errno(EPERM);
  }
  return FsCredentials(true);
}

FsCredentials::~FsCredentials() {
  if (!active_) return;
  // fsuid first: with it back at 0 the filesystem capabilities return.
  ::syscall(SYS_setfsuid, 0);
  ::syscall(SYS_setfsgid, 0);
  const auto& own = OwnGroups();
  if (::syscall(SYS_setgroups, own.size(), own.data()) < 0 || CurrentFsuid() != 0) {
    // A worker that cannot get its own identity back must not serve again.
    LOG_ERROR("cannot restore the daemon's credentials; aborting");
    std::abort();
  }
}

namespace {
// The numbers of a "Name:\tA\tB..." line of /proc/PID/status.
std::vector<uint32_t> Numbers(std::string_view line) {
  std::vector<uint32_t> out;
  const char* p = line.data();
  const char* end = p + line.size();
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    uint32_t v;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || next == p) break;
    out.push_back(v);
    p = next;
  }
  return out;
}
}  // namespace

Result<std::vector<uint32_t>> ParseStatusGroups(std::string_view status, uint32_t uid,
                                                uint32_t gid) {
  std::vector<uint32_t> uids, gids, groups;
  bool have_groups = false;
  while (!status.empty()) {
    const size_t nl = status.find('\n');
    std::string_view line = status.substr(0, nl);
    status = nl == std::string_view::npos ? std::string_view() : status.substr(nl + 1);
    if (line.starts_with("Uid:")) uids = Numbers(line.substr(4));
    else if (line.starts_with("Gid:")) gids = Numbers(line.substr(4));
    else if (line.starts_with("Groups:")) {
      groups = Numbers(line.substr(7));
      have_groups = true;
    }
  }
  // Uid:/Gid: list real, effective, saved and filesystem ids; the request
  // carried the filesystem ones.
  if (uids.size() != 4 || gids.size() != 4 || !have_groups || uids[3] != uid || gids[3] != gid) {
    return Errno(ESRCH);
  }
  return groups;
}

Result<std::vector<uint32_t>> ThreadGroups(uint32_t tid, uint32_t uid, uint32_t gid) {
  if (tid == 0) return Errno(ESRCH);  // the caller is not visible in our pid namespace
  const std::string path = "/proc/" + std::to_string(tid) + "/status";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno(ESRCH);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ParseStatusGroups(text, uid, gid);
}

}  // namespace ptfs::sys
