#include "mirror/source_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include "sys/syscalls.h"
#include "util/log.h"

namespace ptfs::mirror {

namespace {

// Changes that alter what the kernel caches: entries appearing, vanishing or
// moving (dirent events, reported on the parent), and an object's attributes
// or data.
constexpr uint64_t kDirentEvents = FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO;
constexpr uint64_t kObjectEvents = FAN_ATTRIB | FAN_MODIFY;

uint64_t PackFsid(const void* fsid) {
  uint64_t v = 0;
  std::memcpy(&v, fsid, sizeof(v));
  return v;
}

Result<uint64_t> FsidOf(int fd) {
  struct statfs sfs;
  if (::fstatfs(fd, &sfs) < 0) return Errno::Last();
  static_assert(sizeof(sfs.f_fsid) == sizeof(uint64_t));
  return PackFsid(&sfs.f_fsid);
}

Errno MarkFilesystem(int group, int fd) {
  const sys::ProcFd proc(fd);
  if (::fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
                      kDirentEvents | kObjectEvents | FAN_ONDIR, proc.dir(), proc.name()) < 0) {
    return Errno::Last();
  }
  return Errno();
}

// The daemon's own mount of `fd`: data changes made through it are not
// reported. SURV_MODIFY: an ignore mask is otherwise cleared by the next
// write (the kernel requires it for mount marks anyway).
Errno IgnoreWritesThroughMount(int group, int fd) {
  const sys::ProcFd proc(fd);
  if (::fanotify_mark(
          group,
          FAN_MARK_ADD | FAN_MARK_MOUNT | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY,
          FAN_MODIFY, proc.dir(), proc.name()) < 0) {
    return Errno::Last();
  }
  return Errno();
}

}  // namespace

std::vector<SourceEvent> ParseFanotifyEvents(std::span<const char> buf) {
  std::vector<SourceEvent> events;
  size_t pos = 0;
  while (buf.size() - pos >= sizeof(fanotify_event_metadata)) {
    fanotify_event_metadata meta;
    std::memcpy(&meta, buf.data() + pos, sizeof(meta));
    if (meta.event_len < sizeof(meta) || meta.event_len > buf.size() - pos) break;
    if (meta.vers != FANOTIFY_METADATA_VERSION) break;
    SourceEvent ev;
    ev.mask = meta.mask;
    ev.pid = meta.pid;
    ev.overflow = (meta.mask & FAN_Q_OVERFLOW) != 0;
    // Info records follow the metadata, each starting with its header.
    size_t rec = pos + meta.metadata_len;
    const size_t end = pos + meta.event_len;
    while (rec + sizeof(fanotify_event_info_header) <= end) {
      fanotify_event_info_header hdr;
      std::memcpy(&hdr, buf.data() + rec, sizeof(hdr));
      if (hdr.len < sizeof(hdr) || hdr.len > end - rec) break;
      const bool dir_record = hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
                              hdr.info_type == FAN_EVENT_INFO_TYPE_DFID;
      const bool object_record = hdr.info_type == FAN_EVENT_INFO_TYPE_FID;
      const size_t fixed = sizeof(fanotify_event_info_fid) + sizeof(struct file_handle);
      if ((dir_record || object_record) && hdr.len >= fixed) {
        const char* rp = buf.data() + rec;
        fanotify_event_info_fid fid;
        std::memcpy(&fid, rp, sizeof(fid));
        struct file_handle fh;
        const char* hp = rp + sizeof(fanotify_event_info_fid);
        std::memcpy(&fh, hp, sizeof(fh));
        const size_t hsize = sizeof(struct file_handle) + fh.handle_bytes;
        if (sizeof(fanotify_event_info_fid) + hsize <= hdr.len) {
          std::string handle(hp, hsize);
          ev.fsid = PackFsid(&fid.fsid);
          if (object_record) {
            ev.object_handle = std::move(handle);
          } else {
            ev.dir_handle = std::move(handle);
            if (hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
              const char* name = hp + hsize;
              const size_t room = hdr.len - sizeof(fanotify_event_info_fid) - hsize;
              ev.name.assign(name, strnlen(name, room));
            }
          }
        }
      }
      rec += hdr.len;
    }
    events.push_back(std::move(ev));
    pos += meta.event_len;
  }
  return events;
}

