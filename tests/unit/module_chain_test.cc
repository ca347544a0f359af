// include/ptfs/module.h: modules stack in the order given, see calls
// outermost first, and keep per-inode and per-open state that the chain
// drops when the kernel gives back the last reference or the open ends.
#include "ptfs/module.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ptfs {
namespace {

// An in-memory filesystem: every name in the root is a file whose node is
// 100 + its first character; opens get increasing handles, files and
// directories numbered apart, as the mirror numbers them.
class FakeFs : public FileSystem {
 public:
  std::atomic<uint64_t> next_fh{1}, next_dir_fh{1};
  std::atomic<int64_t> refs{0};  // lookup references handed out minus given back

  Result<Entry> Lookup(const Context&, NodeId, std::string_view name) override {
    if (name == "absent") return Entry{};
    return Handed(NodeId{100u + static_cast<unsigned char>(name[0])});
  }
  void Forget(NodeId, uint64_t n) override { refs -= static_cast<int64_t>(n); }
  Result<Entry> Link(const Context&, NodeId node, NodeId, std::string_view) override {
    return Handed(node);
  }
  Result<Created> Create(const Context&, NodeId, std::string_view name, OpenFlags, uint32_t,
                         uint32_t) override {
    Created c;
    c.entry = *Handed(NodeId{100u + static_cast<unsigned char>(name[0])});
    c.open = PassthroughOpen();
    return c;
  }
  Result<Opened> Open(const Context&, NodeId, OpenFlags) override { return PassthroughOpen(); }
  Result<Opened> OpenDir(const Context&, NodeId, OpenFlags) override {
    Opened o;
    o.fh = FileHandle{next_dir_fh++};
    return o;
  }
  Errno ReadDir(const Context&, NodeId, FileHandle, uint64_t offset, DirentSink& sink) override {
    if (offset != 0) return Errno::Ok();
    Entry dot;  // "." carries no reference
    sink.AddPlus(".", dot, 1);
    sink.AddPlus("a", *Handed(NodeId{100 + 'a'}), 2);
    sink.AddPlus("b", *Handed(NodeId{100 + 'b'}), 3);
    return Errno::Ok();
  }

 private:
  Result<Entry> Handed(NodeId node) {
    ++refs;
    Entry e;
    e.node = node;
    return e;
  }
  Opened PassthroughOpen() {
    Opened o;
    o.fh = FileHandle{next_fh++};
    o.open_flags = Opened::kOpenPassthrough;
    o.backing = BackingId{7};
    return o;
  }
};

// Records the order in which modules see Lookup, and keeps state.
class Recorder : public Module {
 public:
  Recorder(FileSystem* inner, std::string name, std::vector<std::string>* log)
      : Module(inner), name_(std::move(name)), log_(log) {}

  NodeState<int> seen{this};
  OpenState<std::string> files{this, OpenKind::kFile};
  OpenState<std::string> dirs{this, OpenKind::kDir};

  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      log_->push_back(name_);
    }
    auto e = Module::Lookup(ctx, parent, name);
    if (e.ok() && e->node.value != 0) ++*seen.Get(e->node);
    return e;
  }
  Result<Opened> Open(const Context& ctx, NodeId node, OpenFlags flags) override {
    auto o = Module::Open(ctx, node, flags);
    if (o.ok()) *files.Get(o->fh) = "open";
    return o;
  }
  Result<Opened> OpenDir(const Context& ctx, NodeId node, OpenFlags flags) override {
    auto o = Module::OpenDir(ctx, node, flags);
    if (o.ok()) *dirs.Get(o->fh) = "dir";
    return o;
  }

 private:
  std::string name_;
  std::vector<std::string>* log_;
  std::mutex mu_;
};

// Must see the data of files whose name starts with 's'.
class SeesSecrets : public Module {
 public:
  using Module::Module;
  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                         OpenFlags flags, uint32_t mode, uint32_t umask) override {
    auto c = Module::Create(ctx, parent, name, flags, mode, umask);
    if (c.ok() && name.starts_with("s")) c->open.ServeData();
    return c;
  }
};

