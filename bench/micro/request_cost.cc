// Server cost per request: decode + handler + encode for GETATTR, LOOKUP and
// READDIRPLUS, and of a CREATE + RELEASE + UNLINK cycle with each policy
// module in front of the mirror (and none), in-process, with no kernel in
// the way. The real Session
// decodes each message and dispatches it to a real MirrorFs on a
// temporary directory; the reply goes to a channel that only counts bytes.
//
// Two ways to run it:
//   build/bench/request_cost                      Google Benchmark, ns/request
//   bench/request_cost.sh                         callgrind instructions/request
// The second runs `request_cost --count=N OP` under valgrind: instruction
// counts are stable on a noisy VM, so a regression shows as a number.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "abi/fuse_abi.h"
#include "mirror/mirror_fs.h"
#include "modules/audit.h"
#include "modules/audit_log.h"
#include "modules/hide.h"
#include "modules/map_owner.h"
#include "modules/read_only.h"
#include "ptfs/module.h"
#include "session/session.h"
#include "transport/channel.h"
#include "util/log.h"

namespace ptfs::bench {
namespace {

using namespace ptfs::abi;  // NOLINT

// Swallows replies; remembers the last one's size and error.
class CountingChannel final : public transport::Channel {
 public:
  Result<size_t> Receive(std::span<char>) override { return Errno(ENODEV); }
  Errno Send(std::span<const struct iovec> iov) override {
    size_t n = 0;
    for (const auto& v : iov) n += v.iov_len;
    last_size = n;
    fuse_out_header h;
    std::memcpy(&h, iov[0].iov_base, sizeof(h));
    last_error = h.error;
    last_payload.assign(static_cast<const char*>(iov.size() > 1 ? iov[1].iov_base : nullptr),
                        iov.size() > 1 ? iov[1].iov_len : 0);
    return Errno::Ok();
  }
  size_t last_size = 0;
  int32_t last_error = 0;
  std::string last_payload;
};

template <typename T>
std::string_view Bytes(const T& v) {
  return {reinterpret_cast<const char*>(&v), sizeof(T)};
}

std::string Message(uint32_t opcode, uint64_t nodeid, std::string_view arg,
                          std::string_view name = {}) {
  fuse_in_header h{};
  std::string body(arg);
  if (!name.empty()) {
    body += name;
    body += '\0';
  }
  h.len = static_cast<uint32_t>(sizeof(h) + body.size());
  h.opcode = opcode;
  h.unique = 2;
  h.nodeid = nodeid;
  std::string m(Bytes(h));
  m += body;
  return m;
}

// A Session over a MirrorFs on a fresh directory of `files` files, with the
// policy modules `policy` names in front ("none", "hide", "read-only",
// "audit", "map-owner" or "all": the bench suite's ptfs-* variants).
class Rig {
 public:
  explicit Rig(int files, const std::string& policy = "none") {
    char tmpl[] = "/tmp/ptfs-reqcost-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    for (int i = 0; i < files; ++i) {
      int fd = ::open((dir_ + "/f" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0644);
      ::close(fd);
    }
    mirror::MirrorOptions o;
    o.source = dir_;
    // The cost of entries with attributes: nothing looks the listed files
    // up here, so the ListingAdvisor would soon send them bare.
    o.listing_attributes = mirror::MirrorOptions::ListingAttributes::kAll;
    auto fs = mirror::MirrorFs::Create(o);
    if (!fs.ok()) {
      std::fprintf(stderr, "cannot serve %s\n", dir_.c_str());
      std::exit(1);
    }
    fs_ = std::move(fs.value());
    FileSystem* served = fs_.get();
    if (policy != "none") {
      std::vector<ModuleChain::Factory> chain;
      const bool all = policy == "all";
      if (all || policy == "audit") {
        audit_ = std::make_unique<modules::AuditLog>(
            dir_ + ".audit", modules::AuditLog::OnFailure::kRefuse, [](const std::string&) {});
        if (audit_->Open()) std::exit(1);
        chain.push_back([this](FileSystem* inner) {
          return std::make_unique<modules::AuditModule>(inner, audit_.get(), false);
        });
      }
      if (all || policy == "hide") {
        chain.push_back([](FileSystem* inner) {
          return std::make_unique<modules::HideModule>(
              inner, std::vector<std::string>{"*.key", "secret*", "build/*/cache"});
        });
      }
      if (all || policy == "read-only") {
        chain.push_back([](FileSystem* inner) {
          return std::make_unique<modules::ReadOnlyModule>(
              inner, std::vector<std::string>{"elsewhere/frozen"});
        });
      }
      if (all || policy == "map-owner") {
        chain.push_back([](FileSystem* inner) {
          return std::make_unique<modules::MapOwnerModule>(
              inner, std::vector<modules::IdMap>{{4242, 4343}},
              std::vector<modules::IdMap>{{4242, 4343}});
        });
      }
      if (chain.empty()) {
        std::fprintf(stderr, "unknown policy %s\n", policy.c_str());
        std::exit(2);
      }
      chain_ = std::make_unique<ModuleChain>(fs_.get(), chain);
      served = chain_.get();
    }
    session_ = std::make_unique<session::Session>(served, session::SessionOptions{});
    bufs_ = std::make_unique<session::WorkerBuffers>(session::kRequestBufferSize);
    fuse_init_in in{};
    in.major = kKernelVersion;
    in.minor = kKernelMinorVersion;
    in.flags = FUSE_INIT_EXT;
    Send(Message(FUSE_INIT, 0, Bytes(in)));
  }
  ~Rig() {
    session_.reset();
    chain_.reset();
    fs_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (audit_) std::filesystem::remove(dir_ + ".audit", ec);
  }
  void Send(const std::string& m) { session_->HandleMessage(m, channel_, *bufs_); }
  CountingChannel& channel() { return channel_; }

