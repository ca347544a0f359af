// FakeKernel: plays the kernel's side of a FUSE connection over
// socketpair(AF_UNIX, SOCK_SEQPACKET) — one read is one message, as on
// /dev/fuse — against the real Session, Server and MirrorFs running on a
// temporary directory, in-process, with no mount and no root.
//
// It checks every reply as the kernel would: the unique matches the request,
// the length field equals the bytes received, the error is 0 or a negated
// errno, and successful replies have the exact size the opcode requires. It
// also counts the lookup references handed out, so a test can FORGET them all
// and assert the server's inode table is back to the root alone.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "abi/fuse_abi.h"
#include "mirror/mirror_fs.h"
#include "session/device_backing.h"
#include "session/server.h"
#include "session/session.h"
#include "transport/channel.h"

namespace ptfs::testing {

// Records the device ioctls the server makes.
class FakeDeviceControl final : public transport::DeviceControl {
 public:
  explicit FakeDeviceControl(int server_fd) : server_fd_(server_fd) {}
  Result<std::unique_ptr<transport::Channel>> Clone() override;
  Result<int32_t> BackingOpen(int fd, uint32_t flags, uint64_t ops_mask) override;
  Errno BackingClose(int32_t backing_id) override;

  std::atomic<int> clones{0};
  std::mutex mu;
  std::map<int32_t, int> open_backings;  // id -> dup'd fd
  std::map<int32_t, uint64_t> backing_ops;  // id -> ops_mask it was registered with
  int nonzero_ops_masks = 0;  // BACKING_OPENs that carried a (draft) ops mask
  // The backing's fd and ops mask, or {-1, 0} if `id` is not open.
  std::pair<int, uint64_t> Backing(int32_t id);
  int backing_opens = 0;
  int backing_closes = 0;
  Errno backing_open_error;  // when set, BackingOpen fails with it

 private:
  int server_fd_;
  int32_t next_id_ = 1;
};

struct KernelReply {
  abi::fuse_out_header header{};
  std::vector<char> payload;
  int error() const { return -header.error; }  // positive errno, 0 on success
  template <typename T>
  T As() const {
    T v{};
    std::memcpy(&v, payload.data(), std::min(sizeof(T), payload.size()));
    return v;
  }
};

// A CREATE or TMPFILE reply: the entry, then the open.
struct CreatedFile {
  abi::fuse_entry_out entry;
  abi::fuse_open_out open;
};
// Splits such a reply (its size is checked: a failed EXPECT otherwise).
inline CreatedFile Unpack(const KernelReply& r) {
  CreatedFile c{};
  EXPECT_EQ(r.payload.size(), sizeof(c.entry) + sizeof(c.open));
  if (r.payload.size() >= sizeof(c.entry) + sizeof(c.open)) {
    std::memcpy(&c.entry, r.payload.data(), sizeof(c.entry));
    std::memcpy(&c.open, r.payload.data() + sizeof(c.entry), sizeof(c.open));
  }
  return c;
}

// A request under construction: header fields plus body bytes.
struct RequestBuilder {
  uint32_t opcode = 0;
  uint64_t nodeid = 0;
  uint32_t uid = 0, gid = 0, pid = 1;
  std::vector<char> body;
  template <typename T>
  RequestBuilder& Arg(const T& v) {
    // resize + memcpy: g++ 12 misreads vector::insert of a struct's bytes
    // into an empty vector as an overflow (-Wstringop-overflow).
    const size_t at = body.size();
    body.resize(at + sizeof(T));
    std::memcpy(body.data() + at, &v, sizeof(T));
    return *this;
  }
  RequestBuilder& Name(std::string_view s) {  // NUL-terminated
    // resize + memcpy, as in Arg: after an Arg, g++ 12 misreads the insert
    // of a runtime-length name the same way.
    const size_t at = body.size();
    body.resize(at + s.size() + 1);
    if (!s.empty()) std::memcpy(body.data() + at, s.data(), s.size());
    body[at + s.size()] = '\0';
    return *this;
  }
  RequestBuilder& Bytes(std::string_view s) {
    body.insert(body.end(), s.begin(), s.end());
    return *this;
  }
};

struct FakeKernelOptions {
  uint32_t minor = abi::kKernelMinorVersion;
  // Play a kernel with FUSE_PASSTHROUGH: the server may register backing
  // files through the fake DeviceControl.
  bool passthrough = false;
  uint64_t offered_flags = ~0ULL >> 21;  // every mainline flag (bits 0-42)
  // Play a kernel with the DRAFT inode-passthrough series: offer
  // FUSE_PASSTHROUGH_INO (with `passthrough`, registration works).
  bool draft_inode_passthrough = false;
  int threads = 2;
  mirror::MirrorOptions fs;    // .source is filled in by the harness
  bool init = true;                      // send INIT in the constructor
  // SOURCE: empty for a fresh temporary directory (removed at the end);
  // otherwise this directory, left as it is (a restart test's second server).
  std::string source;
  // Called once the session exists, before the server reads any request
  // (a restart test takes the connection over here).
  std::function<void(session::Session&, mirror::MirrorFs&)> before_serving;
  // SessionOptions::forgotten (the daemon's memory release hook).
  std::function<void(uint64_t nodeids)> forgotten;
  // Wraps the MirrorFs in a policy layer; the session talks to the
  // result.
  std::function<std::unique_ptr<FileSystem>(FileSystem* inner)> decorate;
};

class FakeKernel {
 public:
  explicit FakeKernel(FakeKernelOptions options = {});
  ~FakeKernel();  // FORGETs nothing: call ForgetAll()/Shutdown() explicitly

