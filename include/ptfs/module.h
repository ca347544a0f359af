// Modules: policies in front of a FileSystem (the mirror of SOURCE), each
// handling the calls it cares about and forwarding the rest.
//
//   ModuleChain chain(&mirror, {
//       [&](FileSystem* inner) { return std::make_unique<Hide>(inner, globs); },
//       [&](FileSystem* inner) { return std::make_unique<Audit>(inner, file); },
//   });                               // Hide, given first, sees calls first
//   session.Serve(&chain);
//
// Contract (docs/modules.md is the tutorial):
//  - A Module is a ForwardingFileSystem: override the calls of the policy,
//    call the base (ForwardingFileSystem::Op) for the rest. Everything in
//    filesystem.h's contract holds for each module towards the one above it:
//    an entry passed up carries the lookup reference the module below handed
//    it; a module that refuses an entry it got from below gives the
//    reference back (Forget(node, 1) on its inner filesystem) and closes a
//    handle it refuses (Release/ReleaseDir).
//  - Order: the module added first is the outermost; it sees each call
//    first and each answer last.
//  - State: NodeState<T> and OpenState<T> members keep per-inode and
//    per-open state. The chain drops a node's state once the kernel has
//    given back every reference to it, and an open's state after its
//    Release/ReleaseDir has returned; a module needs no map of its own and
//    no Forget/Release override to clean up.
//  - Kernel shortcuts: an inode whose getattr, setattr or readdir a module
//    must see clears those bits of Entry::inode_passthrough_ops on the
//    entries it passes up (inode passthrough, where the kernel has it); an
//    open whose reads and writes it must see calls Opened::ServeData(). Both
//    are per inode or per open: everything the policy does not touch keeps
//    the kernel's fast paths.
//  - Thread-safety: calls arrive on many threads at once, as for any
//    FileSystem; NodeState and OpenState are safe to use from all of them.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ptfs/forwarding_filesystem.h"