  uint64_t Lookup(const std::string& name) {
    Send(Message(FUSE_LOOKUP, kRootId, {}, name));
    fuse_entry_out e;
    std::memcpy(&e, channel_.last_payload.data(), sizeof(e));
    return e.nodeid;
  }
  uint64_t OpenDir() {
    fuse_open_in in{};
    in.flags = O_RDONLY | O_DIRECTORY;
    Send(Message(FUSE_OPENDIR, kRootId, Bytes(in)));
    fuse_open_out o;
    std::memcpy(&o, channel_.last_payload.data(), sizeof(o));
    return o.fh;
  }

 private:
  std::string dir_;
  std::unique_ptr<mirror::MirrorFs> fs_;
  std::unique_ptr<modules::AuditLog> audit_;
  std::unique_ptr<ModuleChain> chain_;
  std::unique_ptr<session::Session> session_;
  std::unique_ptr<session::WorkerBuffers> bufs_;
  CountingChannel channel_;
};

// One prepared request, sent N times. Lookup references pile up while it
// runs; the rig is torn down whole at the end.
struct Workload {
  std::unique_ptr<Rig> rig;
  std::string msg;
  size_t entries_per_request = 1;
};

Workload Prepare(const std::string& op) {
  Workload w;
  w.rig = std::make_unique<Rig>(op == "readdirplus" ? 100 : 10);
  if (op == "getattr") {
    const uint64_t node = w.rig->Lookup("f1");
    fuse_getattr_in in{};
    w.msg = Message(FUSE_GETATTR, node, Bytes(in));
  } else if (op == "lookup") {
    w.msg = Message(FUSE_LOOKUP, kRootId, {}, "f1");
    w.rig->Lookup("f1");  // the inode is known: measure the common, warm case
  } else if (op == "readdirplus") {
    fuse_read_in in{};
    in.fh = w.rig->OpenDir();
    in.size = 64 * 1024;
    w.msg = Message(FUSE_READDIRPLUS, kRootId, Bytes(in));
    w.entries_per_request = 102;  // 100 files, ".", ".."
  } else {
    std::fprintf(stderr, "unknown op %s (getattr, lookup, readdirplus)\n", op.c_str());
    std::exit(2);
  }
  w.rig->Send(w.msg);
  if (w.rig->channel().last_error != 0) {
    std::fprintf(stderr, "%s failed: %d\n", op.c_str(), w.rig->channel().last_error);
    std::exit(1);
  }
  return w;
}

void Run(benchmark::State& state, const std::string& op) {
  Workload w = Prepare(op);
  for (auto _ : state) w.rig->Send(w.msg);
  state.SetItemsProcessed(state.iterations());
  state.counters["reply_bytes"] = static_cast<double>(w.rig->channel().last_size);
}

// One CREATE + RELEASE + UNLINK (+ FORGET) of a new file, as `touch f; rm f`
// sends them, through `policy`'s modules.
class CreateCycle {
 public:
  explicit CreateCycle(const std::string& policy) : rig_(1, policy) {
    fuse_create_in in{};
    in.flags = O_CREAT | O_WRONLY;
    in.mode = S_IFREG | 0644;
    create_ = Message(FUSE_CREATE, kRootId, Bytes(in), "new");
    unlink_ = Message(FUSE_UNLINK, kRootId, {}, "new");
  }
  bool Once() {
    rig_.Send(create_);
    if (rig_.channel().last_error != 0) return false;
    fuse_entry_out e;
    fuse_open_out o;
    std::memcpy(&e, rig_.channel().last_payload.data(), sizeof(e));
    std::memcpy(&o, rig_.channel().last_payload.data() + sizeof(e), sizeof(o));
    fuse_release_in rel{};
    rel.fh = o.fh;
    rig_.Send(Message(FUSE_RELEASE, e.nodeid, Bytes(rel)));
    rig_.Send(unlink_);
    if (rig_.channel().last_error != 0) return false;
    fuse_forget_in f{};
    f.nlookup = 1;
    rig_.Send(Message(FUSE_FORGET, e.nodeid, Bytes(f)));
    return true;
  }