// Collects READDIRPLUS entries.
class PlusSink : public DirentSink {
 public:
  std::vector<NodeId> nodes;
  bool plus() const override { return true; }
  bool Fits(std::string_view) const override { return true; }
  void Add(std::string_view, uint64_t, uint32_t, uint64_t) override {}
  void AddPlus(std::string_view, const Entry& e, uint64_t) override { nodes.push_back(e.node); }
};

const Context kCtx{};

TEST(ModuleChain, FirstGivenSeesCallsFirst) {
  FakeFs base;
  std::vector<std::string> log;
  ModuleChain chain(&base, {
                               [&](FileSystem* in) {
                                 return std::make_unique<Recorder>(in, "outer", &log);
                               },
                               [&](FileSystem* in) {
                                 return std::make_unique<Recorder>(in, "inner", &log);
                               },
                           });
  ASSERT_EQ(chain.size(), 2u);
  ASSERT_TRUE(chain.Lookup(kCtx, kRootNode, "x").ok());
  EXPECT_EQ(log, (std::vector<std::string>{"outer", "inner"}));
}

TEST(ModuleChain, NodeStateLastsUntilTheKernelGivesBackEveryReference) {
  FakeFs base;
  std::vector<std::string> log;
  ModuleChain chain(&base, {[&](FileSystem* in) {
                      return std::make_unique<Recorder>(in, "r", &log);
                    }});
  auto* r = static_cast<Recorder*>(chain.module(0));
  const NodeId x{100 + 'x'};
  ASSERT_TRUE(chain.Lookup(kCtx, kRootNode, "x").ok());
  ASSERT_TRUE(chain.Link(kCtx, x, kRootNode, "x2").ok());  // a second reference
  EXPECT_EQ(chain.ReferencesOf(x), 2u);
  ASSERT_NE(r->seen.Find(x), nullptr);
  chain.Forget(x, 1);
  EXPECT_NE(r->seen.Find(x), nullptr) << "one reference is still held";
  chain.Forget(x, 1);
  EXPECT_EQ(r->seen.Find(x), nullptr) << "dropped with the last reference";
  EXPECT_EQ(base.refs.load(), 0) << "forgets reach the base";
  // A negative entry hands out nothing.
  ASSERT_TRUE(chain.Lookup(kCtx, kRootNode, "absent").ok());
  EXPECT_EQ(chain.ReferencesOf(NodeId{0}), 0u);
}

TEST(ModuleChain, ReaddirplusEntriesAndCreatesAreCounted) {
  FakeFs base;
  std::vector<std::string> log;
  ModuleChain chain(&base, {[&](FileSystem* in) {
                      return std::make_unique<Recorder>(in, "r", &log);
                    }});
  auto* r = static_cast<Recorder*>(chain.module(0));
  PlusSink sink;
  ASSERT_TRUE(chain.ReadDir(kCtx, kRootNode, FileHandle{}, 0, sink).ok());
  ASSERT_EQ(sink.nodes.size(), 3u);
  const NodeId a{100 + 'a'}, b{100 + 'b'};
  EXPECT_EQ(chain.ReferencesOf(a), 1u);
  EXPECT_EQ(chain.ReferencesOf(b), 1u);
  ASSERT_TRUE(chain.Lookup(kCtx, kRootNode, "a").ok());  // state for a
  ASSERT_TRUE(chain.Create(kCtx, kRootNode, "c", OpenFlags{O_RDWR}, 0644, 022).ok());
  EXPECT_EQ(chain.ReferencesOf(NodeId{100 + 'c'}), 1u);
  chain.Forget(a, 1);
  EXPECT_NE(r->seen.Find(a), nullptr) << "the READDIRPLUS reference is still held";
  chain.Forget(a, 1);
  EXPECT_EQ(r->seen.Find(a), nullptr);
  chain.Forget(b, 1);
  chain.Forget(NodeId{100 + 'c'}, 1);
  EXPECT_EQ(base.refs.load(), 0);
}

