// Running a host syscall as the FUSE caller, and the decisions that depend on
// who the caller is.
//
// Every operation that creates, opens or changes something runs its host
// syscall with the caller's fsuid, fsgid and supplementary groups, so that
// SOURCE checks permission (sticky directories, ownership, ACLs, chown to a
// group, utimes rules, protected hardlinks) and assigns owner and group
// exactly as for a native call by that user. Only that syscall runs switched:
// reopening handles and killing suid/sgid on the kernel's behalf need the
// daemon's identity (see sys/credentials.h).
//
// Supplementary groups: the kernel sends at most the one that owns the parent
// of a creating request (FUSE_CREATE_SUPP_GROUP). Everything else runs first
// with the groups the request carried; if SOURCE refuses (EACCES/EPERM) and
// the calling thread has more groups (/proc/TID/status), it runs once more
// with all of them. A refused call changed nothing, so the retry is safe, and
// the common case costs no /proc read. docs/decisions.md has the reasoning.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ptfs/types.h"
#include "sys/credentials.h"
#include "ptfs/result.h"

namespace ptfs::mirror {

inline bool IsDenied(Errno e) { return e.value() == EACCES || e.value() == EPERM; }
inline Errno ErrorOf(Errno e) { return e; }
template <typename T>
Errno ErrorOf(const Result<T>& r) {
  return r.error();
}

template <typename F>
auto RunWithGroups(const Context& ctx, std::span<const uint32_t> groups, F& op) -> decltype(op()) {
  auto creds = sys::FsCredentials::Assume(ctx.uid, ctx.gid, groups);
  if (!creds.ok()) return creds.error();
  return op();
}

// The caller's full group list from /proc, if it adds to what the request
// carried.
std::optional<std::vector<uint32_t>> MoreGroups(const Context& ctx);

// Whether the caller is in group `gid`: its own, one the request carried,
// or (read from /proc only then) one of its other supplementary groups.
bool InGroup(const Context& ctx, uint32_t gid);

// Whether AsCaller would run an operation exactly as the daemon itself: a
// check made "as the caller" then only repeats what the operation does.
bool RunsAsDaemon(const Context& ctx);

template <typename F>
auto AsCaller(const Context& ctx, F&& op) -> decltype(op()) {
  auto first = RunWithGroups(ctx, ctx.groups, op);
  if (!IsDenied(ErrorOf(first))) return first;
  auto more = MoreGroups(ctx);
  if (!more) return first;
  return RunWithGroups(ctx, *more, op);
}

// For the operations whose *outcome*, not just permission, depends on group
// membership, the full list is read up front: the host clears S_ISGID (even
// without group execute) on chmod, setting an access ACL, truncate, O_TRUNC
// and chown when the caller is not in the file's group.
template <typename F>
auto AsCallerWithAllGroups(const Context& ctx, F&& op) -> decltype(op()) {
  auto more = MoreGroups(ctx);
  return more ? RunWithGroups(ctx, *more, op) : RunWithGroups(ctx, ctx.groups, op);
}

// Whether a change to a file with these attributes keeps or clears S_ISGID
// depending on groups the request did not carry.
bool SgidDependsOnGroups(const Context& ctx, uint32_t mode, uint32_t gid);
bool SgidDependsOnGroups(const Context& ctx, int fd);

// AsCaller, or AsCallerWithAllGroups when `all_groups`.
template <typename F>
auto AsCallerMaybeAll(const Context& ctx, bool all_groups, F&& op) -> decltype(op()) {
  return all_groups ? AsCallerWithAllGroups(ctx, op) : AsCaller(ctx, op);
}

// Clears what the kernel's setattr_should_drop_suidgid() (Linux 6.2+) drops
// for a caller without CAP_FSETID: suid always; sgid when the group may
// execute or when the caller is not in the file's group (the old rule kept
// sgid without group execute for everybody, as a mandatory-locking mark).
// Only ever asked for by the kernel for such callers (FUSE_*_KILL_SUIDGID, the
// empty killpriv SETATTR), so capabilities need no second check. `fd` may be
// O_PATH; the chmod runs as the daemon (the caller may not own the file).
Errno KillSuidGid(const Context& ctx, int fd);

// The calling thread's umask for a creating request: the caller's `umask`
// when the kernel left masking to the server (FUSE_DONT_MASK), else none.
Errno ApplyUmask(bool dont_mask, uint32_t umask);

}  // namespace ptfs::mirror