 private:
  Rig rig_;
  std::string create_, unlink_;
};

void RunCreate(benchmark::State& state, const std::string& policy) {
  CreateCycle cycle(policy);
  for (auto _ : state) {
    if (!cycle.Once()) {
      state.SkipWithError("create/unlink failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Getattr(benchmark::State& s) { Run(s, "getattr"); }
void BM_Lookup(benchmark::State& s) { Run(s, "lookup"); }
void BM_ReaddirPlus100(benchmark::State& s) { Run(s, "readdirplus"); }
BENCHMARK(BM_Getattr);
BENCHMARK(BM_Lookup);
BENCHMARK(BM_ReaddirPlus100);
BENCHMARK_CAPTURE(RunCreate, none, std::string("none"));
BENCHMARK_CAPTURE(RunCreate, hide, std::string("hide"));
BENCHMARK_CAPTURE(RunCreate, read_only, std::string("read-only"));
BENCHMARK_CAPTURE(RunCreate, audit, std::string("audit"));
BENCHMARK_CAPTURE(RunCreate, map_owner, std::string("map-owner"));
BENCHMARK_CAPTURE(RunCreate, all, std::string("all"));

// --count=N OP: exactly N requests with callgrind collecting only them.
// OP "create:POLICY": N create/release/unlink cycles through POLICY.
int CountMode(long n, const std::string& op) {
  if (op.starts_with("create:")) {
    CreateCycle cycle(op.substr(7));
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
    for (long i = 0; i < n; ++i) {
      if (!cycle.Once()) return 1;
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    CALLGRIND_DUMP_STATS_AT(op.c_str());
    std::printf("%s: %ld cycles\n", op.c_str(), n);
    return 0;
  }
  Workload w = Prepare(op);
  CALLGRIND_ZERO_STATS;
  CALLGRIND_START_INSTRUMENTATION;
  for (long i = 0; i < n; ++i) w.rig->Send(w.msg);
  CALLGRIND_STOP_INSTRUMENTATION;
  CALLGRIND_DUMP_STATS_AT(op.c_str());
  std::printf("%s: %ld requests sent, last reply %zu bytes\n", op.c_str(), n,
              w.rig->channel().last_size);
  return 0;
}

}  // namespace
}  // namespace ptfs::bench

int main(int argc, char** argv) {
  ptfs::log::Configure(ptfs::log::Level::kWarning, ptfs::log::Sink::kStderr);
  if (argc == 3 && std::strncmp(argv[1], "--count=", 8) == 0) {
    return ptfs::bench::CountMode(std::atol(argv[1] + 8), argv[2]);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