Result<std::unique_ptr<SourceWatcher>> SourceWatcher::Create(int source_fd, bool own_mounts) {
  const int group = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
                                        FAN_UNLIMITED_QUEUE | FAN_REPORT_DFID_NAME | FAN_REPORT_FID,
                                    O_RDONLY | O_CLOEXEC | O_LARGEFILE);
  if (group < 0) return Errno::Last();
  auto w = std::unique_ptr<SourceWatcher>(new SourceWatcher(sys::UniqueFd(group), own_mounts));
  if (w->wake_.get() < 0 || w->kick_.get() < 0) return Errno::Last();
  struct stat st;
  if (::fstat(source_fd, &st) < 0) return Errno::Last();
  MutexLock lock(&w->mu_);
  PTFS_TRY(w->AddFilesystem(source_fd, st.st_dev));
  return w;
}

Errno SourceWatcher::AddFilesystem(int fd, uint64_t dev) {
  tried_[dev] = false;
  if (devs_.Full()) return Errno(ENOSPC);
  PTFS_ASSIGN_OR_RETURN(uint64_t fsid, FsidOf(fd));
  PTFS_TRY(MarkFilesystem(group_.get(), fd));
  if (own_mounts_) {
    // Per filesystem, not per mount: a second mount of a filesystem met
    // inside SOURCE keeps reporting the mount's writes (the WriterClosed
    // path then covers them).
    if (Errno why = IgnoreWritesThroughMount(group_.get(), fd)) {
      LOG_INFO("source watch: writes through the daemon's own mount stay reported (%s)",
               strerror(why.value()));
    } else {
      counters_.own_mounts.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // open_by_handle_at needs a real fd on the filesystem; a mount root is a
  // directory (O_DIRECTORY also keeps a FIFO from blocking the open).
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd mount_fd,
                        sys::Reopen(fd, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC));
  mount_fds_.emplace(fsid, std::move(mount_fd));
  tried_[dev] = true;
  devs_.Add(dev);
  return Errno();
}

SourceWatcher::SourceWatcher(sys::UniqueFd group, bool own_mounts)
    : group_(std::move(group)),
      own_mounts_(own_mounts),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      kick_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

SourceWatcher::~SourceWatcher() { Stop(); }

bool SourceWatcher::Covers(uint64_t dev) const { return devs_.Contains(dev); }

bool SourceWatcher::Watch(int fd, uint64_t dev) {
  if (Covers(dev)) return true;
  MutexLock lock(&mu_);
  if (auto it = tried_.find(dev); it != tried_.end()) return it->second;
  if (Errno why = AddFilesystem(fd, dev)) {
    LOG_INFO(
        "source watch: cannot watch the filesystem of device %u:%u inside SOURCE (%s); "
        "its entries keep 1 s cache timeouts",
        major(dev), minor(dev), strerror(why.value()));
    return false;
  }
  return true;
}

void SourceWatcher::MaybeIgnoreModify(uint64_t fsid, const std::string& handle, uint64_t node) {
  MutexLock lock(&mu_);
  // Checked under mu_, which WriterClosed takes after the last writer left:
  // a mark is never added after the writer that would remove it is gone.
  if (modify_ignored_.count(node) != 0 || !writes_tracked_(node)) return;
  auto it = mount_fds_.find(fsid);
  if (it == mount_fds_.end()) return;
  sys::HandleBlob blob;
  blob.bytes.assign(handle.begin(), handle.end());
  auto fd = sys::OpenByHandle(it->second.get(), blob, O_PATH | O_CLOEXEC);
  if (!fd.ok()) return;
  const sys::ProcFd proc(fd->get());
  // SURV_MODIFY: an ignore mask is otherwise cleared by the next write.
  if (::fanotify_mark(group_.get(),
                      FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY,
                      FAN_MODIFY, proc.dir(), proc.name()) == 0) {
    modify_ignored_.insert(node);
    counters_.modify_ignored.fetch_add(1, std::memory_order_relaxed);
  }
}

void SourceWatcher::WriterClosed(int fd, uint64_t node) {
  {
    MutexLock lock(&mu_);
    if (modify_ignored_.erase(node) == 0) return;
    const sys::ProcFd proc(fd);
    (void)::fanotify_mark(group_.get(), FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, FAN_MODIFY,
                          proc.dir(), proc.name());
    pending_.inodes[node] = true;
  }
  const uint64_t one = 1;
  (void)!::write(kick_.get(), &one, sizeof(one));
}

void SourceWatcher::Start(KernelNotifier* notifier, NodeOf node_of, WritesTracked writes_tracked,
                          AttributesChanged attributes_changed, NamesChanged names_changed) {
  if (thread_.joinable() || notifier == nullptr) return;
  notifier_ = notifier;
  node_of_ = std::move(node_of);
  writes_tracked_ = std::move(writes_tracked);
  attributes_changed_ = std::move(attributes_changed);
  names_changed_ = std::move(names_changed);
  self_pid_ = ::getpid();  // here, not at Create: the daemon forks in between
  thread_ = std::thread([this] { Run(); });
}

void SourceWatcher::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
  thread_.join();
}

