#include "session/server.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "abi/fuse_abi.h"
#include "util/log.h"

namespace ptfs::session {

namespace {
// Threads for requests that may block for long (BlockingOps); two let one
// fsync wait on the journal while another proceeds.
constexpr int kBlockingThreads = 2;

// With the rings serving requests, /dev/fuse carries little but FORGETs: one
// per evicted inode, each waking a reader thread (which, on a small machine,
// takes the CPU from the caller whose unlink evicted it). A reader that has
// just handled a FORGET therefore waits this long before reading again. The
// kernel queues the forgets meanwhile and hands the backlog over in one
// BATCH_FORGET. Measured on tmpfs, 10,000 unlinks after stat and ls -l (2
// cores): 18.2-18.9 us per unlink without the pause, 11.5-12.1 us with it
// (200 us and 5 ms pauses did the same as 1 ms). The cost is that an
// INTERRUPT arriving in the pause waits up to this long, and the inode table
// keeps forgotten nodes that much longer.
constexpr auto kForgetCoalescing = std::chrono::milliseconds(1);

bool IsForget(std::span<const char> msg) {
  abi::fuse_in_header in;
  if (msg.size() < sizeof(in)) return false;
  std::memcpy(&in, msg.data(), sizeof(in));
  return in.opcode == abi::FUSE_FORGET || in.opcode == abi::FUSE_BATCH_FORGET;
}
}  // namespace

Server::Server(Session* session, transport::DeviceControl* control,
               std::unique_ptr<transport::Channel> main_channel, int threads, TransportPlan plan)
    : session_(session), control_(control), main_(std::move(main_channel)),
      threads_(std::max(1, threads)), plan_(std::move(plan)) {
  // Over io_uring a lock request may overtake the RELEASE of an earlier close
  // sent on another CPU's queue (session/lock_order.h). Turned on when the
  // rings start (DecideTransport).
  if (transport::UringTransport* uring = plan_.uring) {
    session_->lock_order().settle_earlier_requests = [uring] { return uring->SettleOtherQueues(); };
  }
}

void Server::DecideTransport() {
  std::call_once(decided_, [this] {
    const proto::InitOutcome& init = session_->init();
    transport::UringTransport* uring = plan_.uring;
    if (uring == nullptr) {
      LOG_INFO("transport: /dev/fuse (%s)", plan_.why.c_str());
    } else if ((init.flags & abi::FUSE_OVER_IO_URING) == 0) {
      const std::string why =
          "the kernel did not offer FUSE_OVER_IO_URING at INIT (protocol 7." +
          std::to_string(init.kernel_minor) + ")";
      if (plan_.required) {
        LOG_ERROR("transport: /dev/fuse, although --transport=uring asked for io_uring: %s",
                  why.c_str());
      } else {
        LOG_INFO("transport: /dev/fuse (%s)", why.c_str());
      }
    } else {
      const int queues = uring->queues();
      for (int q = 0; q < queues; ++q) {
        uring_scratch_.push_back(std::make_unique<WorkerBuffers>(kRequestBufferSize));
      }
      blocking_ = std::make_unique<BlockingOps>(session_, kBlockingThreads);
      session_->lock_order().active.store(true, std::memory_order_release);
      uring->Start([this](int qid, std::span<const char> msg, transport::Channel& channel,
                          std::span<char> reply_area) {
        abi::fuse_in_header in;
        if (msg.size() >= sizeof(in)) {
          std::memcpy(&in, msg.data(), sizeof(in));
          if (MayBlockLong(in.opcode)) {
            // Not on the queue's one thread: it would stall every request
            // from this CPU meanwhile. The entry is answered from the pool.
            offloaded_.fetch_add(1, std::memory_order_relaxed);
            blocking_->Submit(msg, &channel, reply_area);
            return;
          }
        }
        WorkerBuffers& scratch = *uring_scratch_[qid];
        if (reply_area.empty()) {
          session_->HandleMessage(msg, channel, scratch);
        } else {
          // Replies (READ data, listings) are built in the entry's own
          // payload buffer and sent from there without a copy.
          WorkerBuffers view(scratch.in, reply_area);
          session_->HandleMessage(msg, channel, view);
        }
      });
      uring_in_use_.store(true, std::memory_order_release);
      LOG_INFO("transport: io_uring, %d queues (one per possible CPU) x %d entries (%s); "
               "/dev/fuse still carries INIT, FORGET and INTERRUPT",
               queues, uring->config().entries_per_queue, plan_.why.c_str());
    }
    decided_flag_.store(true, std::memory_order_release);
    if (plan_.initialized) plan_.initialized(uring_in_use_.load(std::memory_order_acquire));
  });
}

namespace {
// Wakes a reader from read(2) for Drain: a handler that does nothing,
// installed without SA_RESTART, so the read fails with EINTR.
int WakeSignal() { return SIGRTMIN; }
void IgnoreWake(int) {}
}  // namespace

void Server::Drain() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    struct sigaction sa{};
    sa.sa_handler = IgnoreWake;
    sigemptyset(&sa.sa_mask);
    sigaction(WakeSignal(), &sa, nullptr);
  });
  std::lock_guard<std::mutex> lock(readers_mu_);
  if (stopped_ || draining_.load(std::memory_order_relaxed)) return;
  draining_.store(true, std::memory_order_release);
  // A reader between its check of the flag and its read(2) misses one
  // signal: wake them again until every reader has returned. Joined by Run.
  waker_ = std::thread([this] {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(readers_mu_);
        if (readers_running_ == 0) return;
        for (pthread_t t : readers_) pthread_kill(t, WakeSignal());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
}

Errno Server::WorkerLoop(transport::Channel* channel) {
  WorkerBuffers bufs(kRequestBufferSize, /*populate_in=*/plan_.share_device_fd);
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    readers_.push_back(pthread_self());
    ++readers_running_;
  }
  struct Leaving {
    Server* s;
    ~Leaving() {
      std::lock_guard<std::mutex> lock(s->readers_mu_);
      s->readers_.erase(std::find(s->readers_.begin(), s->readers_.end(), pthread_self()));
      --s->readers_running_;
    }
  } leaving{this};
  for (;;) {
    if (draining_.load(std::memory_order_acquire)) return Errno::Ok();
    auto n = channel->Receive(bufs.in);
    if (!n.ok()) {
      const int e = n.error().value();
      if (e == EINTR || e == EAGAIN || e == ENOENT) continue;  // retry; ENOENT: aborted request
      if (e == ENODEV) return Errno::Ok();                      // unmounted
      if (e == ECONNABORTED) {
        // The connection was torn down while this read was in progress
        // (seen when unmounting under load) or aborted through fusectl:
        // either way the session is over, as with ENODEV.
        LOG_INFO("the kernel ended the FUSE connection (aborted)");
        return Errno::Ok();
      }
      LOG_ERROR("reading from the FUSE device failed: %s", strerror(e));
      return n.error();
    }
    dev_requests_.fetch_add(1, std::memory_order_relaxed);
    const bool forget = IsForget(bufs.in.first(*n));
    session_->HandleMessage(bufs.in.first(*n), *channel, bufs);
    if (forget && uring_in_use_.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(kForgetCoalescing);
    }
    // INIT has just been answered: the rings may be registered now.
    if (!decided_flag_.load(std::memory_order_acquire) && session_->initialized()) {
      DecideTransport();
    }
    if (session_->destroyed()) return Errno::Ok();
  }
}

