// MirrorFs: directory streams and listings (OPENDIR, READDIR,
// READDIRPLUS, RELEASEDIR, FSYNCDIR).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi/fuse_abi.h"
#include "mirror/caller.h"
#include "mirror/mirror_fs.h"
#include "sys/syscalls.h"
#include "util/log.h"

namespace ptfs::mirror {

Result<Opened> MirrorFs::OpenDir(const Context& ctx, NodeId node, OpenFlags open) {
  const uint32_t flags = open.posix;
  if (dirs_without_open_) {
    // ENOSYS tells the kernel that directories need no OPENDIR: it stops
    // sending OPENDIR and RELEASEDIR for the rest of the connection, lists
    // with fh 0, and caches every listing (FOPEN_CACHE_DIR|KEEP_CACHE, its
    // default then). Only chosen where that is safe (Init): the source watch
    // drops a cached listing when SOURCE changes, and with
    // default_permissions the kernel itself checks read permission at
    // open(2), the one thing OPENDIR as the caller would add.
    return Errno(ENOSYS);
  }
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  if (!inode->is_dir()) return Errno(ENOTDIR);
  PTFS_ASSIGN_OR_RETURN(SharedFd path_fd, inodes_->PathFd(*inode));
  const int host_flags = (static_cast<int>(flags) & (O_NOATIME)) | O_RDONLY | O_DIRECTORY;
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd,
                        AsCaller(ctx, [&] { return sys::ReopenDir(path_fd->get(), host_flags); }));
  auto dir = std::make_shared<DirState>();
  dir->inode = std::move(inode);
  dir->fd = std::move(fd);
  Opened o;
  // Listings are cached in the kernel and kept across opens: a change made
  // through the mount drops the cache at once (the kernel bumps the
  // directory's version), a change made in SOURCE directly when the
  // directory's mtime is next refreshed (AUTO_INVAL_DATA, at most
  // attr_timeout later), the same bound as for cached entries. A cached
  // listing is plain names, so inodes are not refreshed per entry as
  // READDIRPLUS would, and their cached ACLs survive (READDIRPLUS makes the
  // kernel drop them, costing `ls -l` one GETXATTR per file per run).
  const BackingId readdir_backing =
      inode_passthrough_ ? backing_.InodeBackingWith(node, kInodeOpReaddir) : BackingId{};
  if (readdir_backing.value != 0) {
    // Draft protocol: the kernel lists the directory from the backing its
    // entry reply attached, when OPENDIR names it; the listing cache must
    // not be asked for with it. The stream stays for a READDIR that comes
    // anyway.
    o.open_flags |= abi::FOPEN_PASSTHROUGH;
    o.backing = readdir_backing;
  } else if (keep_cache_) {
    o.open_flags |= abi::FOPEN_CACHE_DIR | abi::FOPEN_KEEP_CACHE;
  }
  o.fh = dirs_.Add(std::move(dir));
  if (journal_) journal_->DirOpened(o.fh, node);
  return o;
}

Result<std::shared_ptr<DirState>> MirrorFs::DirStreamOf(NodeId node, FileHandle fh) {
  if (fh.value != 0 || !dirs_without_open_) {
    PTFS_ASSIGN_OR_RETURN(std::shared_ptr<DirState> dir, dirs_.Get(fh));
    if (dir->inode->id() != node) return Errno(EBADF);
    return dir;
  }
  if (auto dir = dir_streams_.Get(node)) return dir;
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<DirState> dir, NewDirStream(node));
  std::shared_ptr<DirState> evicted;
  return dir_streams_.Put(node, std::move(dir), &evicted);
}

Result<std::shared_ptr<DirState>> MirrorFs::NewDirStream(NodeId node) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  if (!inode->is_dir()) return Errno(ENOTDIR);
  PTFS_ASSIGN_OR_RETURN(SharedFd path_fd, inodes_->PathFd(*inode));
  auto dir = std::make_shared<DirState>();
  PTFS_ASSIGN_OR_RETURN(dir->fd, sys::ReopenDir(path_fd->get(), O_RDONLY | O_DIRECTORY));
  dir->inode = std::move(inode);
  return dir;
}
// What one READDIR(PLUS) chunk hands out, decided before the listing.
struct MirrorFs::ListingPlan {
  InodeKey dir_key;
  // The caller may search the directory, so entries may carry attributes.
  bool may_search = true;
  // Inodes the kernel already holds go without a node (a watched filesystem).
  bool skip_known = false;
  // Files get attributes (directories always do).
  bool files_get_attributes = true;
};