uint64_t SourceWatcher::Resolve(uint64_t fsid, const std::string& handle,
                                std::map<std::string, uint64_t>* memo) {
  if (handle.size() < sizeof(struct file_handle)) return 0;
  if (auto it = memo->find(handle); it != memo->end()) return it->second;
  // Counted before the node table is asked (ResolutionsStarted).
  counters_.resolutions.fetch_add(1);
  uint64_t node = 0;
  int mount_fd = -1;
  {
    MutexLock lock(&mu_);
    if (auto it = mount_fds_.find(fsid); it != mount_fds_.end()) mount_fd = it->second.get();
  }
  sys::HandleBlob blob;
  blob.bytes.assign(handle.begin(), handle.end());
  // A handle of a deleted inode no longer opens: nothing the kernel could
  // look up again either (its dentry goes with the parent's invalidation).
  if (mount_fd >= 0) {
    if (auto fd = sys::OpenByHandle(mount_fd, blob, O_PATH | O_CLOEXEC); fd.ok()) {
      struct stat st;
      if (::fstat(fd->get(), &st) == 0) node = node_of_(st.st_dev, st.st_ino);
    }
  }
  if (node == 0) counters_.unknown.fetch_add(1, std::memory_order_relaxed);
  memo->emplace(handle, node);
  return node;
}

void SourceWatcher::StartNewEntryEpoch(const char* why) {
  if (notifier_ == nullptr) return;
  if (Errno e = notifier_->InvalidateAllEntries()) {
    LOG_WARN(
        "source watch: %s, and this kernel cannot drop every cached name at once "
        "(FUSE_NOTIFY_INC_EPOCH, Linux 6.16+: %s); outside changes may show late",
        why, strerror(e.value()));
    return;
  }
  counters_.entry_epochs.fetch_add(1, std::memory_order_relaxed);
  LOG_INFO("source watch: %s; every cached name is looked up again at its next use", why);
}

