#include "session/server.h"

#include <signal.h>

#include <cstring>
#include <thread>

#include "util/log.h"

namespace ptfs::session {

Server::Server(Session* session, transport::DeviceControl* control,
               std::unique_ptr<transport::Channel> main_channel, int threads)
    : session_(session), control_(control), main_(std::move(main_channel)),
      threads_(std::max(1, threads)) {}

Errno Server::WorkerLoop(transport::Channel* channel) {
  WorkerBuffers bufs(kRequestBufferSize);
  for (;;) {
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
    session_->HandleMessage(bufs.in.first(*n), *channel, bufs);
    if (session_->destroyed()) return Errno::Ok();
  }
}

Errno Server::Run() {
  std::vector<std::unique_ptr<transport::Channel>> clones;
  bool warned = false;
  for (int i = 1; i < threads_; ++i) {
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
  // Parked lock waits hold replies on channels that are about to close.
  session_->AbandonParked();
  for (Errno e : results) {
    if (e) return e;
  }
  return Errno::Ok();
}

}  // namespace ptfs::session