// What a READDIRPLUS chunk sent, for ListingCounters and the advisor.
struct MirrorFs::ListingTally {
  uint64_t with_attributes = 0;
  uint64_t files_bare = 0;
};

MirrorFs::ListingPlan MirrorFs::PlanListing(const Context& ctx, DirState& dir, uint64_t offset,
                                            const DirentSink& sink) {
  ListingPlan plan;
  // READDIRPLUS hands out attributes, which natively need search permission
  // on the directory; without default_permissions the kernel did not check.
  plan.may_search =
      !sink.plus() || options_.default_permissions || RunsAsDaemon(ctx) ||
      AsCaller(ctx, [&] {
        return CheckSys(::faccessat(dir.fd.get(), "", X_OK, AT_EACCESS | AT_EMPTY_PATH));
      }).ok();
  plan.dir_key = dir.inode->key();
  plan.skip_known = sink.plus() && Coherent(plan.dir_key.dev);
  // A later chunk with attributes means the kernel saw lookups in the
  // directory: all its entries get them. For a new listing the advisor says.
  plan.files_get_attributes =
      !sink.plus() || offset != 0 ||
      options_.listing_attributes == MirrorOptions::ListingAttributes::kAll ||
      listing_advisor_.StartListing(*dir.inode);
  return plan;
}

namespace {

// Positions the stream at `offset`. The kernel passes back the offset of the
// last entry it consumed. Host offsets are the filesystem's own stable
// cookies (what telldir returns), so a listing continues correctly across
// calls and concurrent changes.
Errno SeekDirStream(DirState& dir, uint64_t offset) REQUIRES(dir.mu) {
  if (offset != dir.offset || dir.buf_pos >= dir.buf_len) {
    if (offset != dir.offset) {
      if (::lseek(dir.fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) return Errno::Last();
      dir.offset = offset;
    }
    dir.buf_pos = dir.buf_len = 0;
  }
  if (!dir.buf) dir.buf = std::make_unique_for_overwrite<char[]>(DirState::kBufSize);
  return Errno::Ok();
}

// Replaces the stream's open file by a fresh open of the same directory,
// under the same fd number (dup3), so users of dir.fd outside dir.mu see
// one open file or the other, both of the directory.
Errno ReopenDirStream(DirState& dir) REQUIRES(dir.mu) {
  const int status = ::fcntl(dir.fd.get(), F_GETFL);
  if (status < 0) return Errno::Last();
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fresh,
                        sys::ReopenDir(dir.fd.get(), (status & O_NOATIME) | O_RDONLY));
  if (::dup3(fresh.get(), dir.fd.get(), O_CLOEXEC) < 0) return Errno::Last();
  dir.offset = 0;
  dir.buf_pos = dir.buf_len = 0;
  dir.first_read = DirState::FirstRead::kNone;
  return Errno::Ok();
}

// How a stream was brought back to the start of its directory.
struct Rewound {
  bool reopened = false;    // its first read was elsewhere: a fresh open
  off_t misplaced_at = -1;  // the host position of a stream that claimed
                            // to be at the start with nothing buffered
};

// Back to the start, whatever the stream says it is at: one lseek per
// listing, so a stream whose recorded offset and host position disagree
// cannot make a listing start in the middle (or at the end). A stream whose
// first read was not at the start is reopened instead: on ext4 a seek back
// to 0 does not undo what that first read set up (DirState::first_read).
Result<Rewound> RewindDirStream(DirState& dir) REQUIRES(dir.mu) {
  Rewound r;
  if (dir.first_read == DirState::FirstRead::kElsewhere) {
    PTFS_TRY(ReopenDirStream(dir));
    r.reopened = true;
    return r;
  }
  if (dir.offset == 0 && dir.buf_pos >= dir.buf_len) {
    const off_t at = ::lseek(dir.fd.get(), 0, SEEK_CUR);
    if (at != 0) r.misplaced_at = at;
  }
  if (::lseek(dir.fd.get(), 0, SEEK_SET) < 0) return Errno::Last();
  dir.offset = 0;
  dir.buf_pos = dir.buf_len = 0;
  return r;
}

// The stream's next entry, reading another getdents64 batch when the last is
// used up; nullptr at the end of the directory.
Result<const struct dirent64*> PeekDirent(DirState& dir) REQUIRES(dir.mu) {
  if (dir.buf_pos >= dir.buf_len) {
    if (dir.first_read == DirState::FirstRead::kNone) {
      dir.first_read =
          dir.offset == 0 ? DirState::FirstRead::kAtStart : DirState::FirstRead::kElsewhere;
    }
    PTFS_ASSIGN_OR_RETURN(
        size_t n,
        sys::GetDents64(dir.fd.get(), std::span<char>(dir.buf.get(), DirState::kBufSize)));
    if (n == 0) return nullptr;  // end of directory
    dir.buf_pos = 0;
    dir.buf_len = n;
  }
  return reinterpret_cast<const struct dirent64*>(dir.buf.get() + dir.buf_pos);
}

}  // namespace

