#include "tests/fakekernel/fake_kernel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "abi/fuse_draft_inode_passthrough.h"
#include "session/inode_passthrough_adapter.h"
#include "tests/harness/host_isolation.h"

namespace ptfs::testing {

namespace {

// Isolates the test process from the host's devices (host_isolation.h) before
// any test, and so before any thread, starts.
class HostIsolationEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override { IsolateFromHostDevices(); }
};

const ::testing::Environment* const kHostIsolation =
    ::testing::AddGlobalTestEnvironment(new HostIsolationEnvironment);

}  // namespace

using namespace ptfs::abi;  // NOLINT
namespace draft = ptfs::abi::draft;

Result<std::unique_ptr<transport::Channel>> FakeDeviceControl::Clone() {
  ++clones;
  int fd = ::fcntl(server_fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Errno::Last();
  return std::unique_ptr<transport::Channel>(new transport::FdChannel(fd, true));
}

Result<int32_t> FakeDeviceControl::BackingOpen(int fd, uint32_t, uint64_t ops_mask) {
  std::lock_guard<std::mutex> lock(mu);
  ++backing_opens;
  if (ops_mask != 0) ++nonzero_ops_masks;
  if (backing_open_error) return backing_open_error;
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return Errno::Last();
  const int32_t id = next_id_++;
  open_backings[id] = dup;
  backing_ops[id] = ops_mask;
  return id;
}

std::pair<int, uint64_t> FakeDeviceControl::Backing(int32_t id) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = open_backings.find(id);
  if (it == open_backings.end()) return {-1, 0};
  return {it->second, backing_ops[id]};
}

Errno FakeDeviceControl::BackingClose(int32_t id) {
  std::lock_guard<std::mutex> lock(mu);
  ++backing_closes;
  auto it = open_backings.find(id);
  if (it == open_backings.end()) return Errno(EINVAL);
  ::close(it->second);
  open_backings.erase(it);
  backing_ops.erase(id);
  return Errno::Ok();
}

FakeKernel::FakeKernel(FakeKernelOptions options) {
  char tmpl[] = "/tmp/ptfs-fakekernel-XXXXXX";
  own_source_ = options.source.empty();
  const char* dir = own_source_ ? ::mkdtemp(tmpl) : options.source.c_str();
  if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
  source_ = dir;
  if (!DevicesUnreachableUnder(source_)) {
    std::filesystem::remove(source_);
    throw std::runtime_error(
        "SOURCE " + source_ +
        " could hold a usable device node: run IsolateFromHostDevices() first");
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    throw std::runtime_error("socketpair failed");
  }
  kernel_fd_ = sv[0];
  server_fd_ = sv[1];
  // Large messages (1 MiB writes) need room in the socket buffers.
  int size = 4 << 20;
  ::setsockopt(kernel_fd_, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
  ::setsockopt(server_fd_, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));

  options.fs.source = source_;
  auto fs = mirror::MirrorFs::Create(options.fs);
  if (!fs.ok()) throw std::runtime_error("MirrorFs::Create failed");
  fs_ = std::move(*fs);
  control_ = std::make_unique<FakeDeviceControl>(server_fd_);
  session::SessionOptions sopts;
  sopts.init.wanted_flags = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC |
                            FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_FLOCK_LOCKS |
                            FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
                            FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_SETXATTR_EXT |
                            FUSE_INIT_EXT | FUSE_POSIX_ACL | FUSE_HANDLE_KILLPRIV_V2;
  sopts.forgotten = options.forgotten;
  if (options.draft_inode_passthrough) options.offered_flags |= draft::FUSE_PASSTHROUGH_INO;
  // What the daemon asks for, as cmd/passthroughfs does.
  sopts.init.wanted_flags |=
      session::WantedInodePassthroughFlags(options.fs.inode_passthrough_ops, options.passthrough);
  if (options.passthrough) {
    sopts.init.wanted_flags |= FUSE_PASSTHROUGH;
    registrar_ = std::make_unique<session::DeviceBackingRegistrar>(control_.get());
    fs_->SetBackingRegistrar(registrar_.get());
  }
  if (options.decorate) decorator_ = options.decorate(fs_.get());
  session_ = std::make_unique<session::Session>(
      decorator_ ? decorator_.get() : static_cast<FileSystem*>(fs_.get()), sopts);
  if (options.before_serving) options.before_serving(*session_, *fs_);
  server_ = std::make_unique<session::Server>(
      session_.get(), control_.get(),
      std::make_unique<transport::FdChannel>(server_fd_, /*owned=*/false), options.threads);
  server_thread_ = std::thread([this] { server_result_ = server_->Run(); });
  reader_thread_ = std::thread([this] { ReaderLoop(); });
  if (options.init) {
    KernelReply r = Init(kKernelVersion, options.minor, options.offered_flags);
    EXPECT_EQ(r.error(), 0);
  }
}

