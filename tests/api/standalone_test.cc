// Builds against include/ptfs alone (tests/api/CMakeLists.txt gives this
// target no other include directory and no library), as a filesystem or
// module written outside this tree would: a tiny one-file filesystem and a
// module in front of it. Then checks what the headers promise: the ENOSYS
// defaults, the handle ops that cannot fail, forwarding, the flag types and
// the Result helpers. Exit status 0 = all held.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "ptfs/backing.h"
#include "ptfs/daemon.h"
#include "ptfs/filesystem.h"
#include "ptfs/forwarding_filesystem.h"
#include "ptfs/module.h"
#include "ptfs/notifier.h"
#include "ptfs/result.h"
#include "ptfs/types.h"

namespace {

int failures = 0;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

// One regular file, "hello", in the root directory.
class HelloFs : public ptfs::FileSystem {
 public:
  static constexpr ptfs::NodeId kHello{2};

  ptfs::Result<ptfs::Entry> Lookup(const ptfs::Context&, ptfs::NodeId parent,
                                   std::string_view name) override {
    if (parent != ptfs::kRootNode) return ptfs::Errno(ENOTDIR);
    if (name != "hello") return ptfs::Entry{};  // negative entry
    ptfs::Entry e;
    e.node = kHello;
    e.attr.stx_mode = S_IFREG | 0444;
    e.attr.stx_size = 6;
    return e;
  }
  ptfs::Result<size_t> Read(const ptfs::Context&, ptfs::NodeId node, ptfs::FileHandle,
                            uint64_t offset, std::span<char> out) override {
    if (node != kHello) return ptfs::Errno(EBADF);
    static constexpr std::string_view kData = "hello\n";
    if (offset >= kData.size()) return size_t{0};
    const size_t n = std::min(out.size(), kData.size() - offset);
    std::memcpy(out.data(), kData.data() + offset, n);
    return n;
  }
};

// A module: denies writes, counts lookups, forwards everything else.
class ReadOnlyCounting : public ptfs::ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  int lookups = 0;

  ptfs::Result<ptfs::Entry> Lookup(const ptfs::Context& ctx, ptfs::NodeId parent,
                                   std::string_view name) override {
    ++lookups;
    return ForwardingFileSystem::Lookup(ctx, parent, name);
  }
  ptfs::Result<ptfs::Opened> Open(const ptfs::Context& ctx, ptfs::NodeId node,
                                  ptfs::OpenFlags flags) override {
    if (flags.access_mode() != O_RDONLY) return ptfs::Errno(EROFS);
    return ForwardingFileSystem::Open(ctx, node, flags);
  }
};

// A module with per-inode state (so the chain counts references for it).
class Remembers : public ptfs::Module {
 public:
  using Module::Module;
  ptfs::NodeState<int> seen{this};
};

ptfs::Errno FailsThenNotReached(bool* reached) {
  PTFS_TRY(ptfs::Errno(EIO));
  *reached = true;
  return ptfs::Errno::Ok();
}

ptfs::Result<int> Doubled(ptfs::Result<int> in) {
  PTFS_ASSIGN_OR_RETURN(int v, in);
  return v * 2;
}

}  // namespace

