#include "transport/uring.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <deque>
#include <mutex>

#include "abi/fuse_abi.h"
#include "sys/io_uring.h"
#include "transport/adaptive_poll.h"
#include "util/log.h"
#include "util/thread_annotations.h"

namespace ptfs::transport {

namespace {

constexpr size_t kPage = 4096;
constexpr uint64_t kEventfdTag = ~uint64_t{0};
// A settle marker another queue's thread sent this ring (IORING_OP_MSG_RING,
// UringTransport::SettleOtherQueues): this tag in the top 16 bits of its
// user_data, its ticket below. Entries' user_data are user-space pointers,
// which stay below 2^47.
constexpr uint64_t kMarkerTag = uint64_t{0xfffe} << 48;
constexpr uint64_t kMarkerTagMask = uint64_t{0xffff} << 48;
// The sending side of a marker: its completion is posted only on failure.
constexpr uint64_t kMarkerSentTag = ~uint64_t{1};
// How long a settling thread yields, waiting for the markers' answers,
// before it sleeps (`bench/roundtrip.sh 3 locks` measured it).
constexpr auto kSettleSpin = std::chrono::microseconds(200);
// The command area of a 128-byte SQE starts where addr3 is.
constexpr size_t kSqeCmdOffset = offsetof(struct io_uring_sqe, addr3);
static_assert(kSqeCmdOffset == 48);
static_assert(sizeof(abi::fuse_uring_cmd_req) <= 128 - kSqeCmdOffset);
static_assert(sizeof(abi::fuse_uring_req_header) <= kPage);

const char* CmdName(uint32_t cmd) {
  return cmd == abi::FUSE_IO_URING_CMD_REGISTER ? "REGISTER" : "COMMIT_AND_FETCH";
}

// Reads a small sysfs/procfs file; nullopt-like empty result with ok=false.
bool ReadSmallFile(const char* path, std::string* out) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n < 0) return false;
  out->assign(buf, static_cast<size_t>(n));
  while (!out->empty() && (out->back() == '\n' || out->back() == ' ')) out->pop_back();
  return true;
}

}  // namespace

UringSupport DescribeUringSupport(const char* enable_uring_param, Errno ring_setup) {
  UringSupport s;
  if (enable_uring_param == nullptr) {
    s.why_not =
        "the kernel has no FUSE io_uring support (no /sys/module/fuse/parameters/enable_uring; "
        "needs Linux 6.14+ built with CONFIG_FUSE_IO_URING)";
  } else if (std::string_view(enable_uring_param) != "Y") {
    s.why_not = std::string(
                    "FUSE io_uring is disabled (/sys/module/fuse/parameters/enable_uring "
                    "is ") +
                enable_uring_param + "; as root: echo Y > that file)";
  } else if (ring_setup) {
    s.why_not = std::string("io_uring_setup with 128-byte SQEs failed: ") +
                strerror(ring_setup.value()) +
                " (io_uring disabled by sysctl kernel.io_uring_disabled, or by a seccomp filter?)";
  } else {
    s.available = true;
  }
  return s;
}

UringSupport ProbeUringSupport() {
  std::string param;
  const bool have_param = ReadSmallFile("/sys/module/fuse/parameters/enable_uring", &param);
  Errno setup = Errno::Ok();
  if (have_param && param == "Y") {
    auto ring = sys::IoUring::Create(4, 0, IORING_SETUP_SQE128);
    if (!ring.ok()) setup = ring.error();
  }
  return DescribeUringSupport(have_param ? param.c_str() : nullptr, setup);
}

int CpuListCount(std::string_view list) {
  int highest = -1;
  size_t i = 0;
  while (i < list.size()) {
    size_t j = i;
    int value = 0;
    bool digits = false;
    while (j < list.size() && list[j] >= '0' && list[j] <= '9') {
      value = value * 10 + (list[j] - '0');
      digits = true;
      ++j;
    }
    if (!digits) return 0;
    highest = std::max(highest, value);
    if (j < list.size()) {
      if (list[j] != '-' && list[j] != ',') return 0;
      if (++j == list.size()) return 0;  // a separator must be followed by a number
    }
    i = j;
  }
  return highest + 1;
}

