// Modules in front of the real mirror, through the session and the fake
// kernel: a module that must see one file's data vetoes kernel passthrough
// for that open only; the mirror then serves its reads and writes, every
// other file keeps its backing, and nothing is left registered.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "ptfs/module.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

// Sees the data of files named "watched*" (an audit of writes would).
class WatchesData : public Module {
 public:
  using Module::Module;
  std::atomic<int> writes{0};

  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                         OpenFlags flags, uint32_t mode, uint32_t umask) override {
    auto c = Module::Create(ctx, parent, name, flags, mode, umask);
    if (c.ok() && name.starts_with("watched")) {
      c->open.ServeData();
      *watched_.Get(c->open.fh) = true;
    }
    return c;
  }
  Result<size_t> Write(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                       std::span<const char> data, WriteFlags flags) override {
    if (watched_.Find(fh) != nullptr) ++writes;
    return Module::Write(ctx, node, fh, offset, data, flags);
  }
  size_t open_watched() const { return watched_.size(); }

 private:
  OpenState<bool> watched_{this, OpenKind::kFile};
};

struct Created2 {
  fuse_entry_out entry;
  fuse_open_out open;
};

Created2 Unpack(const KernelReply& r) {
  Created2 c{};
  EXPECT_EQ(r.payload.size(), sizeof(c.entry) + sizeof(c.open));
  std::memcpy(&c.entry, r.payload.data(), sizeof(c.entry));
  std::memcpy(&c.open, r.payload.data() + sizeof(c.entry), sizeof(c.open));
  return c;
}

TEST(FakeKernelModules, DataVetoIsPerOpenAndTheMirrorServesIt) {
  FakeKernelOptions o;
  o.passthrough = true;
  WatchesData* module = nullptr;
  o.decorate = [&](FileSystem* mirror) -> std::unique_ptr<FileSystem> {
    auto chain = std::make_unique<ModuleChain>(
        mirror, std::vector<ModuleChain::Factory>{[&](FileSystem* in) {
          auto m = std::make_unique<WatchesData>(in);
          module = m.get();
          return m;
        }});
    return chain;
  };
  FakeKernel k(o);
  ASSERT_NE(module, nullptr);

  Created2 watched = Unpack(k.Create(kRootId, "watched.log", O_RDWR | O_CREAT));
  Created2 plain = Unpack(k.Create(kRootId, "plain", O_RDWR | O_CREAT));
  EXPECT_EQ(watched.open.open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_NE(watched.open.open_flags & FOPEN_DIRECT_IO, 0u) << "may sit beside passthrough opens";
  EXPECT_EQ(watched.open.backing_id, 0);
  EXPECT_NE(plain.open.open_flags & FOPEN_PASSTHROUGH, 0u);
  EXPECT_GT(plain.open.backing_id, 0);

  // The vetoed open's data goes through the server, and the module sees it.
  ASSERT_EQ(k.Write(watched.entry.nodeid, watched.open.fh, 0, "seen").error(), 0);
  EXPECT_EQ(module->writes.load(), 1);
  KernelReply r = k.Read(watched.entry.nodeid, watched.open.fh, 0, 16);
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), "seen");
  EXPECT_EQ(module->open_watched(), 1u);

  EXPECT_EQ(k.Release(watched.entry.nodeid, watched.open.fh).error(), 0);
  EXPECT_EQ(k.Release(plain.entry.nodeid, plain.open.fh).error(), 0);
  EXPECT_EQ(module->open_watched(), 0u) << "per-open state ends with the release";
  k.ForgetAll();
  EXPECT_TRUE(k.control().open_backings.empty()) << "the vetoed open leaked no backing";
  EXPECT_EQ(k.fs().data_path().backing_open_now.load(), 0);
}

}  // namespace
}  // namespace ptfs::testing