Errno Server::Run() {
  // A connection taken over after a restart was initialized by another
  // process: no INIT comes, the transport is decided now.
  if (session_->initialized()) DecideTransport();
  std::vector<std::unique_ptr<transport::Channel>> clones;
  bool warned = false;
  for (int i = 1; i < threads_ && !plan_.share_device_fd; ++i) {
    auto clone = control_->Clone();
    if (clone.ok()) {
      clones.push_back(std::move(*clone));
    } else if (!warned) {
      warned = true;
      LOG_WARN("cloning the FUSE device fd failed (%s); workers share one fd",
               strerror(clone.error().value()));
    }
  }
  std::vector<Errno> results(threads_);
  std::vector<std::thread> workers;
  for (int i = 1; i < threads_; ++i) {
    transport::Channel* ch = static_cast<size_t>(i - 1) < clones.size() ? clones[i - 1].get()
                                                                       : main_.get();
    workers.emplace_back([this, ch, &results, i] { results[i] = WorkerLoop(ch); });
  }
  results[0] = WorkerLoop(main_.get());
  // After DESTROY (or unmount) the other workers may still sit in read();
  // the kernel wakes them with ENODEV when the connection is torn down.
  for (auto& t : workers) t.join();
  std::thread waker;
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    stopped_ = true;  // no Drain from here on
    waker = std::move(waker_);
  }
  if (waker.joinable()) waker.join();
  // The ring threads end when the kernel completes their commands with
  // ENOTCONN at unmount; they may hold requests a little longer than the
  // readers.
  if (plan_.uring != nullptr) plan_.uring->Join();
  blocking_.reset();  // answers what it still holds (the commits then fail: gone)
  // Parked lock waits hold replies on channels that are about to close.
  session_->AbandonParked();
  for (Errno e : results) {
    if (e) return e;
  }
  return Errno::Ok();
}

}  // namespace ptfs::session