int PossibleCpus() {
  std::string list;
  if (ReadSmallFile("/sys/devices/system/cpu/possible", &list)) {
    const int n = CpuListCount(list);
    if (n > 0) return n;
  }
  const long conf = ::sysconf(_SC_NPROCESSORS_CONF);
  return conf > 0 ? static_cast<int>(conf) : 1;
}

// ---------------------------------------------------------------------------

// One ring entry: its buffers, and the Channel that answers the request it
// holds. Memory: [header page][prefix page][payload]. The kernel gets the
// header page (fuse_uring_req_header) and the payload; a request is rebuilt
// contiguously by copying its in-header and fixed argument into the end of
// the prefix page, right before its payload.
class UringEntry final : public Channel {
 public:
  enum class State {
    kIdle,      // not registered, or its command failed for good
    kInKernel,  // a REGISTER / COMMIT_AND_FETCH is outstanding
    kInUser,    // holds a request (being handled, or its reply held elsewhere)
  };

  UringEntry(UringQueue* queue, char* mem, size_t mem_size, size_t payload_size)
      : queue_(queue), mem_(mem), mem_size_(mem_size), payload_size_(payload_size) {
    iov[0] = {mem_, sizeof(abi::fuse_uring_req_header)};
    iov[1] = {payload(), payload_size_};
  }
  ~UringEntry() override { ::munmap(mem_, mem_size_); }

  Result<size_t> Receive(std::span<char>) override { return Errno(EOPNOTSUPP); }
  Errno Send(std::span<const struct iovec> iov) override;

  abi::fuse_uring_req_header* header() {
    return reinterpret_cast<abi::fuse_uring_req_header*>(mem_);
  }
  char* payload() { return mem_ + 2 * kPage; }
  size_t payload_size() const { return payload_size_; }

  struct iovec iov[abi::kUringIovSegments];
  uint64_t commit_id = 0;
  uint32_t last_cmd = abi::FUSE_IO_URING_CMD_REGISTER;
  State state = State::kIdle;  // owned by the queue thread

 private:
  UringQueue* queue_;
  char* mem_;
  size_t mem_size_;
  size_t payload_size_;
};

class UringQueue {
 public:
  UringQueue(int qid, const UringConfig& config, std::unique_ptr<sys::IoUring> ring, int eventfd)
      : qid_(qid), config_(config), ring_(std::move(ring)), eventfd_(eventfd) {}
  ~UringQueue() {
    entries_.clear();
    ring_.reset();
    ::close(eventfd_);
  }

  void Run(const UringHandler& handler);
  // Hands `entry` back to the kernel with its reply; from any thread.
  Errno Commit(UringEntry* entry);

  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t registered() const { return registered_.load(std::memory_order_relaxed); }
  uint64_t poll_hits() const { return poll_hits_.load(std::memory_order_relaxed); }
  uint64_t poll_misses() const { return poll_misses_.load(std::memory_order_relaxed); }

  // On this queue's thread, from a handler: sends every other serving queue
  // a marker and waits until each has handled it (or is settling itself, or
  // stops), at most `limit`. False if one did not answer in time.
  bool SettleOthers(const std::vector<std::unique_ptr<UringQueue>>& all,
                    std::chrono::nanoseconds limit);

 private:
  void PollForMore(int64_t window_ns, const UringHandler& handler,
                   std::chrono::steady_clock::time_point& last_request);
  bool AddEntry();
  void Prep(UringEntry* entry, uint32_t cmd);
  void ArmEventfd();
  struct io_uring_sqe* TakeSqe();
  // Acknowledges the markers the last batch held, once the replies prepared
  // meanwhile are submitted and what that hands over is handled too.
  void AckMarkers(const UringHandler& handler);
  // Wakes the threads waiting in SettleOthers for this queue, after a change
  // of what they wait for (settle_acked_, settling_, serving_).
  void NotifySettleWaiters();
  void DrainHandedBack();
  void OnCompletion(const struct io_uring_cqe& cqe, const UringHandler& handler);
  void HandleRequest(UringEntry* entry, const UringHandler& handler);
  void MaybeGrow();

  const int qid_;
  const UringConfig config_;
  std::unique_ptr<sys::IoUring> ring_;
  const int eventfd_;
  uint64_t eventfd_value_ = 0;  // the eventfd READ's buffer