namespace ptfs {

class Module;

namespace module_detail {

// What a Module's state members register with it, so the chain can drop
// their entries.
class StateSlot {
 public:
  virtual ~StateSlot() = default;
  virtual void DropNode(NodeId node) = 0;
  virtual void DropOpen(FileHandle fh, bool dir) = 0;
  // Per-inode state, which needs the chain to count lookup references.
  virtual bool per_node() const = 0;
};

// A map from a 64-bit id to shared state, split into locked shards.
template <typename T>
class ShardedMap {
 public:
  std::shared_ptr<T> Find(uint64_t id) const {
    const Shard& s = shards_[id % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(id);
    return it == s.map.end() ? nullptr : it->second;
  }
  std::shared_ptr<T> GetOrCreate(uint64_t id) {
    Shard& s = shards_[id % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    std::shared_ptr<T>& slot = s.map[id];
    if (!slot) slot = std::make_shared<T>();
    return slot;
  }
  void Erase(uint64_t id) {
    Shard& s = shards_[id % kShards];
    std::shared_ptr<T> gone;  // destroyed after unlocking
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(id);
    if (it == s.map.end()) return;
    gone = std::move(it->second);
    s.map.erase(it);
  }
  size_t size() const {
    size_t n = 0;
    for (const Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      n += s.map.size();
    }
    return n;
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, std::shared_ptr<T>> map;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace module_detail

// The base of every policy module.
class Module : public ForwardingFileSystem {
 public:
  explicit Module(FileSystem* inner) : ForwardingFileSystem(inner) {}

  // Called by the chain (not by modules): the kernel holds no reference to
  // `node` any more / the open `fh` was released. Drops the state members'
  // entries.
  void NodeGone(NodeId node) {
    for (module_detail::StateSlot* s : slots_) s->DropNode(node);
  }
  void OpenGone(FileHandle fh, bool dir) {
    for (module_detail::StateSlot* s : slots_) s->DropOpen(fh, dir);
  }
  // Whether the module keeps per-inode state (NodeState members).
  bool keeps_node_state() const {
    for (const module_detail::StateSlot* s : slots_) {
      if (s->per_node()) return true;
    }
    return false;
  }

 private:
  template <typename T>
  friend class NodeState;
  template <typename T>
  friend class OpenState;
  // Registered at construction, before any call arrives; read-only after.
  std::vector<module_detail::StateSlot*> slots_;
};

// Per-inode state of a module: a member `NodeState<T> seen_{this};`.
// T is default-constructed on first Get and shared: hold the pointer while
// using it; synchronise T's own fields if several threads may change them.
template <typename T>
class NodeState final : public module_detail::StateSlot {
 public:
  explicit NodeState(Module* owner) { owner->slots_.push_back(this); }
  NodeState(const NodeState&) = delete;
  NodeState& operator=(const NodeState&) = delete;

  std::shared_ptr<T> Get(NodeId node) { return map_.GetOrCreate(node.value); }
  // Null when the node has no state.
  std::shared_ptr<T> Find(NodeId node) const { return map_.Find(node.value); }
  void Erase(NodeId node) { map_.Erase(node.value); }
  size_t size() const { return map_.size(); }

 private:
  void DropNode(NodeId node) override { map_.Erase(node.value); }
  void DropOpen(FileHandle, bool) override {}
  bool per_node() const override { return true; }
  module_detail::ShardedMap<T> map_;
};

// Per-open state of a module, for files (OpenKind::kFile: OPEN, CREATE,
// TMPFILE handles, dropped after Release) or directories (kDir: OPENDIR
// handles, dropped after ReleaseDir): the two kinds of handle are numbered
// apart.
enum class OpenKind { kFile, kDir };

template <typename T>
class OpenState final : public module_detail::StateSlot {
 public:
  OpenState(Module* owner, OpenKind kind) : kind_(kind) { owner->slots_.push_back(this); }
  OpenState(const OpenState&) = delete;
  OpenState& operator=(const OpenState&) = delete;

  std::shared_ptr<T> Get(FileHandle fh) { return map_.GetOrCreate(fh.value); }
  std::shared_ptr<T> Find(FileHandle fh) const { return map_.Find(fh.value); }
  size_t size() const { return map_.size(); }

 private:
  void DropNode(NodeId) override {}
  void DropOpen(FileHandle fh, bool dir) override {
    if (dir == (kind_ == OpenKind::kDir)) map_.Erase(fh.value);
  }
  bool per_node() const override { return false; }
  const OpenKind kind_;
  module_detail::ShardedMap<T> map_;
};

// The modules in front of a base filesystem, outermost first, and the
// bookkeeping their state needs: when a module keeps per-inode state, the chain
// counts the lookup references handed to the kernel through it (every entry
// answer, READDIRPLUS entries included) and the ones given back (Forget), so
// it knows when the kernel holds none. Otherwise it only forwards.
class ModuleChain final : public ForwardingFileSystem {
 public:
  // Makes one module over the filesystem it forwards to.
  using Factory = std::function<std::unique_ptr<Module>(FileSystem* inner)>;

  // `outermost_first`: the modules as the command line lists them; the
  // first sees each call first. Each is built over the one after it, the
  // last over `base`.
  ModuleChain(FileSystem* base, const std::vector<Factory>& outermost_first)
      : ModuleChain(Build(base, outermost_first)) {}

  size_t size() const { return modules_.size(); }
  Module* module(size_t i) const { return modules_[i].get(); }

  // For tests: references the chain counts for `node` now.
  uint64_t ReferencesOf(NodeId node) const {
    const Shard& s = refs_[node.value % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.count.find(node.value);
    return it == s.count.end() ? 0 : it->second;
  }

  // ---- the calls that hand out or give back references, or end opens

  Result<Entry> Lookup(const Context& ctx, NodeId parent, std::string_view name) override {
    return Count(ForwardingFileSystem::Lookup(ctx, parent, name));
  }
  void Forget(NodeId node, uint64_t nlookup) override {
    ForwardingFileSystem::Forget(node, nlookup);
    if (counting_ && Drop(node, nlookup)) {
      for (auto& m : modules_) m->NodeGone(node);
    }
  }
  Result<Entry> Symlink(const Context& ctx, NodeId parent, std::string_view name,
                        std::string_view target) override {
    return Count(ForwardingFileSystem::Symlink(ctx, parent, name, target));
  }
  Result<Entry> MkNod(const Context& ctx, NodeId parent, std::string_view name, uint32_t mode,
                      uint32_t rdev, uint32_t umask) override {
    return Count(ForwardingFileSystem::MkNod(ctx, parent, name, mode, rdev, umask));
  }
  Result<Entry> MkDir(const Context& ctx, NodeId parent, std::string_view name, uint32_t mode,
                      uint32_t umask) override {
    return Count(ForwardingFileSystem::MkDir(ctx, parent, name, mode, umask));
  }
  Result<Entry> Link(const Context& ctx, NodeId node, NodeId new_parent,
                     std::string_view new_name) override {
    return Count(ForwardingFileSystem::Link(ctx, node, new_parent, new_name));
  }
  Result<Created> Create(const Context& ctx, NodeId parent, std::string_view name,
                         OpenFlags flags, uint32_t mode, uint32_t umask) override {
    return CountCreated(ForwardingFileSystem::Create(ctx, parent, name, flags, mode, umask));
  }
  Result<Created> TmpFile(const Context& ctx, NodeId parent, OpenFlags flags, uint32_t mode,
                          uint32_t umask) override {
    return CountCreated(ForwardingFileSystem::TmpFile(ctx, parent, flags, mode, umask));
  }
  Errno ReadDir(const Context& ctx, NodeId node, FileHandle fh, uint64_t offset,
                DirentSink& sink) override {
    if (!counting_ || !sink.plus()) return ForwardingFileSystem::ReadDir(ctx, node, fh, offset, sink);
    CountingSink counting(this, sink);
    return ForwardingFileSystem::ReadDir(ctx, node, fh, offset, counting);
  }
  Errno Release(const Context& ctx, NodeId node, FileHandle fh, uint32_t release_flags,
                uint64_t lock_owner) override {
    Errno e = ForwardingFileSystem::Release(ctx, node, fh, release_flags, lock_owner);
    for (auto& m : modules_) m->OpenGone(fh, /*dir=*/false);
    return e;
  }
  Errno ReleaseDir(const Context& ctx, NodeId node, FileHandle fh) override {
    Errno e = ForwardingFileSystem::ReleaseDir(ctx, node, fh);
    for (auto& m : modules_) m->OpenGone(fh, /*dir=*/true);
    return e;
  }

 private:
  // Counts READDIRPLUS entries as they are added.
  class CountingSink final : public DirentSink {
   public:
    CountingSink(ModuleChain* chain, DirentSink& out) : chain_(chain), out_(out) {}
    bool plus() const override { return out_.plus(); }
    bool Fits(std::string_view name) const override { return out_.Fits(name); }
    void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next) override {
      out_.Add(name, ino, dtype, next);
    }
    void AddPlus(std::string_view name, const Entry& entry, uint64_t next) override {
      if (entry.node.value != 0) chain_->Take(entry.node);
      out_.AddPlus(name, entry, next);
    }

   private:
    ModuleChain* chain_;
    DirentSink& out_;
  };

  struct Built {
    FileSystem* top;
    std::vector<std::unique_ptr<Module>> modules;  // outermost first
  };
  static Built Build(FileSystem* base, const std::vector<Factory>& outermost_first) {
    Built b{base, {}};
    b.modules.resize(outermost_first.size());
    for (size_t i = outermost_first.size(); i-- > 0;) {
      b.modules[i] = outermost_first[i](b.top);
      b.top = b.modules[i].get();
    }
    return b;
  }
  explicit ModuleChain(Built b)
      : ForwardingFileSystem(b.top), modules_(std::move(b.modules)), counting_(KeepsNodeState(modules_)) {}
  static bool KeepsNodeState(const std::vector<std::unique_ptr<Module>>& modules) {
    for (const auto& m : modules) {
      if (m->keeps_node_state()) return true;
    }
    return false;
  }

  // Counting costs a locked map update per entry, so the chain counts only
  // when some module keeps per-inode state (per-open state is dropped at
  // release, which needs no count).
  Result<Entry> Count(Result<Entry> e) {
    if (counting_ && e.ok() && e->node.value != 0) Take(e->node);
    return e;
  }
  Result<Created> CountCreated(Result<Created> c) {
    if (counting_ && c.ok()) Take(c->entry.node);
    return c;
  }
  void Take(NodeId node) {
    Shard& s = refs_[node.value % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.count[node.value];
  }
  // True when `node`'s last counted reference went.
  bool Drop(NodeId node, uint64_t n) {
    Shard& s = refs_[node.value % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.count.find(node.value);
    if (it == s.count.end()) return false;
    if (it->second > n) {
      it->second -= n;
      return false;
    }
    s.count.erase(it);
    return true;
  }

  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, uint64_t> count;
  };
  std::vector<std::unique_ptr<Module>> modules_;  // outermost first
  const bool counting_;  // some module keeps per-inode state (NodeState)
  std::array<Shard, kShards> refs_;
};

}  // namespace ptfs
