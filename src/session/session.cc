#include "session/session.h"

#include <sys/mman.h>

#include <cstring>
#include <new>
#include <string>

#include "abi/fuse_abi.h"
#include "session/inode_passthrough_adapter.h"
#include "session/ops.h"
#include "util/log.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

void* AllocAligned(size_t size, bool populate = false) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

}  // namespace

WorkerBuffers::WorkerBuffers(size_t size, bool populate_in)
    : in_mem_(static_cast<char*>(AllocAligned(size, populate_in))),
      out_mem_(static_cast<char*>(AllocAligned(size))) {
  in = {in_mem_, size};
  out = {out_mem_, size};
}

WorkerBuffers::~WorkerBuffers() {
  if (in_mem_ != nullptr) ::munmap(in_mem_, in.size());
  if (out_mem_ != nullptr) ::munmap(out_mem_, out.size());
}

Session::Session(FileSystem* fs, SessionOptions options)
    : fs_(fs), options_(std::move(options)), lock_waiters_(fs) {}

void Session::HandleMessage(std::span<const char> msg, transport::Channel& channel,
                            WorkerBuffers& bufs) {
  proto::Request req;
  proto::DecodeFailure failure;
  if (!proto::DecodeRequest(msg, decode_, &req, &failure)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    LOG_WARN("rejecting malformed %s request (unique %llu, %zu bytes): %s",
             proto::OpName(failure.opcode), static_cast<unsigned long long>(failure.unique),
             msg.size(), strerror(failure.error.value()));
    if (failure.can_reply) Reply(&channel, failure.unique, failure.opcode).SendError(failure.error);
    return;
  }
  const uint32_t opcode = req.header.opcode;
  request_counts_[opcode].fetch_add(1, std::memory_order_relaxed);
  if (req.header.unique & FUSE_UNIQUE_RESEND) resent_.fetch_add(1, std::memory_order_relaxed);
  if (options_.debug) {
    LOG_DEBUG("<- %s unique=%llu nodeid=%llu uid=%u pid=%u len=%u", req.op->name,
              static_cast<unsigned long long>(req.header.unique),
              static_cast<unsigned long long>(req.header.nodeid), req.header.uid, req.header.pid,
              req.header.len);
  }
  if (!req.op->answered) {
    if (opcode == FUSE_INTERRUPT) DoInterrupt(req);
    else if (opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET) {
      DoForget(req);
      forgets_processed_.fetch_add(1, std::memory_order_release);
    }
    return;  // NOTIFY_REPLY: we never send RETRIEVE, so nothing waits for it
  }
  Reply reply(&channel, req.header.unique, opcode);
  if (opcode == FUSE_INIT) {
    HandleInit(req, std::move(reply));
    return;
  }
  if (!initialized()) {
    reply.SendError(Errno(EIO));
    return;
  }
  Context ctx;
  ctx.unique = req.header.unique;
  ctx.uid = req.header.uid;
  ctx.gid = req.header.gid;
  ctx.pid = req.header.pid;
  ctx.groups = req.groups;
  try {
    Dispatch(req, ctx, std::move(reply), bufs);
  } catch (const std::bad_alloc&) {
    LOG_ERROR("%s: out of memory", req.op->name);
    // The moved-from reply is answered by its new owner's destructor (EIO);
    // ENOMEM is best effort.
  } catch (const std::exception& e) {
    LOG_ERROR("%s: unexpected exception: %s", req.op->name, e.what());
  }
}