  // Queue-thread state.
  std::vector<std::unique_ptr<UringEntry>> entries_;
  int in_kernel_ = 0;       // entries with an outstanding command
  int held_elsewhere_ = 0;  // entries whose reply another thread will send
  bool ended_ = false;      // the connection ended
  bool grow_warned_ = false;

  // Replies sent from other threads, waiting for this queue's thread.
  Mutex mu_;
  std::deque<UringEntry*> handed_back_ GUARDED_BY(mu_);
  bool stopped_ GUARDED_BY(mu_) = false;

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> registered_{0};
  std::atomic<uint64_t> poll_hits_{0};    // batches of requests found while polling
  std::atomic<uint64_t> poll_misses_{0};  // poll windows that ended without one

  // Settling (SettleOthers). Tickets are given out to the other queues'
  // threads; settle_acked_ is the highest whose marker this thread handled.
  std::atomic<uint64_t> settle_asked_{0};
  std::atomic<uint64_t> settle_acked_{0};
  std::atomic<bool> settling_{false};  // this thread waits in SettleOthers
  std::atomic<bool> serving_{false};   // the ring is enabled and its loop runs
  std::mutex settle_mu_;               // with settle_cv_: for the waiters
  std::condition_variable settle_cv_;
  uint64_t marker_seen_ = 0;  // queue-thread state: highest ticket not yet acknowledged
};

namespace {
thread_local UringQueue* tls_queue = nullptr;  // the queue whose thread this is
}  // namespace

Errno UringEntry::Send(std::span<const struct iovec> iov_in) {
  abi::fuse_out_header out{};
  if (!iov_in.empty()) {
    std::memcpy(&out, iov_in[0].iov_base, std::min(sizeof(out), iov_in[0].iov_len));
  }
  size_t len = 0;
  for (size_t i = 1; i < iov_in.size(); ++i) len += iov_in[i].iov_len;
  Errno result = Errno::Ok();
  if (len > payload_size_) {
    // Cannot happen for replies sized by the kernel's own limits; answer
    // rather than leave the caller waiting.
    LOG_ERROR("reply of %zu bytes to unique %llu does not fit the %zu-byte ring payload; EIO", len,
              static_cast<unsigned long long>(out.unique), payload_size_);
    out.error = -EIO;
    len = 0;
    result = Errno(EIO);
  } else {
    char* dst = payload();
    for (size_t i = 1; i < iov_in.size(); ++i) {
      // A reply built in place (reply_area) is already where it belongs.
      if (iov_in[i].iov_base != dst && iov_in[i].iov_len > 0) {
        std::memmove(dst, iov_in[i].iov_base, iov_in[i].iov_len);
      }
      dst += iov_in[i].iov_len;
    }
  }
  out.len = static_cast<uint32_t>(sizeof(out) + len);
  abi::fuse_uring_req_header* h = header();
  std::memcpy(h->in_out, &out, sizeof(out));
  h->ring_ent_in_out.payload_sz = static_cast<uint32_t>(len);
  Errno e = queue_->Commit(this);
  return e ? e : result;
}

Errno UringQueue::Commit(UringEntry* entry) {
  if (tls_queue == this) {
    Prep(entry, abi::FUSE_IO_URING_CMD_COMMIT_AND_FETCH);  // submitted by the loop
    return Errno::Ok();
  }
  {
    MutexLock lock(&mu_);
    if (stopped_) return Errno(ENOTCONN);
    handed_back_.push_back(entry);
  }
  const uint64_t one = 1;
  if (::write(eventfd_, &one, sizeof(one)) != sizeof(one)) {
    LOG_ERROR("queue %d: waking the ring thread failed: %s", qid_, strerror(errno));
  }
  return Errno::Ok();
}

bool UringQueue::AddEntry() {
  const size_t size = 2 * kPage + config_.payload_size;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    LOG_ERROR("queue %d: allocating a ring entry failed: %s", qid_, strerror(errno));
    return false;
  }
  entries_.push_back(
      std::make_unique<UringEntry>(this, static_cast<char*>(mem), size, config_.payload_size));
  Prep(entries_.back().get(), abi::FUSE_IO_URING_CMD_REGISTER);
  registered_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