FakeKernel::~FakeKernel() {
  (void)Shutdown();
  std::error_code ec;
  if (own_source_) std::filesystem::remove_all(source_, ec);
}

Errno FakeKernel::Shutdown() {
  if (shut_down_) return server_result_;
  shut_down_ = true;
  // Shutting the kernel's end down makes every worker's read return EOF
  // (ENODEV) and ends the reader.
  ::shutdown(kernel_fd_, SHUT_RDWR);
  server_thread_.join();
  reader_thread_.join();
  ::close(kernel_fd_);
  ::close(server_fd_);
  return server_result_;
}

std::vector<char> FakeKernel::Encode(const RequestBuilder& req, uint64_t unique) {
  fuse_in_header h{};
  h.len = static_cast<uint32_t>(sizeof(h) + req.body.size());
  h.opcode = req.opcode;
  h.unique = unique;
  h.nodeid = req.nodeid;
  h.uid = req.uid;
  h.gid = req.gid;
  h.pid = req.pid;
  std::vector<char> msg(sizeof(h) + req.body.size());
  std::memcpy(msg.data(), &h, sizeof(h));
  if (!req.body.empty()) std::memcpy(msg.data() + sizeof(h), req.body.data(), req.body.size());
  return msg;
}

namespace {

// The exact payload size of a successful reply, or -1 when it varies.
// `entry2`: the draft inode-passthrough entry replies are in force.
long ExpectedReplySize(uint32_t opcode, bool entry2) {
  const long entry = entry2 ? sizeof(draft::fuse_entry2_out) : sizeof(fuse_entry_out);
  switch (opcode) {
    case FUSE_LOOKUP: case FUSE_MKNOD: case FUSE_MKDIR: case FUSE_SYMLINK: case FUSE_LINK:
      return entry;
    case FUSE_CREATE: case FUSE_TMPFILE:
      return entry + static_cast<long>(sizeof(fuse_open_out));
    case FUSE_GETATTR: case FUSE_SETATTR:
      return sizeof(fuse_attr_out);
    case FUSE_STATX:
      return sizeof(fuse_statx_out);
    case FUSE_OPEN: case FUSE_OPENDIR:
      return sizeof(fuse_open_out);
    case FUSE_WRITE: case FUSE_COPY_FILE_RANGE:
      return sizeof(fuse_write_out);
    case FUSE_COPY_FILE_RANGE_64:
      return sizeof(fuse_copy_file_range_out);
    case FUSE_STATFS:
      return sizeof(fuse_statfs_out);
    case FUSE_GETLK:
      return sizeof(fuse_lk_out);
    case FUSE_LSEEK:
      return sizeof(fuse_lseek_out);
    case FUSE_INIT:
      return sizeof(fuse_init_out);
    case FUSE_READ: case FUSE_READDIR: case FUSE_READDIRPLUS: case FUSE_READLINK:
    case FUSE_GETXATTR: case FUSE_LISTXATTR:
      return -1;
    default:
      return 0;
  }
}

}  // namespace

