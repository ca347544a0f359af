#include "mirror/confinement.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sys/syscalls.h"
#include "util/log.h"

namespace ptfs::mirror {

namespace {

// Far deeper than any real tree; a walk that long is treated as outside.
constexpr int kMaxWalk = 4096;

Errno MarkMoves(int group, int fd) {
  const sys::ProcFd proc(fd);
  // FAN_ONDIR: directories' own moves are reported too (and flagged so).
  if (::fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_MOVE_SELF | FAN_ONDIR,
                      proc.dir(), proc.name()) < 0) {
    return Errno::Last();
  }
  return Errno();
}

struct DevIno {
  uint64_t dev;
  uint64_t ino;
};

Result<DevIno> KeyOf(int fd) {
  struct statx stx;
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO, &stx) < 0) {
    return Errno::Last();
  }
  return DevIno{makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino};
}

}  // namespace

Confinement::Confinement(uint64_t root_dev, uint64_t root_ino, int watch_fd, ProofOf proof_of)
    : root_dev_(root_dev), root_ino_(root_ino), proof_of_(std::move(proof_of)) {
  if (watch_fd < 0) return;
  // FID mode: FAN_MOVE_SELF needs it, and it reports FAN_ONDIR in the mask.
  const int group =
      ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE |
                          FAN_REPORT_FID,
                      O_RDONLY | O_CLOEXEC | O_LARGEFILE);
  if (group < 0) {
    LOG_DEBUG("confinement: no fanotify group (%s); by-name operations walk up to SOURCE",
              strerror(errno));
    return;
  }
  group_ = sys::UniqueFd(group);
  if (Errno why = MarkMoves(group_.get(), watch_fd)) {
    LOG_DEBUG("confinement: cannot watch moves on SOURCE's filesystem (%s); by-name operations "
              "walk up to SOURCE",
              strerror(why.value()));
    group_ = sys::UniqueFd();
    return;
  }
  MutexLock lock(&devs_mu_);
  tried_[root_dev_] = true;
  devs_.Add(root_dev_);
  all_watched_.store(true, std::memory_order_release);
}

bool Confinement::Covers(uint64_t dev) const { return devs_.Contains(dev); }

void Confinement::Watch(int fd, uint64_t dev) {
  if (!watching() || Covers(dev)) return;
  MutexLock lock(&devs_mu_);
  if (tried_.count(dev) != 0) return;
  tried_[dev] = false;
  Errno why = devs_.Full() ? Errno(ENOSPC) : MarkMoves(group_.get(), fd);
  if (why) {
    // Moves there go unseen: stop trusting proofs anywhere (see all_watched_).
    all_watched_.store(false, std::memory_order_release);
    LOG_DEBUG("confinement: moves on device %u:%u are not watched (%s); by-name operations walk",
              major(dev), minor(dev), strerror(why.value()));
    return;
  }
  tried_[dev] = true;
  devs_.Add(dev);
}

uint64_t Confinement::CurrentEpoch() {
  int queued = 0;
  if (::ioctl(group_.get(), FIONREAD, &queued) == 0 && queued == 0 &&
      draining_.load(std::memory_order_seq_cst) == 0) {
    return epoch_.load(std::memory_order_seq_cst);
  }
  MutexLock lock(&drain_mu_);
  draining_.fetch_add(1, std::memory_order_seq_cst);
  alignas(fanotify_event_metadata) char buf[8192];
  bool dir_moved = false;
  for (;;) {
    const ssize_t got = ::read(group_.get(), buf, sizeof(buf));
    if (got <= 0) break;
    size_t pos = 0;
    while (static_cast<size_t>(got) - pos >= sizeof(fanotify_event_metadata)) {
      fanotify_event_metadata meta;
      std::memcpy(&meta, buf + pos, sizeof(meta));
      if (meta.event_len < sizeof(meta) || meta.event_len > static_cast<size_t>(got) - pos) break;
      // A file's move disconnects nothing below it; a lost event might have.
      if ((meta.mask & (FAN_ONDIR | FAN_Q_OVERFLOW)) != 0) {
        dir_moved = true;
        counters_.dir_moves.fetch_add(1, std::memory_order_relaxed);
      }
      pos += meta.event_len;
    }
  }
  if (dir_moved) epoch_.fetch_add(1, std::memory_order_seq_cst);
  draining_.fetch_sub(1, std::memory_order_seq_cst);
  return epoch_.load(std::memory_order_seq_cst);
}

Result<bool> Confinement::WalkUp(int dir_fd, uint64_t dev, uint64_t ino, uint64_t epoch) {
  sys::UniqueFd cur;
  int cur_fd = dir_fd;
  DevIno cur_key{dev, ino};
  std::vector<std::pair<std::shared_ptr<void>, std::atomic<uint64_t>*>> met;
  bool connected = false;
  for (int depth = 0; depth < kMaxWalk; ++depth) {
    // ".." of a mount's root is its mountpoint's parent in the mount tree
    // the fd lives in (the daemon's own clone of SOURCE's mounts, if any), so
    // filesystems mounted inside SOURCE are crossed on the way up.
    const int parent = ::openat(cur_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) return Errno::Last();
    sys::UniqueFd parent_fd(parent);
    PTFS_ASSIGN_OR_RETURN(DevIno key, KeyOf(parent_fd.get()));
    if (key.dev == root_dev_ && key.ino == root_ino_) {
      connected = true;
      break;
    }
    // ".." is itself only at the root of a filesystem or of the daemon's
    // mount tree: the walk left SOURCE's tree without meeting SOURCE.
    if (key.dev == cur_key.dev && key.ino == cur_key.ino) break;
    std::shared_ptr<void> keep;
    if (std::atomic<uint64_t>* proof = proof_of_ ? proof_of_(key.dev, key.ino, &keep) : nullptr) {
      if (epoch != 0 && proof->load(std::memory_order_acquire) == epoch) {
        connected = true;
        break;
      }
      met.emplace_back(std::move(keep), proof);
    }
    cur = std::move(parent_fd);
    cur_fd = cur.get();
    cur_key = key;
  }
  if (connected && epoch != 0) {
    for (auto& [keep, proof] : met) proof->store(epoch, std::memory_order_release);
  }
  return connected;
}

Errno Confinement::Check(int dir_fd, uint64_t dev, uint64_t ino,
                         std::atomic<uint64_t>* proven_epoch) {
  if (dev == root_dev_ && ino == root_ino_) return Errno();
  uint64_t epoch = 0;  // 0: proofs are not trusted
  if (watching() && all_watched_.load(std::memory_order_acquire) && Covers(dev)) {
    epoch = CurrentEpoch();
    if (proven_epoch->load(std::memory_order_acquire) == epoch) return Errno();
  }
  counters_.walks.fetch_add(1, std::memory_order_relaxed);
  Result<bool> connected = WalkUp(dir_fd, dev, ino, epoch);
  if (!connected.ok()) {
    const int e = connected.error().value();
    // The directory itself is gone (ENOENT, ESTALE): so is the name. An
    // ancestor the daemon may not search: see the header.
    if (e == EACCES || e == EPERM) return Errno();
    return connected.error();
  }
  if (!*connected) {
    counters_.refused.fetch_add(1, std::memory_order_relaxed);
    return Errno(ENOENT);
  }
  if (epoch != 0) proven_epoch->store(epoch, std::memory_order_release);
  return Errno();
}

}  // namespace ptfs::mirror