struct io_uring_sqe* UringQueue::TakeSqe() {
  struct io_uring_sqe* sqe = ring_->GetSqe();
  while (sqe == nullptr) {
    // Full: hand what is queued to the kernel to make room.
    (void)ring_->Submit(/*wait=*/false);
    sqe = ring_->GetSqe();
  }
  return sqe;
}

void UringQueue::Prep(UringEntry* entry, uint32_t cmd) {
  struct io_uring_sqe* sqe = TakeSqe();
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = config_.dev_fd;
  sqe->cmd_op = cmd;
  sqe->user_data = reinterpret_cast<uint64_t>(entry);
  abi::fuse_uring_cmd_req req{};
  req.qid = static_cast<uint16_t>(qid_);
  if (cmd == abi::FUSE_IO_URING_CMD_REGISTER) {
    sqe->addr = reinterpret_cast<uint64_t>(entry->iov);
    sqe->len = abi::kUringIovSegments;
  } else {
    req.commit_id = entry->commit_id;
  }
  std::memcpy(reinterpret_cast<char*>(sqe) + kSqeCmdOffset, &req, sizeof(req));
  entry->last_cmd = cmd;
  entry->state = UringEntry::State::kInKernel;
  ++in_kernel_;
}

void UringQueue::ArmEventfd() {
  struct io_uring_sqe* sqe = TakeSqe();
  sqe->opcode = IORING_OP_READ;
  sqe->fd = eventfd_;
  sqe->addr = reinterpret_cast<uint64_t>(&eventfd_value_);
  sqe->len = sizeof(eventfd_value_);
  sqe->off = ~uint64_t{0};  // no offset: the fd's own position (eventfds have none)
  sqe->user_data = kEventfdTag;
}

bool UringQueue::SettleOthers(const std::vector<std::unique_ptr<UringQueue>>& all,
                              std::chrono::nanoseconds limit) {
  // Sequentially consistent with the loads of the others' flags below: of
  // two threads settling at once, at least one sees the other's flag and
  // does not wait for it, so two queues never wait for each other.
  settling_.store(true);
  NotifySettleWaiters();
  struct Asked {
    UringQueue* queue;
    uint64_t ticket;
  };
  std::vector<Asked> asked;
  for (const auto& other : all) {
    UringQueue* q = other.get();
    if (q == this || !q->serving_.load() || q->settling_.load()) continue;
    const uint64_t ticket = q->settle_asked_.fetch_add(1) + 1;
    struct io_uring_sqe* sqe = TakeSqe();
    sqe->opcode = IORING_OP_MSG_RING;
    sqe->fd = q->ring_->fd();
    sqe->addr = IORING_MSG_DATA;
    sqe->len = 0;                    // the marker's res
    sqe->off = kMarkerTag | ticket;  // the marker's user_data
    sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = kMarkerSentTag;
    asked.push_back({q, ticket});
  }
  bool answered = true;
  if (!asked.empty()) {
    (void)ring_->Submit(/*wait=*/false);
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + limit;
    const auto spin_until = start + kSettleSpin;
    for (const Asked& a : asked) {
      UringQueue* q = a.queue;
      auto reached = [&] {
        return q->settle_acked_.load() >= a.ticket || q->settling_.load() || !q->serving_.load();
      };
      // The other thread usually answers within a wake-up: yielding meanwhile
      // keeps this CPU from going idle, whose own wake-up would add to it.
      while (!reached() && std::chrono::steady_clock::now() < spin_until) ::sched_yield();
      std::unique_lock<std::mutex> lock(q->settle_mu_);
      answered &= q->settle_cv_.wait_until(lock, deadline, reached);
    }
  }
  settling_.store(false);
  return answered;
}

void UringQueue::NotifySettleWaiters() {
  { std::lock_guard<std::mutex> lock(settle_mu_); }  // a waiter is either waiting or re-checks
  settle_cv_.notify_all();
}

void UringQueue::AckMarkers(const UringHandler& handler) {
  while (marker_seen_ != 0) {
    const uint64_t ticket = marker_seen_;
    marker_seen_ = 0;
    // A request the kernel held back for want of a free entry is handed over
    // when an entry is committed: submit the replies prepared in the batch
    // and handle what that brings before saying the marker is reached.
    (void)ring_->Poll();
    (void)ring_->DrainCompletions([&](const struct io_uring_cqe& c) { OnCompletion(c, handler); });
    uint64_t acked = settle_acked_.load();
    while (acked < ticket && !settle_acked_.compare_exchange_weak(acked, ticket)) {
    }
    NotifySettleWaiters();
  }
}