Errno MirrorFs::ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                        DirentSink& sink) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<DirState> dir, DirStreamOf(node, fh));
  // A new listing of a directory moved out of SOURCE would name (and with
  // READDIRPLUS, hand out) files outside it.
  if (offset == 0) {
    PTFS_TRY(confinement_->Check(dir->fd.get(), dir->inode->key().dev, dir->inode->key().ino,
                                 &dir->inode->proven_epoch));
  }
  const ListingPlan plan = PlanListing(ctx, *dir, offset, sink);
  ListingTally tally;
  MutexLock lock(&dir->mu);
  if (offset == 0) {
    PTFS_ASSIGN_OR_RETURN(const Rewound rewound, RewindDirStream(*dir));
    if (rewound.reopened)
      listing_counters_.reopened_streams.fetch_add(1, std::memory_order_relaxed);
    if (rewound.misplaced_at != -1) ReportMisplacedStream(*dir, rewound.misplaced_at);
  }
  bool any = false;
  Errno e = FillListing(plan, *dir, offset, sink, &tally, &any);
  // A live directory lists "." and ".." at least, and an empty start would
  // be cached by the kernel as the complete listing (until the directory
  // changes): tried once more from a fresh open, and counted and logged if
  // still empty. A removed directory lists nothing, as natively.
  if (!e && !any && offset == 0 && sink.Fits("..")) {
    if (ReopenDirStream(*dir).ok()) {
      listing_counters_.reopened_streams.fetch_add(1, std::memory_order_relaxed);
      e = FillListing(plan, *dir, offset, sink, &tally, &any);
    }
    if (!e && !any) ReportEmptyStart(*dir);
  }
  CountListing(dir->inode, tally);
  return any ? Errno::Ok() : e;
}

Errno MirrorFs::FillListing(const ListingPlan& plan, DirState& dir, uint64_t offset,
                            DirentSink& sink, ListingTally* tally, bool* any) {
  PTFS_TRY(SeekDirStream(dir, offset));
  for (;;) {
    auto peeked = PeekDirent(dir);
    if (!peeked.ok()) return peeked.error();
    const struct dirent64* d = *peeked;
    if (d == nullptr) return Errno::Ok();
    const std::string_view name(d->d_name);
    if (!sink.Fits(name)) return Errno::Ok();
    const uint64_t next = static_cast<uint64_t>(d->d_off);
    if (!sink.plus()) {
      sink.Add(name, d->d_ino, d->d_type, next);
    } else {
      sink.AddPlus(name, PlusEntry(plan, dir, name, d->d_ino, d->d_type, tally), next);
    }
    *any = true;
    dir.buf_pos += d->d_reclen;
    dir.offset = next;
  }
}

void MirrorFs::ReportMisplacedStream(const DirState& dir, off_t host_offset) {
  listing_counters_.misplaced_streams.fetch_add(1, std::memory_order_relaxed);
  const InodeKey key = dir.inode->key();
  LOG_WARN(
      "the listing stream of directory %llu:%llu said it was at the start with nothing "
      "read, but its host offset was %lld; rewound",
      static_cast<unsigned long long>(key.dev), static_cast<unsigned long long>(key.ino),
      static_cast<long long>(host_offset));
}

