// libFuzzer target: a sequence of request messages (each prefixed by a
// 16-bit length) driven through the real Session and MirrorFs on a
// private temporary directory. Replies go to a channel that checks their
// framing. Nothing may crash, and nothing outside the directory may be
// touched (the directory lives under a fresh temp root).
//
// Inputs create device nodes and open them, which no real kernel would send
// on a nodev FUSE mount: the process first isolates itself from the host's
// devices (tests/harness/host_isolation.h; issue 17, where an input wrote to a
// loop device of the CI machine). The server logs errors only: most inputs
// are malformed, and a warning for each rejected one filled 2.5 GB in 10
// minutes. A summary with the counts is printed at exit instead.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "abi/fuse_abi.h"
#include "mirror/mirror_fs.h"
#include "session/session.h"
#include "tests/harness/host_isolation.h"
#include "transport/channel.h"
#include "util/log.h"

namespace {

// What the inputs did, for the summary at exit (libFuzzer runs inputs on one
// thread).
struct Counts {
  uint64_t inputs = 0;
  uint64_t messages = 0;
  uint64_t rejected = 0;  // of worlds already replaced
  uint64_t replies_ok = 0;
  uint64_t replies_error = 0;
  uint64_t worlds = 0;
};
Counts counts;

class CheckingChannel final : public ptfs::transport::Channel {
 public:
  ptfs::Result<size_t> Receive(std::span<char>) override { return ptfs::Errno(ENODEV); }
  ptfs::Errno Send(std::span<const struct iovec> iov) override {
    size_t len = 0;
    for (const auto& v : iov) len += v.iov_len;
    ptfs::abi::fuse_out_header h;
    if (iov.empty() || iov[0].iov_len != sizeof(h)) abort();
    std::memcpy(&h, iov[0].iov_base, sizeof(h));
    if (h.len != len || h.error > 0 || h.error <= -4096) abort();
    ++(h.error == 0 ? counts.replies_ok : counts.replies_error);
    return ptfs::Errno::Ok();
  }
};

struct World {
  std::string dir;
  std::unique_ptr<ptfs::mirror::MirrorFs> fs;
  std::unique_ptr<ptfs::session::Session> session;
  std::unique_ptr<ptfs::session::WorkerBuffers> bufs;
  CheckingChannel channel;
  World() {
    char tmpl[] = "/tmp/ptfs-fuzz-XXXXXX";
    dir = mkdtemp(tmpl);
    if (!ptfs::testing::DevicesUnreachableUnder(dir)) {
      fprintf(stderr, "session_fuzz: a device node in %s could reach a device\n", dir.c_str());
      abort();
    }
    ++counts.worlds;
    ptfs::mirror::MirrorOptions o;
    o.source = dir;
    auto created = ptfs::mirror::MirrorFs::Create(o);
    if (!created.ok()) abort();
    fs = std::move(created).value();
    ptfs::session::SessionOptions so;
    so.init.wanted_flags = ~0ULL;
    session = std::make_unique<ptfs::session::Session>(fs.get(), so);
    bufs = std::make_unique<ptfs::session::WorkerBuffers>(ptfs::session::kRequestBufferSize);
    // Initialize once so that later inputs reach the dispatcher.
    ptfs::abi::fuse_in_header h{};
    ptfs::abi::fuse_init_in in{};
    in.major = 7;
    in.minor = 45;
    h.len = sizeof(h) + sizeof(in);
    h.opcode = ptfs::abi::FUSE_INIT;
    h.unique = 1;
    char msg[sizeof(h) + sizeof(in)];
    std::memcpy(msg, &h, sizeof(h));
    std::memcpy(msg + sizeof(h), &in, sizeof(in));
    session->HandleMessage({msg, sizeof(msg)}, channel, *bufs);
  }
};

World* world = nullptr;  // one world: state carries across inputs

void PrintSummary() {
  const uint64_t rejected = counts.rejected + (world ? world->session->RejectedRequests() : 0);
  fprintf(stderr,
          "session_fuzz: summary: %llu inputs, %llu messages, %llu of them rejected as "
          "malformed (counted, not logged: the server logs errors only); replies: %llu OK, "
          "%llu errors (rejections included); %llu fresh SOURCE dirs\n",
          static_cast<unsigned long long>(counts.inputs),
          static_cast<unsigned long long>(counts.messages),
          static_cast<unsigned long long>(rejected),
          static_cast<unsigned long long>(counts.replies_ok),
          static_cast<unsigned long long>(counts.replies_error),
          static_cast<unsigned long long>(counts.worlds));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Before libFuzzer starts any thread (host_isolation.h).
  const auto isolation = ptfs::testing::IsolateFromHostDevices();
  fprintf(stderr, "session_fuzz: host devices: %s\n", ptfs::testing::Describe(isolation));
  ptfs::log::Configure(ptfs::log::Level::kError, ptfs::log::Sink::kStderr);
  atexit(PrintSummary);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (world == nullptr) world = new World();
  ++counts.inputs;
  // The real kernel releases every handle and forgets every inode; random
  // input does not, so start afresh before the leftovers exhaust the fds.
  if (world->fs->open_file_count() > 500 || world->fs->inode_count() > 5000) {
    std::string old = world->dir;
    counts.rejected += world->session->RejectedRequests();
    delete world;
    std::system(("rm -rf " + old).c_str());
    world = new World();
  }
  static char* msg = static_cast<char*>(aligned_alloc(4096, 1 << 17));
  while (size >= 2) {
    size_t len = static_cast<size_t>(data[0]) | static_cast<size_t>(data[1]) << 8;
    data += 2;
    size -= 2;
    if (len > size) len = size;
    std::memcpy(msg, data, len);
    ++counts.messages;
    world->session->HandleMessage({msg, len}, world->channel, *world->bufs);
    data += len;
    size -= len;
  }
  return 0;
}
