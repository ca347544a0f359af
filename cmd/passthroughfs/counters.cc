#include "cmd/passthroughfs/counters.h"

#include <array>

#include "abi/fuse_abi.h"
#include "proto/opcode_table.h"
#include "sys/syscalls.h"

namespace ptfs::cmd {

Counters CollectCounters(const session::Session& s, const mirror::MirrorFs& fs,
                         const session::Server& server, const transport::UringTransport* uring,
                         const session::MemoryReleaser& releaser, const modules::AuditLog* audit) {
  using namespace ptfs::abi;  // NOLINT
  const auto& dp = fs.data_path();
  Counters out;
  auto line = [&out](std::string name, long long v) { out.emplace_back(std::move(name), v); };
  // One read of every request counter, so the lines below agree with each
  // other even while requests keep arriving.
  std::array<long long, kMaxOpcode + 1> count{};
  long long total = 0;
  for (uint32_t op = 0; op <= kMaxOpcode; ++op) {
    count[op] = static_cast<long long>(s.RequestCount(op));
    total += count[op];
  }
  line("requests_read", count[FUSE_READ]);
  line("requests_write", count[FUSE_WRITE]);
  line("requests_lookup", count[FUSE_LOOKUP]);
  line("requests_getattr", count[FUSE_GETATTR]);
  line("requests_getxattr", count[FUSE_GETXATTR]);
  line("requests_open", count[FUSE_OPEN] + count[FUSE_CREATE]);
  line("requests_total", total);
  line("requests_rejected", static_cast<long long>(s.RejectedRequests()));
  line("requests_resent", static_cast<long long>(s.ResentRequests()));
  // Every opcode we know, by its wire name (opcode_LOOKUP, opcode_FLUSH, ...),
  // zero counts included, so a tool can subtract two snapshots line by line.
  for (uint32_t op = 0; op <= kMaxOpcode; ++op) {
    const char* name = proto::LookupOp(op).name;
    if (name != nullptr) line("opcode_" + std::string(name), count[op]);
  }
  line("opens_passthrough", static_cast<long long>(dp.opens_passthrough.load()));
  line("opens_served", static_cast<long long>(dp.opens_served.load()));
  line("backing_registered", static_cast<long long>(dp.backing_registered.load()));
  line("backing_failed", static_cast<long long>(dp.backing_failed.load()));
  line("backing_open_now", static_cast<long long>(dp.backing_open_now.load()));
  line("backing_idle_now", static_cast<long long>(dp.backing_idle_now.load()));
  line("backing_reused", static_cast<long long>(dp.backing_reused.load()));
  // READDIRPLUS entries, and the ListingAdvisor's probes (docs/coherence.md).
  line("listed_with_attributes", static_cast<long long>(fs.listings().with_attributes.load()));
  line("listed_files_bare", static_cast<long long>(fs.listings().files_bare.load()));
  line("listing_empty_starts", static_cast<long long>(fs.listings().empty_starts.load()));
  line("listing_misplaced_streams", static_cast<long long>(fs.listings().misplaced_streams.load()));
  line("listing_reopened_streams", static_cast<long long>(fs.listings().reopened_streams.load()));
  const auto& adv = fs.listing_advisor().counters();
  line("listing_probes", static_cast<long long>(adv.probes.load()));
  line("listing_probe_hits", static_cast<long long>(adv.hits.load()));
  line("listing_probe_misses", static_cast<long long>(adv.misses.load()));
  line("inodes", static_cast<long long>(fs.inode_count()));
  line("nodeids_forgotten", static_cast<long long>(s.NodeidsForgotten()));
  line("memory_releases", static_cast<long long>(releaser.releases()));
  line("memory_release_us", static_cast<long long>(releaser.release_micros()));
  line("open_files", static_cast<long long>(fs.open_file_count()));
  line("process_fds", sys::CountOpenFds());
  line("fds_shed", static_cast<long long>(fs.fds_shed()));
  line("prune_asked", static_cast<long long>(fs.prune_asked()));
  line("invalidations_for_writers", static_cast<long long>(fs.invalidations_for_writers()));
  line("xattr_absence_known", static_cast<long long>(fs.xattr_absence_known()));
  line("flush_close_skipped", static_cast<long long>(fs.flush_close_skipped()));
  // --export (docs/persistent-identity.md).
  line("handles_decoded", static_cast<long long>(fs.handles_decoded()));
  line("handles_refused", static_cast<long long>(fs.handles_refused()));
  // --restartable: what this server took over from the one before it.
  const mirror::RestoreCounts& restored = fs.restored();
  line("restored_files", static_cast<long long>(restored.files));
  line("restored_dirs", static_cast<long long>(restored.dirs));
  line("restored_backings", static_cast<long long>(restored.backings));
  line("restore_failures", static_cast<long long>(restored.failed));
  line("restored_shown_files", static_cast<long long>(restored.shown));
  line("restored_lock_owners", static_cast<long long>(restored.locks));
  line("adopted_nodes", static_cast<long long>(fs.adopted_nodes()));
  // Confinement: by-name operations only in directories under SOURCE.
  const auto& conf = fs.confinement().counters();
  line("confinement_watch", fs.confinement().watching() ? 1 : 0);
  line("confinement_walks", static_cast<long long>(conf.walks.load()));
  line("confinement_dir_moves", static_cast<long long>(conf.dir_moves.load()));
  line("confinement_refused", static_cast<long long>(conf.refused.load()));
  // Which transport carried the requests (docs/transport.md).
  line("transport_uring", server.uring_in_use() ? 1 : 0);
  line("requests_via_dev", static_cast<long long>(server.dev_requests()));
  line("requests_via_uring", static_cast<long long>(server.uring_requests()));
  line("uring_entries", static_cast<long long>(uring != nullptr ? uring->entries() : 0));
  line("uring_defer_taskrun", uring != nullptr && uring->defers_task_work() ? 1 : 0);
  line("uring_poll_hits", static_cast<long long>(uring != nullptr ? uring->poll_hits() : 0));
  line("uring_poll_misses", static_cast<long long>(uring != nullptr ? uring->poll_misses() : 0));
  line("requests_offloaded", static_cast<long long>(server.offloaded_requests()));
  // Lock conflicts that waited for earlier requests on other queues
  // (session/lock_order.h, docs/transport.md).
  line("lock_conflicts_settled", static_cast<long long>(s.lock_order().conflicts_settled.load()));
  line("lock_conflicts_cleared", static_cast<long long>(s.lock_order().conflicts_cleared.load()));
  line("uring_settle_timeouts",
       static_cast<long long>(uring != nullptr ? uring->settle_timeouts() : 0));
  // The source watch (fanotify): outside changes turned into invalidations.
  const mirror::SourceWatcher* w = fs.source_watcher();
  line("watch_on", w != nullptr ? 1 : 0);
  if (w != nullptr) {
    const auto& c = w->counters();
    line("watch_events", static_cast<long long>(c.events.load()));
    line("watch_own_events", static_cast<long long>(c.own_events.load()));
    line("watch_unknown", static_cast<long long>(c.unknown.load()));
    line("watch_inval_entry", static_cast<long long>(c.inval_entry.load()));
    line("watch_inval_inode", static_cast<long long>(c.inval_inode.load()));
    line("watch_overflows", static_cast<long long>(c.overflows.load()));
    line("watch_entry_epochs", static_cast<long long>(c.entry_epochs.load()));
    line("watch_modify_ignored", static_cast<long long>(c.modify_ignored.load()));
    line("watch_own_mounts", static_cast<long long>(c.own_mounts.load()));
    line("watch_raced_entries", static_cast<long long>(c.raced_entries.load()));
  }
  // The audit file (--audit; docs/audit.md): lines written, and those
  // held back or lost while it could not be written.
  if (audit != nullptr) {
    const modules::AuditLog::Counters c = audit->counters();
    line("audit_lines_written", static_cast<long long>(c.lines_written));
    line("audit_lines_waiting", static_cast<long long>(c.lines_waiting));
    line("audit_lines_dropped", static_cast<long long>(c.lines_dropped));
    line("audit_write_failures", static_cast<long long>(c.write_failures));
  }
  return out;
}

std::string FormatStats(const Counters& counters) {
  std::string out;
  for (const auto& [name, value] : counters) {
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
  }
  return out;
}

}  // namespace ptfs::cmd