  const std::string& source() const { return source_; }
  mirror::MirrorFs& fs() { return *fs_; }
  FakeDeviceControl& control() { return *control_; }
  session::Session& session() { return *session_; }

  // Sends a request and waits for its reply, checking the framing. Records
  // any failure as a gtest failure. Thread-safe: replies are routed to their
  // callers by unique, so several threads may call at once.
  KernelReply Call(const RequestBuilder& req);
  // Sends a request that gets no reply (FORGET, BATCH_FORGET, INTERRUPT).
  void Post(const RequestBuilder& req);
  // Sends raw bytes; returns the reply (if `expect_reply`).
  KernelReply SendRaw(const std::vector<char>& bytes, bool expect_reply = true);

  // Convenience wrappers; each checks framing and returns the reply.
  KernelReply Init(uint32_t major, uint32_t minor, uint64_t flags);
  KernelReply Lookup(uint64_t parent, std::string_view name);
  KernelReply GetAttr(uint64_t node);
  KernelReply MkDir(uint64_t parent, std::string_view name, uint32_t mode = 0755);
  KernelReply Create(uint64_t parent, std::string_view name, uint32_t flags, uint32_t mode = 0644);
  KernelReply Open(uint64_t node, uint32_t flags);
  KernelReply OpenDir(uint64_t node);
  KernelReply Write(uint64_t node, uint64_t fh, uint64_t off, std::string_view data);
  KernelReply Read(uint64_t node, uint64_t fh, uint64_t off, uint32_t size);
  KernelReply ReadDir(uint32_t opcode, uint64_t node, uint64_t fh, uint64_t off, uint32_t size);
  KernelReply Release(uint64_t node, uint64_t fh, uint32_t opcode = abi::FUSE_RELEASE);
  // Returns once the server has processed it.
  void Forget(uint64_t node, uint64_t n);

  // Lookup references the server has handed out and not yet been given back.
  std::map<uint64_t, uint64_t> outstanding() const;
  // FORGETs every outstanding reference (with one BATCH_FORGET).
  void ForgetAll();
  // Closes the connection and joins the server; returns what Server::Run did.
  Errno Shutdown();

  uint64_t requests_sent() const { return next_unique_ - 1; }

  // The server accepted the draft: entry replies are fuse_entry2_out.
  bool entry2() const { return entry2_.load(); }
  // The backing id the last entry reply for `node` carried (draft), or 0.
  int32_t BackingOf(uint64_t node) const;

 private:
  void Track(uint32_t opcode, const KernelReply& r);
  std::vector<char> Encode(const RequestBuilder& req, uint64_t unique);
  uint64_t NextUnique() { return next_unique_.fetch_add(1); }
  void Send(const std::vector<char>& msg, uint64_t unique, uint32_t opcode, bool expect_reply);
  KernelReply Receive(uint64_t unique);
  void ReaderLoop();

  std::string source_;
  bool own_source_ = true;  // created here, removed at the end
  int kernel_fd_ = -1;
  int server_fd_ = -1;
  std::unique_ptr<mirror::MirrorFs> fs_;
  std::unique_ptr<FileSystem> decorator_;
  std::unique_ptr<FakeDeviceControl> control_;
  std::unique_ptr<session::Session> session_;
  std::unique_ptr<session::Server> server_;
  std::unique_ptr<BackingRegistrar> registrar_;
  std::thread server_thread_;
  std::thread reader_thread_;
  std::mutex replies_mu_;
  std::condition_variable replies_cv_;
  std::map<uint64_t, uint32_t> pending_;    // unique -> opcode, awaiting a reply
  std::map<uint64_t, KernelReply> replies_;  // arrived, not yet collected
  Errno server_result_;
  bool shut_down_ = false;
  std::atomic<uint64_t> next_unique_{1};
  mutable std::mutex refs_mu_;
  std::map<uint64_t, uint64_t> refs_;  // nodeid -> references held by "the kernel"
  std::map<uint64_t, int32_t> backing_of_;  // nodeid -> backing attached (draft)
  std::atomic<bool> entry2_{false};
  // FORGET/BATCH_FORGET messages sent by Forget/ForgetAll; WaitForForgets
  // waits until the session has processed that many.
  std::atomic<uint64_t> forgets_posted_{0};
  void WaitForForgets();
};

// Waits (bounded, 2 s) for a condition that depends on unanswered requests
// (FORGET) having been processed: with several workers, a request sent
// after a FORGET may be answered before the FORGET is done.
template <typename F>
bool Eventually(F f) {
  for (int i = 0; i < 400; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

}  // namespace ptfs::testing