void MirrorFs::ReportEmptyStart(const DirState& dir) {
  const off_t pos = ::lseek(dir.fd.get(), 0, SEEK_CUR);
  struct stat st {};
  const bool stat_ok = ::fstat(dir.fd.get(), &st) == 0;
  if (stat_ok && st.st_nlink == 0) return;  // removed: empty natively too
  listing_counters_.empty_starts.fetch_add(1, std::memory_order_relaxed);
  const InodeKey key = dir.inode->key();
  LOG_WARN(
      "listing of directory %llu:%llu from its start came back empty (stream fd %d at "
      "host offset %lld, names %s, %llu links)",
      static_cast<unsigned long long>(key.dev), static_cast<unsigned long long>(key.ino),
      dir.fd.get(), static_cast<long long>(pos),
      !stat_ok               ? "an unknown inode"
      : st.st_ino != key.ino ? "another inode"
      : !S_ISDIR(st.st_mode) ? "a non-directory"
                             : "the directory",
      static_cast<unsigned long long>(st.st_nlink));
}

Entry MirrorFs::PlusEntry(const ListingPlan& plan, DirState& dir, std::string_view name,
                          uint64_t ino, uint8_t type, ListingTally* tally) {
  Entry e;
  const bool file = type != DT_DIR && type != DT_UNKNOWN;
  // A file the advisor leaves bare goes without a node whether the kernel
  // holds it or not. Whether it does only decides if the listing counts
  // as a probe (SentBare), which the first bare file it does not hold
  // settles; so for such files the table is asked only until then. (That
  // lookup was the largest part of the daemon's own time in a cold find.)
  const bool ask_table =
      plan.files_get_attributes || !file || (plan.skip_known && tally->files_bare == 0);
  const bool known = ask_table && inodes_->NodeOf(InodeKey{plan.dir_key.dev, ino}) != NodeId{};
  // An inode the kernel already holds goes without a node too: on a
  // watched filesystem its attributes are current, and an entry with a node would
  // make the kernel drop the inode's cached ACLs (fuse_direntplus_link),
  // so the next `ls -l` asked for each file's ACL again. It also saves a
  // statx per entry. (A d_ino naming another inode only costs a LOOKUP.)
  const bool kernel_holds = plan.skip_known && known;
  // Directories always get attributes: a traversal enters them.
  const bool left_bare = !plan.files_get_attributes && file && !kernel_holds;
  const bool no_node = name == "." || name == ".." || !plan.may_search || kernel_holds || left_bare;
  // An inode not in the table cannot be found by LookupAt's fast path:
  // open it at once and save a statx by name.
  auto looked_up = no_node ? Result<Entry>(Errno(EINVAL))
                   : known ? LookupAt(dir.fd.get(), name, 1)
                           : LookupNew(dir.fd.get(), name, 1);
  if (looked_up.ok()) {
    e = *looked_up;
    ++tally->with_attributes;
  } else {
    // "." and "..", a known inode, a file the advisor leaves bare, or an
    // entry that vanished meanwhile: send it without a node, so the
    // kernel takes no reference and looks it up on use (if it does not
    // hold it).
    e.attr.stx_ino = ino;
    e.attr.stx_mode = static_cast<uint32_t>(type) << 12;
    tally->files_bare += left_bare ? 1 : 0;
  }
  return e;
}

void MirrorFs::CountListing(const InodePtr& dir, const ListingTally& tally) {
  if (tally.with_attributes != 0) {
    listing_counters_.with_attributes.fetch_add(tally.with_attributes, std::memory_order_relaxed);
  }
  if (tally.files_bare != 0) {
    listing_counters_.files_bare.fetch_add(tally.files_bare, std::memory_order_relaxed);
    listing_advisor_.SentBare(dir);
  }
}

Errno MirrorFs::ReleaseDir(const Context&, NodeId, FileHandle fh) {
  if (fh.value == 0 && dirs_without_open_) return Errno::Ok();
  if (!dirs_.Remove(fh)) return Errno(EBADF);
  if (journal_) journal_->DirClosed(fh);
  return Errno::Ok();
}

Errno MirrorFs::FsyncDir(const Context&, NodeId node, FileHandle fh, SyncKind kind) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<DirState> dir, DirStreamOf(node, fh));
  return CheckSys(kind == SyncKind::kDataOnly ? ::fdatasync(dir->fd.get())
                                              : ::fsync(dir->fd.get()));
}

}  // namespace ptfs::mirror
