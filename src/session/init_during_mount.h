// INIT answered during mount(2) (FUSE_DEV_IOC_SYNC_INIT, Linux 6.18): the
// kernel sends INIT from inside mount(2) and waits for the answer there, so
// it must come from another thread before any Session serves the
// connection. It is negotiated exactly as Session::HandleInit does; the
// Session that serves the connection afterwards takes the outcome over
// (Session::Adopt), as a restarted server does.
#pragma once

#include <atomic>

#include "proto/init.h"
#include "ptfs/result.h"
#include "transport/channel.h"

namespace ptfs::session {

// Reads INIT from `channel` and answers it with `config`. Returns the
// outcome once INIT is accepted; the kernel's refusal reason (EPROTO for an
// unsupported protocol) if refused; EINTR if `stop` was set meanwhile.
Result<proto::InitOutcome> AnswerInitDuringMount(transport::Channel& channel,
                                                 const proto::InitConfig& config,
                                                 const std::atomic<bool>& stop);

}  // namespace ptfs::session