TEST(ModuleChain, OpenStateEndsWithItsOwnKindOfRelease) {
  FakeFs base;
  std::vector<std::string> log;
  ModuleChain chain(&base, {[&](FileSystem* in) {
                      return std::make_unique<Recorder>(in, "r", &log);
                    }});
  auto* r = static_cast<Recorder*>(chain.module(0));
  auto file = chain.Open(kCtx, NodeId{200}, OpenFlags{O_RDONLY});
  auto dir = chain.OpenDir(kCtx, kRootNode, OpenFlags{O_RDONLY});
  ASSERT_TRUE(file.ok() && dir.ok());
  ASSERT_EQ(file->fh, dir->fh) << "the fake numbers files and directories apart, from 1";
  EXPECT_EQ(r->files.size(), 1u);
  EXPECT_EQ(r->dirs.size(), 1u);
  EXPECT_TRUE(chain.ReleaseDir(kCtx, kRootNode, dir->fh).ok());
  EXPECT_EQ(r->dirs.size(), 0u);
  EXPECT_EQ(r->files.size(), 1u) << "a directory's release leaves the file's state";
  EXPECT_TRUE(chain.Release(kCtx, NodeId{200}, file->fh, 0, 0).ok());
  EXPECT_EQ(r->files.size(), 0u);
}

TEST(ModuleChain, ServeDataVetoesPassthroughForThatOpenOnly) {
  FakeFs base;
  ModuleChain chain(&base, {[](FileSystem* in) { return std::make_unique<SeesSecrets>(in); }});
  auto secret = chain.Create(kCtx, kRootNode, "secret", OpenFlags{O_RDWR}, 0600, 022);
  auto plain = chain.Create(kCtx, kRootNode, "plain", OpenFlags{O_RDWR}, 0600, 022);
  ASSERT_TRUE(secret.ok() && plain.ok());
  EXPECT_FALSE(secret->open.passthrough());
  EXPECT_NE(secret->open.open_flags & Opened::kOpenDirectIo, 0u);
  EXPECT_EQ(secret->open.backing, BackingId{});
  EXPECT_TRUE(plain->open.passthrough());
  EXPECT_EQ(plain->open.backing, BackingId{7});
}

// Remembers each open file (as an audit of first writes does).
class CountsOpens : public Module {
 public:
  using Module::Module;
  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                         OpenFlags flags, uint32_t mode, uint32_t umask) override {
    auto c = Module::Create(ctx, parent, name, flags, mode, umask);
    if (c.ok()) *opens.Get(c->open.fh) = 1;
    return c;
  }
  OpenState<int> opens{this, OpenKind::kFile};
};

TEST(ModuleChain, PerOpenStateNeedsNoCountingAndEndsAtRelease) {
  FakeFs base;
  ModuleChain chain(&base, {[](FileSystem* in) { return std::make_unique<CountsOpens>(in); }});
  auto* m = static_cast<CountsOpens*>(chain.module(0));
  auto c = chain.Create(kCtx, kRootNode, "f", OpenFlags{O_RDWR}, 0600, 022);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(chain.ReferencesOf(c->entry.node), 0u) << "per-open state alone: no map update";
  EXPECT_EQ(m->opens.size(), 1u);
  EXPECT_TRUE(chain.Release(kCtx, c->entry.node, c->open.fh, 0, 0).ok());
  EXPECT_EQ(m->opens.size(), 0u);
}

TEST(ModuleChain, StatelessModulesCostNoCounting) {
  FakeFs base;
  ModuleChain chain(&base, {[](FileSystem* in) { return std::make_unique<SeesSecrets>(in); }});
  ASSERT_TRUE(chain.Lookup(kCtx, kRootNode, "q").ok());
  EXPECT_EQ(chain.ReferencesOf(NodeId{100 + 'q'}), 0u) << "no module keeps state: no map update";
  chain.Forget(NodeId{100 + 'q'}, 1);
  EXPECT_EQ(base.refs.load(), 0);
}

TEST(ModuleChain, WithoutModulesItOnlyForwards) {
  FakeFs base;
  ModuleChain chain(&base, {});
  EXPECT_EQ(chain.size(), 0u);
  auto e = chain.Lookup(kCtx, kRootNode, "q");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->node, (NodeId{100 + 'q'}));
  chain.Forget(e->node, 1);
  EXPECT_EQ(base.refs.load(), 0);
}

}  // namespace
}  // namespace ptfs
