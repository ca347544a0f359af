// The request handlers: one function per opcode, each decoding its fixed
// argument, making one FileSystem call and answering through its Reply.
// Session::Dispatch finds them in one table indexed by opcode (Handlers()).
//
// The validation table (proto/opcode_table.cc) decides which requests reach
// dispatch; this table decides who answers them. A unit test
// (tests/unit/ops_table_test.cc) keeps the two in step. Each ops_*.cc holds
// the handlers of one concern and registers them itself, so adding an opcode
// means its validation row, its handler and the one line registering it.
//
// Thread-safety: handlers run concurrently on every worker. What they share
// is the FileSystem (thread-safe by its contract) and the session state
// reached through OpCall, which is atomic or thread-safe itself.
#pragma once

#include <array>
#include <atomic>
#include <optional>

#include "abi/fuse_abi.h"
#include "proto/request.h"
#include "ptfs/filesystem.h"
#include "session/lock_waiters.h"
#include "session/reply.h"
#include "session/session.h"

namespace ptfs::session {

// What a handler works with besides its Reply: the request and the parts of
// the session some handlers need.
struct OpCall {
  const proto::Request& req;
  const Context& ctx;
  NodeId node;  // req.header.nodeid
  FileSystem& fs;
  WorkerBuffers& bufs;  // bufs.out: room for READ, READDIR, xattr payloads
  // The draft inode-passthrough protocol is in force: entry replies are
  // fuse_entry2_out and carry the inode's backing.
  bool inode_passthrough;
  LockWaiters& lock_waiters;     // SETLKW parks a conflicting lock here
  LockOrder& lock_order;         // GETLK/SETLK settle other queues on a conflict
  std::atomic<bool>& destroyed;  // set by DESTROY
};

// Answers one request: consumes `reply` by sending it or by handing it on
// (SETLKW parks it). A handler never throws on purpose; an exception still
// answers EIO through the Reply's destructor (see Session::HandleMessage).
using OpHandler = void (*)(const OpCall& call, Reply reply);
using HandlerTable = std::array<OpHandler, abi::kMaxOpcode + 1>;

// The handler of every opcode the session answers through dispatch; nullptr
// for opcodes unknown to the validation table and for those
// Session::HandleMessage takes before dispatch (INIT, which must come first,
// and FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY, which get no reply).
const HandlerTable& Handlers();

// Each puts the handlers of its file into `table`.
void RegisterEntryOps(HandlerTable& table);  // ops_entry.cc: names in directories
void RegisterAttrOps(HandlerTable& table);   // ops_attr.cc: attributes, the filesystem
void RegisterFileOps(HandlerTable& table);   // ops_file.cc: open files
void RegisterDirOps(HandlerTable& table);    // ops_dir.cc: open directories
void RegisterXattrOps(HandlerTable& table);  // ops_xattr.cc: extended attributes
void RegisterLockOps(HandlerTable& table);   // ops_lock.cc: POSIX and flock locks

// Helpers that handlers in several files share (ops.cc).
abi::fuse_entry_out ToEntryOut(const Entry& e);
abi::fuse_open_out ToOpenOut(const Opened& o);
// Answers OPEN or OPENDIR. Returns the handle when the kernel did not take
// it (the request was interrupted): the caller must release it.
std::optional<FileHandle> SendOpened(Result<Opened> opened, Reply reply);
SyncKind SyncKindOf(const abi::fuse_fsync_in& in);
// The API's flag types, from the wire (OPEN, CREATE/TMPFILE, OPENDIR, WRITE).
OpenFlags OpenFlagsOf(uint32_t flags, uint32_t open_flags);
WriteFlags WriteFlagsOf(uint32_t write_flags);

}  // namespace ptfs::session
