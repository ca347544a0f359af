// MirrorFs across a restart of the serving process (docs/persistent-
// identity.md): the journal of opens and backings it keeps while serving,
// and what a new process rebuilds from it and from the nodeids.
#include <fcntl.h>
#include <sys/socket.h>

#include <cstring>
#include <unordered_map>

#include "mirror/mirror_fs.h"
#include "mirror/open_journal.h"
#include "mirror/wire_to_host.h"
#include "sys/fd_passing.h"
#include "sys/syscalls.h"
#include "util/log.h"

namespace ptfs::mirror {

uint32_t MirrorFs::JournaledFlags(uint32_t flags) {
  // What the reopen after a restart needs: the access mode and the flags
  // that change how the fd behaves, not those that acted once at open.
  return flags & ~static_cast<uint32_t>(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
}

void MirrorFs::KeepRestartJournal(int fd) {
  journal_ = std::make_unique<OpenJournal>(fd);
  backing_.SetJournal(journal_.get());
  JournalShownFiles();
}

void MirrorFs::JournalShownFiles() {
  OpenJournal* journal = journal_.get();
  inodes_->SetFileRemembered([journal](NodeId id) { journal->FileShown(id); });
}

Result<InodePtr> MirrorFs::AdoptNode(NodeId id) {
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, inodes_->OpenNode(id));
  PTFS_ASSIGN_OR_RETURN(Entry e, EntryFor(std::move(fd), 0));
  // Derived nodeids: the handle's object has this very nodeid.
  if (e.node != id) return Errno(ESTALE);
  adopted_nodes_.fetch_add(1, std::memory_order_relaxed);
  return inodes_->Find(id);
}

Result<RestoreCounts> MirrorFs::RestoreFrom(int fd) {
  if (!inodes_->handle_node_ids()) return Errno(EINVAL);  // nodeids mean nothing
  PTFS_ASSIGN_OR_RETURN(std::vector<OpenJournal::Record> records, OpenJournal::Read(fd));
  inodes_->SetAdopter([this](NodeId id) { return AdoptNode(id); });
  // The servers before this one may have added nodeids to the table since
  // this copy of it was read.
  if (node_table_) PTFS_TRY(node_table_->Reload());
  RestoreCounts counts;
  std::unordered_map<uint64_t, BackingId> backings;  // node -> id
  std::unordered_map<uint64_t, uint64_t> passthrough_opens;
  for (const auto& r : records) {
    if (r.kind == OpenJournal::Kind::kBacking) backings[r.node] = BackingId{r.backing};
  }
  std::vector<OpenJournal::Record> kept, dropped;
  for (const auto& r : records) {
    if (r.kind == OpenJournal::Kind::kBacking) continue;
    const NodeId node{r.node};
    const FileHandle fh{r.fh};
    Errno e = r.kind == OpenJournal::Kind::kDir
                  ? RestoreDir(node, fh)
                  : RestoreFile(node, fh, r.open_flags, backings.contains(r.node));
    if (e) {
      // Gone meanwhile (removed while no process served): the kernel's
      // requests on this fh get EBADF; passthrough I/O goes on without us.
      ++counts.failed;
      dropped.push_back(r);
      LOG_WARN("restart: cannot reopen %s fh %llu (nodeid %llu): %s",
               r.kind == OpenJournal::Kind::kDir ? "directory" : "file",
               static_cast<unsigned long long>(r.fh), static_cast<unsigned long long>(r.node),
               strerror(e.value()));
      continue;
    }
    kept.push_back(r);
    if (r.kind == OpenJournal::Kind::kDir) {
      ++counts.dirs;
    } else {
      ++counts.files;
      if (backings.contains(r.node)) ++passthrough_opens[r.node];
    }
  }
  for (const auto& r : records) {
    if (r.kind == OpenJournal::Kind::kBacking) kept.push_back(r);
  }
  // The journal goes on from what was restored (failed opens dropped),
  // before the backings are taken over: one closed meanwhile is recorded.
  journal_ = std::make_unique<OpenJournal>(fd, kept, dropped);
  backing_.SetJournal(journal_.get());
  // The files the previous servers showed stay found by handle
  // (HeldFileBefore); this one appends to the same list.
  PTFS_ASSIGN_OR_RETURN(std::vector<uint64_t> shown, OpenJournal::ReadShown(fd));
  for (uint64_t id : shown) inodes_->RememberFile(NodeId{id});
  journal_->SetShownCount(shown.size());
  JournalShownFiles();
  counts.shown = shown.size();
  for (const auto& [node, id] : backings) {
    ++counts.backings;
    backing_.Restore(NodeId{node}, id, passthrough_opens[node]);
  }
  restored_ = counts;
  return counts;
}

namespace {

// A message of the lock hand-over (HandOverLocks): an {inode, owner}'s lock
// description (the fd rides along), a handle an owner locked through, or
// the end.
struct LockMessage {
  enum Kind : uint32_t { kHeld = 1, kHandle = 2, kEnd = 3 } kind;
  int32_t handles;
  uint64_t node;  // kHeld
  uint64_t owner;
  uint64_t fh;  // kHandle
};

}  // namespace

Result<uint64_t> MirrorFs::HandOverLocks(int sock) {
  uint64_t sent = 0;
  auto send = [&](const LockMessage& m, int fd) {
    return sys::SendWithFd(sock, {reinterpret_cast<const char*>(&m), sizeof m}, fd, MSG_DONTWAIT);
  };
  for (const LockTable::Held& held : locks_.Export()) {
    LockMessage m{LockMessage::kHeld, held.handles, held.node.value, held.owner, 0};
    PTFS_TRY(send(m, held.fd->get()));
    ++sent;
  }
  for (const auto& [fh, owner] : locks_.ExportHandles()) {
    PTFS_TRY(send(LockMessage{LockMessage::kHandle, 0, 0, owner, fh}, -1));
  }
  PTFS_TRY(send(LockMessage{LockMessage::kEnd, 0, 0, 0, 0}, -1));
  return sent;
}

uint64_t MirrorFs::TakeOverLocks(int sock) {
  // What a server that handed over left in the socket (after a crash:
  // nothing). Messages of an earlier hand-over not read then (the server
  // meant to take them died first) come first: all are taken.
  uint64_t taken = 0;
  for (;;) {
    LockMessage m{};
    sys::UniqueFd fd;
    auto n = sys::ReceiveWithFd(sock, {reinterpret_cast<char*>(&m), sizeof m}, &fd, MSG_DONTWAIT);
    if (!n.ok() || *n != sizeof m) break;  // EAGAIN: nothing (more) left
    if (m.kind == LockMessage::kHeld && fd.valid()) {
      locks_.Import(LockTable::Held{NodeId{m.node}, m.owner,
                                    std::make_shared<const sys::UniqueFd>(std::move(fd)),
                                    m.handles});
      ++taken;
    } else if (m.kind == LockMessage::kHandle) {
      locks_.ImportHandle(FileHandle{m.fh}, m.owner);
    }
  }
  restored_.locks = taken;
  return taken;
}

Errno MirrorFs::RestoreFile(NodeId node, FileHandle fh, uint32_t flags, bool passthrough) {
  PTFS_ASSIGN_OR_RETURN(InodePtr inode, inodes_->Get(node));
  PTFS_ASSIGN_OR_RETURN(SharedFd path_fd, inodes_->PathFd(*inode));
  // As the daemon: the open was allowed when it was made.
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd caller_fd,
                        sys::Reopen(path_fd->get(), HostOpenFlags(flags)));
  PTFS_ASSIGN_OR_RETURN(sys::UniqueFd fd, WidenForServer(std::move(caller_fd), flags));
  auto file = std::make_shared<FileState>();
  file->inode = inode;
  file->fd = std::move(fd);
  file->access_mode = static_cast<int>(flags) & O_ACCMODE;
  if (passthrough && file->access_mode != O_RDONLY) {
    file->passthrough_writer = true;
    inode->passthrough_writers.fetch_add(1);
  }
  if (passthrough && file->access_mode == O_RDWR) {
    file->mappable_writer = true;
    inode->mappable_writers.fetch_add(1);
  }
  inodes_->NoteOpened(*inode, path_fd);
  files_.Insert(fh, std::move(file));
  return Errno::Ok();
}

Errno MirrorFs::RestoreDir(NodeId node, FileHandle fh) {
  PTFS_ASSIGN_OR_RETURN(std::shared_ptr<DirState> dir, NewDirStream(node));
  dirs_.Insert(fh, std::move(dir));
  return Errno::Ok();
}

}  // namespace ptfs::mirror
