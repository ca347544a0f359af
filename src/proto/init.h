// INIT negotiation as a pure function: the kernel's fuse_init_in and what the
// server wants in, the reply and the connection parameters in force out.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "abi/fuse_abi.h"

namespace ptfs::proto {

struct InitConfig {
  uint64_t wanted_flags = 0;  // FUSE_* flags the server would like
  uint32_t max_write = 1 << 20;
  uint32_t max_readahead = 1 << 20;
  uint16_t max_background = 64;
  uint16_t congestion_threshold = 48;
  uint32_t max_stack_depth = 1;  // sent only with FUSE_PASSTHROUGH
  // Seconds after which the kernel aborts the connection if a request is
  // still unanswered (FUSE_REQUEST_TIMEOUT, 7.43); 0: none asked for.
  uint16_t request_timeout = 0;
};

struct InitOutcome {
  enum class Kind {
    kAccepted,       // reply `out` (out_size bytes); connection parameters below
    kAskOlderMajor,  // kernel major > ours: reply our major and wait for a new INIT
    kRefused,        // reply `error`
  };
  Kind kind = Kind::kRefused;
  int error = 0;  // positive errno for kRefused
  abi::fuse_init_out out{};
  size_t out_size = 0;
  uint32_t kernel_major = 0;
  uint32_t kernel_minor = 0;
  uint64_t kernel_flags = 0;  // what the kernel offered
  uint64_t flags = 0;         // what is in force: offered & wanted
  uint32_t max_write = 0;
  uint32_t max_readahead = 0;
};

InitOutcome NegotiateInit(std::span<const char> init_in, const InitConfig& config);

// "ASYNC_READ,POSIX_LOCKS,..." for logs.
std::string DescribeInitFlags(uint64_t flags);

}  // namespace ptfs::proto
