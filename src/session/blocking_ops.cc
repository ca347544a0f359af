#include "session/blocking_ops.h"

#include "abi/fuse_abi.h"

namespace ptfs::session {

bool MayBlockLong(uint32_t opcode) {
  using namespace ptfs::abi;  // NOLINT
  switch (opcode) {
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
    case FUSE_SYNCFS:
    case FUSE_FALLOCATE:
    case FUSE_COPY_FILE_RANGE:
    case FUSE_COPY_FILE_RANGE_64:
      return true;
    default:
      return false;
  }
}

BlockingOps::BlockingOps(Session* session, int threads) : session_(session) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

BlockingOps::~BlockingOps() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void BlockingOps::Submit(std::span<const char> msg, transport::Channel* channel,
                         std::span<char> reply_area) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(Job{msg, channel, reply_area});
  }
  cv_.notify_one();
}

void BlockingOps::Loop() {
  WorkerBuffers scratch(kRequestBufferSize);
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left to answer
      job = jobs_.front();
      jobs_.pop_front();
    }
    if (job.reply_area.empty()) {
      session_->HandleMessage(job.msg, *job.channel, scratch);
    } else {
      WorkerBuffers view(scratch.in, job.reply_area);
      session_->HandleMessage(job.msg, *job.channel, view);
    }
    handled_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace ptfs::session