void FakeKernel::ReaderLoop() {
  std::vector<char> buf(4 << 20);
  for (;;) {
    ssize_t n = ::recv(kernel_fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return;  // shut down
    KernelReply r;
    if (n < static_cast<ssize_t>(sizeof(fuse_out_header))) {
      ADD_FAILURE() << "short reply (" << n << " bytes)";
      continue;
    }
    std::memcpy(&r.header, buf.data(), sizeof(r.header));
    r.payload.assign(buf.data() + sizeof(r.header), buf.data() + n);
    std::unique_lock<std::mutex> lock(replies_mu_);
    auto it = pending_.find(r.header.unique);
    if (it == pending_.end()) {
      ADD_FAILURE() << "reply to unique " << r.header.unique << ", which awaits no reply";
      continue;
    }
    const uint32_t opcode = it->second;
    pending_.erase(it);
    EXPECT_EQ(r.header.len, static_cast<uint32_t>(n)) << "reply length field, opcode " << opcode;
    EXPECT_LE(r.header.error, 0) << "reply error must be 0 or a negated errno";
    EXPECT_GT(r.header.error, -4096) << "reply error out of range";
    if (r.header.error != 0) {
      EXPECT_TRUE(r.payload.empty()) << "error replies carry no payload, opcode " << opcode;
    } else {
      const long want = ExpectedReplySize(opcode, entry2_.load());
      if (want >= 0) {
        EXPECT_EQ(static_cast<long>(r.payload.size()), want) << "reply size, opcode " << opcode;
      }
    }
    replies_.emplace(r.header.unique, std::move(r));
    replies_cv_.notify_all();
  }
}

KernelReply FakeKernel::Receive(uint64_t unique) {
  std::unique_lock<std::mutex> lock(replies_mu_);
  if (!replies_cv_.wait_for(lock, std::chrono::seconds(10),
                            [&] { return replies_.count(unique) != 0; })) {
    ADD_FAILURE() << "no reply to unique " << unique << " in 10 s";
    KernelReply r;
    r.header.error = -ETIMEDOUT;
    return r;
  }
  KernelReply r = std::move(replies_.at(unique));
  replies_.erase(unique);
  return r;
}

void FakeKernel::Send(const std::vector<char>& msg, uint64_t unique, uint32_t opcode,
                      bool expect_reply) {
  if (expect_reply) {
    std::lock_guard<std::mutex> lock(replies_mu_);
    pending_[unique] = opcode;
  }
  if (::send(kernel_fd_, msg.data(), msg.size(), 0) != static_cast<ssize_t>(msg.size())) {
    ADD_FAILURE() << "send failed: " << strerror(errno);
  }
}

void FakeKernel::Track(uint32_t opcode, const KernelReply& r) {
  if (r.header.error != 0) return;
  std::lock_guard<std::mutex> lock(refs_mu_);
  switch (opcode) {
    case FUSE_LOOKUP: case FUSE_MKNOD: case FUSE_MKDIR: case FUSE_SYMLINK: case FUSE_LINK:
    case FUSE_CREATE: case FUSE_TMPFILE: {
      const auto e = r.As<fuse_entry_out>();  // nodeid is first in both layouts
      if (e.nodeid != 0) ++refs_[e.nodeid];
      if (entry2_ && e.nodeid != 0) {
        const auto e2 = r.As<draft::fuse_entry2_out>();
        // The kernel keeps the first backing it attached for the inode's life.
        if (e2.backing_id != 0) backing_of_.emplace(e2.nodeid, e2.backing_id);
      }
      break;
    }
    case FUSE_READDIRPLUS: {
      size_t off = 0;
      while (off + sizeof(fuse_direntplus) <= r.payload.size()) {
        fuse_direntplus d;
        std::memcpy(&d, r.payload.data() + off, sizeof(d));
        if (d.entry_out.nodeid != 0) ++refs_[d.entry_out.nodeid];
        off += (sizeof(fuse_direntplus) + d.dirent.namelen + 7) & ~size_t{7};
      }
      break;
    }
    default:
      break;
  }
}

KernelReply FakeKernel::Call(const RequestBuilder& req) {
  const uint64_t unique = NextUnique();
  Send(Encode(req, unique), unique, req.opcode, true);
  KernelReply r = Receive(unique);
  Track(req.opcode, r);
  return r;
}

void FakeKernel::Post(const RequestBuilder& req) {
  const uint64_t unique = NextUnique();
  Send(Encode(req, unique), unique, req.opcode, false);
}

KernelReply FakeKernel::SendRaw(const std::vector<char>& bytes, bool expect_reply) {
  uint64_t unique = 0;
  uint32_t opcode = 0;
  if (bytes.size() >= 16) std::memcpy(&unique, bytes.data() + 8, 8);
  if (bytes.size() >= 8) std::memcpy(&opcode, bytes.data() + 4, 4);
  // Malformed requests are answered with an error: no payload expected.
  Send(bytes, unique, 0, expect_reply);
  if (!expect_reply) return {};
  return Receive(unique);
}

KernelReply FakeKernel::Init(uint32_t major, uint32_t minor, uint64_t flags) {
  fuse_init_in in{};
  in.major = major;
  in.minor = minor;
  in.max_readahead = 128 * 1024;
  in.flags = static_cast<uint32_t>(flags) | (minor >= 36 ? FUSE_INIT_EXT : 0);
  in.flags2 = static_cast<uint32_t>(flags >> 32);
  RequestBuilder b{FUSE_INIT, 0};
  b.Arg(in);
  if (minor < 36) b.body.resize(kCompatInitInSize);  // pre-7.36 kernels send 16 bytes
  const uint64_t unique = NextUnique();
  Send(Encode(b, unique), unique, FUSE_INIT, true);
  KernelReply r = Receive(unique);
  if (r.error() == 0 && r.payload.size() >= sizeof(fuse_init_out)) {
    const auto out = r.As<fuse_init_out>();
    const uint64_t accepted = out.flags | static_cast<uint64_t>(out.flags2) << 32;
    // A server may only accept what was offered.
    EXPECT_EQ(accepted & ~(flags | FUSE_INIT_EXT), 0u) << "INIT reply accepts unoffered flags";
    entry2_ = (accepted & draft::FUSE_PASSTHROUGH_INO) != 0 &&
              (flags & draft::FUSE_PASSTHROUGH_INO) != 0;
  }
  return r;
}

KernelReply FakeKernel::Lookup(uint64_t parent, std::string_view name) {
  return Call(RequestBuilder{FUSE_LOOKUP, parent}.Name(name));
}

KernelReply FakeKernel::GetAttr(uint64_t node) {
  return Call(RequestBuilder{FUSE_GETATTR, node}.Arg(fuse_getattr_in{}));
}

KernelReply FakeKernel::MkDir(uint64_t parent, std::string_view name, uint32_t mode) {
  return Call(RequestBuilder{FUSE_MKDIR, parent}.Arg(fuse_mkdir_in{mode, 022}).Name(name));
}

KernelReply FakeKernel::Create(uint64_t parent, std::string_view name, uint32_t flags,
                               uint32_t mode) {
  return Call(RequestBuilder{FUSE_CREATE, parent}
                  .Arg(fuse_create_in{flags, S_IFREG | mode, 022, 0})
                  .Name(name));
}

KernelReply FakeKernel::Open(uint64_t node, uint32_t flags) {
  return Call(RequestBuilder{FUSE_OPEN, node}.Arg(fuse_open_in{flags, 0}));
}

KernelReply FakeKernel::OpenDir(uint64_t node) {
  return Call(RequestBuilder{FUSE_OPENDIR, node}.Arg(fuse_open_in{O_RDONLY | O_DIRECTORY, 0}));
}

KernelReply FakeKernel::Write(uint64_t node, uint64_t fh, uint64_t off, std::string_view data) {
  fuse_write_in in{};
  in.fh = fh;
  in.offset = off;
  in.size = static_cast<uint32_t>(data.size());
  return Call(RequestBuilder{FUSE_WRITE, node}.Arg(in).Bytes(data));
}

KernelReply FakeKernel::Read(uint64_t node, uint64_t fh, uint64_t off, uint32_t size) {
  fuse_read_in in{};
  in.fh = fh;
  in.offset = off;
  in.size = size;
  return Call(RequestBuilder{FUSE_READ, node}.Arg(in));
}

KernelReply FakeKernel::ReadDir(uint32_t opcode, uint64_t node, uint64_t fh, uint64_t off,
                                uint32_t size) {
  fuse_read_in in{};
  in.fh = fh;
  in.offset = off;
  in.size = size;
  return Call(RequestBuilder{opcode, node}.Arg(in));
}

KernelReply FakeKernel::Release(uint64_t node, uint64_t fh, uint32_t opcode) {
  fuse_release_in in{};
  in.fh = fh;
  return Call(RequestBuilder{opcode, node}.Arg(in));
}

int32_t FakeKernel::BackingOf(uint64_t node) const {
  std::lock_guard<std::mutex> lock(refs_mu_);
  auto it = backing_of_.find(node);
  return it == backing_of_.end() ? 0 : it->second;
}

void FakeKernel::Forget(uint64_t node, uint64_t n) {
  {
    std::lock_guard<std::mutex> lock(refs_mu_);
    auto it = refs_.find(node);
    if (it != refs_.end()) {
      it->second -= std::min(it->second, n);
      if (it->second == 0) {
        refs_.erase(it);
        backing_of_.erase(node);  // the inode is evicted with its backing
      }
    }
  }
  Post(RequestBuilder{FUSE_FORGET, node}.Arg(fuse_forget_in{n}));
  WaitForForgets();
}

void FakeKernel::WaitForForgets() {
  // FORGETs get no reply, and with several workers a request sent after one
  // may be answered before it is done: wait for the session to count it.
  const uint64_t posted = forgets_posted_.fetch_add(1) + 1;
  if (!Eventually([&] { return session().ForgetsProcessed() >= posted; })) {
    ADD_FAILURE() << "the server did not process FORGET number " << posted;
  }
}

std::map<uint64_t, uint64_t> FakeKernel::outstanding() const {
  std::lock_guard<std::mutex> lock(refs_mu_);
  return refs_;
}

void FakeKernel::ForgetAll() {
  std::map<uint64_t, uint64_t> refs;
  {
    std::lock_guard<std::mutex> lock(refs_mu_);
    refs.swap(refs_);
    backing_of_.clear();
  }
  if (refs.empty()) return;
  RequestBuilder b{FUSE_BATCH_FORGET, 0};
  b.Arg(fuse_batch_forget_in{static_cast<uint32_t>(refs.size()), 0});
  for (const auto& [node, n] : refs) b.Arg(fuse_forget_one{node, n});
  Post(b);
  WaitForForgets();
}

}  // namespace ptfs::testing
