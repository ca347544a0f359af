// The daemon's counters: what reached it and which data path served it,
// documented in docs/stats.md (which tests/mount/stats_doc_test.cc keeps
// complete). Written on SIGUSR1 and shown by `passthroughfs status`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "mirror/mirror_fs.h"
#include "modules/audit_log.h"
#include "session/memory_releaser.h"
#include "session/server.h"
#include "session/session.h"
#include "transport/uring.h"

namespace ptfs::cmd {

// One flat list in the page's order, so the two read side by side.
using Counters = std::vector<std::pair<std::string, long long>>;

// `audit`: the --audit file's log, or null (its audit_* lines then absent).
Counters CollectCounters(const session::Session& s, const mirror::MirrorFs& fs,
                         const session::Server& server, const transport::UringTransport* uring,
                         const session::MemoryReleaser& releaser, const modules::AuditLog* audit);

// "name value" lines (the stats file's and the SIGUSR1 log's form).
std::string FormatStats(const Counters& counters);

}  // namespace ptfs::cmd