int main() {
  HelloFs hello;
  ReadOnlyCounting fs(&hello);
  const ptfs::Context ctx{};

  // Overridden and forwarded.
  auto e = fs.Lookup(ctx, ptfs::kRootNode, "hello");
  Check(e.ok() && e->node == HelloFs::kHello && e->attr.stx_size == 6, "lookup forwarded");
  auto neg = fs.Lookup(ctx, ptfs::kRootNode, "absent");
  Check(neg.ok() && neg->node.value == 0, "negative entry forwarded");
  Check(fs.lookups == 2, "module saw both lookups");
  char buf[16];
  auto n = fs.Read(ctx, HelloFs::kHello, ptfs::FileHandle{}, 0, buf);
  Check(n.ok() && *n == 6 && std::string(buf, 6) == "hello\n", "read forwarded");

  // The module's policy, through the flag type.
  Check(fs.Open(ctx, HelloFs::kHello, ptfs::OpenFlags{O_WRONLY}).error() == ptfs::Errno(EROFS),
        "module refuses a write open");
  // Not implemented by either: the inline defaults.
  Check(fs.Open(ctx, HelloFs::kHello, ptfs::OpenFlags{O_RDONLY}).error() == ptfs::Errno(ENOSYS),
        "default Open is ENOSYS");
  Check(fs.Write(ctx, HelloFs::kHello, ptfs::FileHandle{}, 0, {}, ptfs::WriteFlags{}).error() ==
            ptfs::Errno(ENOSYS),
        "default Write is ENOSYS");
  Check(fs.Rename(ctx, ptfs::kRootNode, "a", ptfs::kRootNode, "b",
                  ptfs::RenameFlags{ptfs::RenameFlags::kNoReplace}) == ptfs::Errno(ENOSYS),
        "default Rename is ENOSYS");
  Check(fs.GetXattr(ctx, ptfs::kRootNode, "user.x", {}).error() == ptfs::Errno(ENOSYS),
        "default GetXattr is ENOSYS");
  Check(fs.StatFs(ctx, ptfs::kRootNode).error() == ptfs::Errno(ENOSYS), "default StatFs");
  Check(fs.SyncFs(ctx, ptfs::kRootNode) == ptfs::Errno(ENOSYS), "default SyncFs");
  // What cannot fail from the caller's side.
  Check(fs.Release(ctx, HelloFs::kHello, ptfs::FileHandle{7}, 0, 0).ok(), "default Release ok");
  Check(fs.ReleaseDir(ctx, ptfs::kRootNode, ptfs::FileHandle{7}).ok(), "default ReleaseDir ok");
  fs.Forget(HelloFs::kHello, 1);  // never fails
  Check(fs.AttachInodeBacking(HelloFs::kHello, ptfs::kInodeOpsAll) == ptfs::BackingId{},
        "default: no inode backing");

  // Flag types.
  const ptfs::OpenFlags exec{O_RDONLY | ptfs::OpenFlags::kOpenForExec, false};
  Check(exec.for_exec() && exec.access_mode() == O_RDONLY, "OpenFlags exec open");
  Check(ptfs::OpenFlags{O_RDWR | O_TRUNC, true}.kill_suidgid, "OpenFlags kill_suidgid");
  const ptfs::RenameFlags exchange{ptfs::RenameFlags::kExchange};
  Check(exchange.exchange() && !exchange.noreplace(), "RenameFlags");

  // Result helpers.
  bool reached = false;
  Check(FailsThenNotReached(&reached) == ptfs::Errno(EIO) && !reached, "PTFS_TRY returns");
  Check(Doubled(21).ok() && *Doubled(21) == 42, "PTFS_ASSIGN_OR_RETURN value");
  Check(Doubled(ptfs::Errno(ENOENT)).error() == ptfs::Errno(ENOENT), "PTFS_ASSIGN_OR_RETURN error");

  // The module library, header-only too: one module in a chain.
  {
    HelloFs base;
    ptfs::ModuleChain chain(&base, {[](ptfs::FileSystem* in) {
                              return std::make_unique<Remembers>(in);
                            }});
    auto via_chain = chain.Lookup(ctx, ptfs::kRootNode, "hello");
    Check(via_chain.ok() && chain.ReferencesOf(HelloFs::kHello) == 1, "chain counts the entry");
    chain.Forget(HelloFs::kHello, 1);
    Check(chain.ReferencesOf(HelloFs::kHello) == 0, "chain counts the forget");
  }

  if (failures == 0) std::puts("include/ptfs stands alone: all checks held");
  return failures == 0 ? 0 : 1;
}
