// BlockingOps: threads for the requests that may block for long (fsync of a
// large file, syncfs, fallocate of gigabytes, copy_file_range). Over io_uring
// one thread serves each CPU's queue, so such a request would hold up every
// other request issued from that CPU; the queue thread hands it here instead
// and goes on, and the reply is committed from this pool (a ring entry may be
// answered from any thread). Over /dev/fuse the workers already run requests
// in parallel and nothing is handed over.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "session/session.h"
#include "transport/channel.h"

namespace ptfs::session {

// Whether a request (its opcode) may block the thread that serves it for long.
bool MayBlockLong(uint32_t opcode);

class BlockingOps {
 public:
  BlockingOps(Session* session, int threads);
  ~BlockingOps();  // finishes queued requests, then joins
  // Runs `msg` (which, like `channel` and `reply_area`, stays valid until the
  // reply is sent) on a pool thread.
  void Submit(std::span<const char> msg, transport::Channel* channel, std::span<char> reply_area);
  uint64_t handled() const { return handled_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    std::span<const char> msg;
    transport::Channel* channel = nullptr;
    std::span<char> reply_area;
  };
  void Loop();
  Session* session_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::atomic<uint64_t> handled_{0};
  std::vector<std::thread> threads_;
};

}  // namespace ptfs::session
