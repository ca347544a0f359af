#include "session/init_during_mount.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "abi/fuse_abi.h"
#include "session/session.h"
#include "util/log.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

Errno SendInitReply(transport::Channel& channel, uint64_t unique, int error, const void* out,
                    size_t out_size) {
  fuse_out_header header{};
  header.len = static_cast<uint32_t>(sizeof(header) + out_size);
  header.error = -error;
  header.unique = unique;
  struct iovec iov[2] = {{&header, sizeof(header)}, {const_cast<void*>(out), out_size}};
  return channel.Send({iov, out_size != 0 ? 2U : 1U});
}

}  // namespace

Result<proto::InitOutcome> AnswerInitDuringMount(transport::Channel& channel,
                                                 const proto::InitConfig& config,
                                                 const std::atomic<bool>& stop) {
  // /dev/fuse refuses reads into less than its minimum buffer.
  std::vector<char> buf(kRequestBufferSize);
  for (;;) {
    if (stop.load()) return Errno(EINTR);
    auto n = channel.Receive(buf);
    if (!n.ok()) {
      const int e = n.error().value();
      if (e == EINTR || e == EAGAIN || e == ENOENT) continue;
      return n.error();
    }
    fuse_in_header in;
    if (*n < sizeof(in)) continue;
    std::memcpy(&in, buf.data(), sizeof(in));
    if (in.opcode != FUSE_INIT) {
      // INIT is always first; anything else cannot be served yet.
      (void)SendInitReply(channel, in.unique, EIO, nullptr, 0);
      continue;
    }
    const std::span<const char> arg(buf.data() + sizeof(in), *n - sizeof(in));
    proto::InitOutcome outcome = proto::NegotiateInit(arg, config);
    switch (outcome.kind) {
      case proto::InitOutcome::Kind::kRefused:
        LOG_ERROR("kernel FUSE protocol %u.%u is not supported (need 7.%u or newer)",
                  outcome.kernel_major, outcome.kernel_minor, abi::kMinSupportedMinor);
        (void)SendInitReply(channel, in.unique, outcome.error, nullptr, 0);
        return Errno(outcome.error);
      case proto::InitOutcome::Kind::kAskOlderMajor:
        // The kernel sends INIT again, with our major.
        PTFS_TRY(SendInitReply(channel, in.unique, 0, &outcome.out, outcome.out_size));
        continue;
      case proto::InitOutcome::Kind::kAccepted:
        PTFS_TRY(SendInitReply(channel, in.unique, 0, &outcome.out, outcome.out_size));
        return outcome;
    }
  }
}

}  // namespace ptfs::session