void UringQueue::DrainHandedBack() {
  std::deque<UringEntry*> batch;
  {
    MutexLock lock(&mu_);
    batch.swap(handed_back_);
  }
  for (UringEntry* e : batch) {
    --held_elsewhere_;
    Prep(e, abi::FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
  }
}

void UringQueue::MaybeGrow() {
  const int free_entries = static_cast<int>(entries_.size()) - held_elsewhere_;
  if (free_entries >= config_.entries_per_queue) return;
  if (static_cast<int>(entries_.size()) >= kMaxEntriesPerQueue) {
    if (!grow_warned_) {
      grow_warned_ = true;
      LOG_WARN("queue %d: %d replies are held (lock waits); no more ring entries are added", qid_,
               held_elsewhere_);
    }
    return;
  }
  (void)AddEntry();
}

void UringQueue::HandleRequest(UringEntry* entry, const UringHandler& handler) {
  abi::fuse_uring_req_header* h = entry->header();
  abi::fuse_in_header in;
  std::memcpy(&in, h->in_out, sizeof(in));
  abi::fuse_uring_ent_in_out io;
  std::memcpy(&io, &h->ring_ent_in_out, sizeof(io));
  entry->commit_id = io.commit_id;
  entry->state = UringEntry::State::kInUser;
  requests_.fetch_add(1, std::memory_order_relaxed);
  // The kernel's in-header length covers every argument: the fixed one in
  // op_in and the rest in the payload.
  const size_t fixed = sizeof(in);
  if (io.payload_sz > entry->payload_size() || in.len < fixed + io.payload_sz ||
      in.len - fixed - io.payload_sz > abi::FUSE_URING_OP_IN_OUT_SZ) {
    LOG_ERROR("queue %d: malformed ring request (opcode %u, len %u, payload %u); EIO", qid_,
              in.opcode, in.len, io.payload_sz);
    abi::fuse_out_header out{static_cast<uint32_t>(sizeof(abi::fuse_out_header)), -EIO, in.unique};
    struct iovec v {
      &out, sizeof(out)
    };
    (void)entry->Send({&v, 1});
    return;
  }
  const size_t op_len = in.len - fixed - io.payload_sz;
  char* msg = entry->payload() - op_len - fixed;
  std::memcpy(msg, &in, fixed);
  std::memcpy(msg + fixed, h->op_in, op_len);
  std::span<char> reply_area;
  if (io.payload_sz == 0) reply_area = {entry->payload(), entry->payload_size()};
  handler(qid_, {msg, in.len}, *entry, reply_area);
  if (entry->state == UringEntry::State::kInUser) {
    // Not answered on this thread: another thread holds the reply (a parked
    // lock wait) and will hand the entry back through Commit.
    ++held_elsewhere_;
    MaybeGrow();
  }
}

void UringQueue::OnCompletion(const struct io_uring_cqe& cqe, const UringHandler& handler) {
  if (cqe.user_data == kEventfdTag) {
    DrainHandedBack();
    if (!ended_) ArmEventfd();
    return;
  }
  if ((cqe.user_data & kMarkerTagMask) == kMarkerTag) {
    // Markers are tickets in the order they were given out, not always in
    // the order they arrive: a later ticket reached covers an earlier one,
    // whose requests were sent before it too.
    marker_seen_ = std::max<uint64_t>(marker_seen_, cqe.user_data & ~kMarkerTagMask);
    return;
  }
  if (cqe.user_data == kMarkerSentTag) {
    // Sending a marker failed (its waiter times out).
    LOG_DEBUG("queue %d: sending a settle marker failed: %s", qid_, strerror(-cqe.res));
    return;
  }
  auto* entry = reinterpret_cast<UringEntry*>(cqe.user_data);
  --in_kernel_;
  entry->state = UringEntry::State::kIdle;
  if (cqe.res == 0) {
    HandleRequest(entry, handler);
    return;
  }
  const int err = -cqe.res;
  switch (err) {
    case EAGAIN:
    case EINTR:
      Prep(entry, entry->last_cmd);
      return;
    case ENOTCONN:
    case ECONNABORTED:
    case ECANCELED:
    case ENODEV:
      // The connection is gone (unmount, abort): the kernel completes every
      // outstanding command with an error.
      ended_ = true;
      return;
    case ENOENT:
      // The kernel no longer knew the request we answered, so it did not take
      // the entry back; its buffers are free, register them as a new entry.
      LOG_WARN("queue %d: the kernel did not find unique %llu at commit; re-registering", qid_,
               static_cast<unsigned long long>(entry->commit_id));
      Prep(entry, abi::FUSE_IO_URING_CMD_REGISTER);
      return;
    default:
      registered_.fetch_sub(1, std::memory_order_relaxed);
      if (entry->last_cmd == abi::FUSE_IO_URING_CMD_REGISTER) {
        // The kernel turns io_uring off for the connection when a
        // registration fails: requests keep coming through /dev/fuse.
        LOG_ERROR(
            "queue %d: io_uring REGISTER failed: %s; the kernel serves this connection "
            "over /dev/fuse",
            qid_, strerror(err));
      } else {
        LOG_ERROR("queue %d: io_uring %s failed: %s", qid_, CmdName(entry->last_cmd),
                  strerror(err));
      }
      return;
  }
}

// Stays awake for up to `window_ns` after the last request (replies are
// submitted by each Poll), yielding the CPU to anything runnable, so that the
// CPU is not idle when the caller is woken: see adaptive_poll.h for why.
void UringQueue::PollForMore(int64_t window_ns, const UringHandler& handler,
                             std::chrono::steady_clock::time_point& last_request) {
  using Clock = std::chrono::steady_clock;
  if (window_ns <= 0) return;
  const auto window = std::chrono::nanoseconds(window_ns);
  while (!ended_) {
    if (ring_->Poll()) return;
    unsigned got =
        ring_->DrainCompletions([&](const struct io_uring_cqe& c) { OnCompletion(c, handler); });
    AckMarkers(handler);
    Clock::time_point now = Clock::now();
    if (got > 0) {
      poll_hits_.fetch_add(1, std::memory_order_relaxed);
      last_request = now;
      continue;
    }
    if (now - last_request >= window) {
      poll_misses_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    ::sched_yield();
  }
}

void UringQueue::Run(const UringHandler& handler) {
  tls_queue = this;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(qid_, &cpus);
  if (::sched_setaffinity(0, sizeof(cpus), &cpus) < 0) {
    // An offline CPU, or one outside our cpuset: its queue still needs
    // entries (the kernel waits for every possible CPU), served unpinned.
    LOG_DEBUG("queue %d: not pinned to CPU %d: %s", qid_, qid_, strerror(errno));
  }
  if (Errno e = ring_->EnableForThisThread()) {
    LOG_ERROR("queue %d: enabling its io_uring failed: %s", qid_, strerror(e.value()));
    MutexLock lock(&mu_);
    stopped_ = true;
    return;
  }
  for (int i = 0; i < config_.entries_per_queue; ++i) {
    if (!AddEntry()) break;
  }
  ArmEventfd();
  serving_.store(true);
  using Clock = std::chrono::steady_clock;
  AdaptivePoll poll(int64_t{config_.poll_us} * 1000);
  Clock::time_point last_request{};  // when the last batch of requests was handled
  for (;;) {
    Errno e = ring_->Submit(/*wait=*/true);
    if (e && e.value() != EINTR && e.value() != EAGAIN && e.value() != EBUSY) {
      LOG_ERROR("queue %d: io_uring_enter failed: %s", qid_, strerror(e.value()));
      break;
    }
    unsigned handled =
        ring_->DrainCompletions([&](const struct io_uring_cqe& c) { OnCompletion(c, handler); });
    AckMarkers(handler);
    if (handled > 0 && poll.max_ns() > 0) {
      Clock::time_point now = Clock::now();
      if (last_request != Clock::time_point{}) {
        poll.AfterSleep(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_request).count());
      }
      last_request = now;
      PollForMore(poll.window_ns(), handler, last_request);
    }
    // Done when nothing is left in the kernel and either the connection ended
    // (replies still held elsewhere then fail with ENOTCONN) or no entry is
    // left at all (every registration failed: the kernel went back to
    // /dev/fuse).
    if (in_kernel_ == 0 && (ended_ || held_elsewhere_ == 0)) break;
  }
  serving_.store(false);
  NotifySettleWaiters();
  MutexLock lock(&mu_);
  stopped_ = true;
  handed_back_.clear();
}

// ---------------------------------------------------------------------------

UringTransport::UringTransport(const UringConfig& config) : config_(config) {}

Result<std::unique_ptr<UringTransport>> UringTransport::Create(const UringConfig& config) {
  if (config.queues <= 0 || config.entries_per_queue <= 0 || config.dev_fd < 0 ||
      config.payload_size < abi::kMinReadBuffer) {
    return Errno(EINVAL);
  }
  std::unique_ptr<UringTransport> t(new UringTransport(config));
  // Room for every entry's command plus the eventfd read; completions for as
  // many entries as a queue may grow to.
  const unsigned sq = static_cast<unsigned>(config.entries_per_queue) * 2 + 2;
  const unsigned cq = kMaxEntriesPerQueue * 2 + 8;
  for (int qid = 0; qid < config.queues; ++qid) {
    // The kernel delivers a request to its entry as task work of the queue
    // thread. DEFER_TASKRUN keeps that work on the ring, run when the thread
    // waits in io_uring_enter (which it does after every request), instead of
    // signalling the thread: no TIF_NOTIFY_SIGNAL round, a plain wake-up of a
    // thread already waiting. It needs SINGLE_ISSUER, and the one issuer is
    // the queue thread, not this one: the ring starts disabled and the queue
    // thread enables it (Run). Older kernels: COOP_TASKRUN (5.19), or none.
    auto ring = sys::IoUring::Create(sq, cq,
                                     IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
                                         IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED);
    if (!ring.ok() && ring.error().value() == EINVAL) {
      ring = sys::IoUring::Create(sq, cq, IORING_SETUP_SQE128 | IORING_SETUP_COOP_TASKRUN);
    }
    if (!ring.ok() && ring.error().value() == EINVAL) {
      ring = sys::IoUring::Create(sq, cq, IORING_SETUP_SQE128);  // kernels before 5.19
    }
    if (!ring.ok()) return ring.error();
    if (((*ring)->flags() & IORING_SETUP_DEFER_TASKRUN) == 0) t->defers_task_work_ = false;
    const int efd = ::eventfd(0, EFD_CLOEXEC);
    if (efd < 0) return Errno::Last();
    t->queues_.push_back(std::make_unique<UringQueue>(qid, config, std::move(*ring), efd));
  }
  return t;
}

UringTransport::~UringTransport() { Join(); }

void UringTransport::Start(UringHandler handler) {
  auto shared = std::make_shared<UringHandler>(std::move(handler));
  for (auto& q : queues_) {
    UringQueue* queue = q.get();
    threads_.emplace_back([queue, shared] { queue->Run(*shared); });
  }
}

void UringTransport::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

uint64_t UringTransport::SumOverQueues(uint64_t (UringQueue::*counter)() const) const {
  uint64_t n = 0;
  for (const auto& q : queues_) n += ((*q).*counter)();
  return n;
}

uint64_t UringTransport::requests() const { return SumOverQueues(&UringQueue::requests); }
uint64_t UringTransport::poll_hits() const { return SumOverQueues(&UringQueue::poll_hits); }
uint64_t UringTransport::poll_misses() const { return SumOverQueues(&UringQueue::poll_misses); }
uint64_t UringTransport::entries() const { return SumOverQueues(&UringQueue::registered); }

bool UringTransport::SettleOtherQueues(std::chrono::nanoseconds limit) {
  UringQueue* self = tls_queue;
  const bool ours = std::any_of(queues_.begin(), queues_.end(),
                                [self](const auto& q) { return q.get() == self; });
  if (!ours || !defers_task_work_) return false;
  if (queues_.size() < 2) return true;
  settles_.fetch_add(1, std::memory_order_relaxed);
  if (self->SettleOthers(queues_, limit)) return true;
  settle_timeouts_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace ptfs::transport