void SourceWatcher::Collect(const std::vector<SourceEvent>& events, Invalidations* out) {
  std::map<std::string, uint64_t> memo;
  for (const SourceEvent& ev : events) {
    counters_.events.fetch_add(1, std::memory_order_relaxed);
    if (ev.overflow) {
      // Cannot happen with FAN_UNLIMITED_QUEUE; if it does, no cached name
      // can be trusted.
      counters_.overflows.fetch_add(1, std::memory_order_relaxed);
      StartNewEntryEpoch("the event queue overflowed");
      continue;
    }
    if (ev.pid == self_pid_) {
      counters_.own_events.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const bool names_entry = !ev.name.empty() && ev.name != ".";
    if ((ev.mask & (FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO)) != 0 && names_changed_) {
      names_changed_();
    }
    if ((ev.mask & kDirentEvents) != 0 && names_entry) {
      if (uint64_t parent = Resolve(ev.fsid, ev.dir_handle, &memo)) {
        out->entries.emplace(parent, ev.name);
        out->inodes[parent] = true;  // its listing and mtime changed
      }
    }
    if ((ev.mask & kObjectEvents) != 0) {
      // The object itself; a directory may be reported as its own dir
      // record named ".".
      const std::string& handle = !ev.object_handle.empty() ? ev.object_handle
                                  : !names_entry            ? ev.dir_handle
                                                            : ev.object_handle;
      if (uint64_t node = Resolve(ev.fsid, handle, &memo)) {
        bool& data = out->inodes[node];
        data = data || (ev.mask & FAN_MODIFY) != 0;
        if ((ev.mask & FAN_MODIFY) != 0) MaybeIgnoreModify(ev.fsid, handle, node);
        if ((ev.mask & FAN_ATTRIB) != 0 && attributes_changed_) attributes_changed_(node);
      }
    }
  }
}

void SourceWatcher::Send(const Invalidations& inv) {
  for (const auto& [parent, name] : inv.entries) {
    (void)notifier_->InvalidateEntry(NodeId{parent}, name);
    counters_.inval_entry.fetch_add(1, std::memory_order_relaxed);
  }
  for (const auto& [node, data] : inv.inodes) {
    (void)notifier_->InvalidateInode(NodeId{node}, data ? 0 : -1, 0);
    counters_.inval_inode.fetch_add(1, std::memory_order_relaxed);
  }
}

void SourceWatcher::Run() {
  using Clock = std::chrono::steady_clock;
  std::vector<char> buf(64 * 1024);
  // Batches already sent once, each due to be sent again at its time.
  std::deque<std::pair<Clock::time_point, Invalidations>> repeats;
  for (;;) {
    int timeout = -1;
    if (!repeats.empty()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(repeats.front().first - Clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    struct pollfd fds[3] = {
        {group_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}, {kick_.get(), POLLIN, 0}};
    const int n = ::poll(fds, 3, timeout);
    if (n < 0 && errno != EINTR) {
      LOG_WARN("source watch: poll failed (%s); stopped", strerror(errno));
      return;
    }
    if (n > 0 && fds[1].revents != 0) return;
    const bool ready = n > 0 && fds[0].revents != 0;
    const bool kicked = n > 0 && fds[2].revents != 0;
    if (ready) {
      // Let a burst of changes gather, then take them all at once.
      struct pollfd wake {
        wake_.get(), POLLIN, 0
      };
      if (::poll(&wake, 1, kBatchMillis) > 0) return;
    }
    while (!repeats.empty() && Clock::now() >= repeats.front().first) {
      Send(repeats.front().second);
      repeats.pop_front();
    }
    Invalidations batch;
    if (kicked) {
      uint64_t value;
      (void)!::read(kick_.get(), &value, sizeof(value));
      MutexLock lock(&mu_);
      std::swap(batch, pending_);
    }
    for (; ready;) {
      const ssize_t got = ::read(group_.get(), buf.data(), buf.size());
      if (got <= 0) break;
      Collect(ParseFanotifyEvents({buf.data(), static_cast<size_t>(got)}), &batch);
    }
    if (batch.empty()) continue;
    Send(batch);
    repeats.emplace_back(Clock::now() + std::chrono::milliseconds(kRepeatMillis), std::move(batch));
  }
}

}  // namespace ptfs::mirror
