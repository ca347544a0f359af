// One message with at most one file descriptor over a unix socket
// (SCM_RIGHTS): how a server hands what it holds to the next (restart.cc).
#pragma once

#include <span>

#include "ptfs/result.h"
#include "sys/fd.h"

namespace ptfs::sys {

// Sends `data` and, if `fd` >= 0, a duplicate of `fd`; `flags` as send(2)'s
// (MSG_DONTWAIT).
Errno SendWithFd(int sock, std::span<const char> data, int fd, int flags);
// Receives one message into `data` (its size returned) and the fd it
// carried, if any (`*fd` left invalid otherwise).
Result<size_t> ReceiveWithFd(int sock, std::span<char> data, UniqueFd* fd, int flags);

}  // namespace ptfs::sys