void Session::HandleInit(const proto::Request& req, Reply reply) {
  if (initialized()) {
    reply.SendError(Errno(EIO));
    return;
  }
  proto::InitOutcome outcome = proto::NegotiateInit(req.arg, options_.init);
  switch (outcome.kind) {
    case proto::InitOutcome::Kind::kRefused:
      LOG_ERROR("kernel FUSE protocol %u.%u is not supported (need 7.%u or newer)",
                outcome.kernel_major, outcome.kernel_minor, abi::kMinSupportedMinor);
      reply.SendError(Errno(outcome.error));
      return;
    case proto::InitOutcome::Kind::kAskOlderMajor:
      reply.SendStruct(outcome.out, outcome.out_size);
      return;
    case proto::InitOutcome::Kind::kAccepted:
      break;
  }
  LOG_DEBUG("INIT: kernel protocol %u.%u, offered %s", outcome.kernel_major, outcome.kernel_minor,
            proto::DescribeInitFlags(outcome.kernel_flags).c_str());
  LOG_DEBUG("INIT: negotiated %s; max_write=%u max_readahead=%u max_pages=%u",
            proto::DescribeInitFlags(outcome.flags).c_str(), outcome.max_write,
            outcome.max_readahead, outcome.out.max_pages);
  if (options_.init_accepted) options_.init_accepted(outcome);
  Begin(outcome);
  reply.SendStruct(outcome.out, outcome.out_size);
}

void Session::Adopt(const proto::InitOutcome& outcome, const char* how) {
  LOG_INFO("%s: protocol 7.%u, %s", how, outcome.kernel_minor,
           proto::DescribeInitFlags(outcome.flags).c_str());
  Begin(outcome);
}

void Session::AdoptInitAnsweredDuringMount(const proto::InitOutcome& outcome) {
  request_counts_[FUSE_INIT].fetch_add(1, std::memory_order_relaxed);
  if (options_.debug) LOG_DEBUG("<- INIT (answered during mount(2))");
  Adopt(outcome, "INIT was answered during mount(2)");
}

void Session::Begin(const proto::InitOutcome& outcome) {
  init_ = outcome;
  decode_.setxattr_ext = (outcome.flags & FUSE_SETXATTR_EXT) != 0;
  inode_passthrough_ = InodePassthroughNegotiated(outcome.flags);
  fs_->Init(ConnectionInfo{outcome.kernel_minor, outcome.flags, outcome.kernel_flags,
                           outcome.max_write, outcome.max_readahead, inode_passthrough_});
  initialized_.store(true, std::memory_order_release);
}

void Session::DoForget(const proto::Request& req) {
  if (req.header.opcode == FUSE_FORGET) {
    fs_->Forget(NodeId{req.header.nodeid}, req.Arg<fuse_forget_in>().nlookup);
    NoteForgotten(1);
    return;
  }
  const size_t n = req.payload.size() / sizeof(fuse_forget_one);
  for (size_t i = 0; i < n; ++i) {
    fuse_forget_one one;
    std::memcpy(&one, req.payload.data() + i * sizeof(one), sizeof(one));
    fs_->Forget(NodeId{one.nodeid}, one.nlookup);
  }
  NoteForgotten(n);
}

void Session::NoteForgotten(uint64_t nodeids) {
  nodeids_forgotten_.fetch_add(nodeids, std::memory_order_relaxed);
  if (options_.forgotten) options_.forgotten(nodeids);
}

void Session::DoInterrupt(const proto::Request& req) {
  // Only parked lock waits can last; every other request finishes quickly on
  // its own. The kernel needs no answer to the INTERRUPT itself.
  lock_waiters_.Interrupt(req.Arg<fuse_interrupt_in>().unique);
}

void Session::Dispatch(const proto::Request& req, const Context& ctx, Reply reply,
                       WorkerBuffers& bufs) {
  const OpHandler handler = Handlers()[req.header.opcode];
  if (handler == nullptr) {
    // Every opcode that passes validation has a handler (OpsTableTest);
    // should one ever lack it, the caller gets what an unknown opcode gets.
    reply.SendError(Errno(ENOSYS));
    return;
  }
  handler(OpCall{req, ctx, NodeId{req.header.nodeid}, *fs_, bufs, inode_passthrough_, lock_waiters_,
                 lock_order_, destroyed_},
          std::move(reply));
}

}  // namespace ptfs::session
