// Server: runs N worker threads, each reading requests from its own channel
// (a cloned /dev/fuse fd when the device allows it) and handing them to the
// Session. Returns when the connection ends (unmount, DESTROY, or the peer
// closing the channel).
#pragma once

#include <memory>
#include <vector>

#include "session/session.h"
#include "transport/channel.h"

namespace ptfs::session {

class Server {
 public:
  Server(Session* session, transport::DeviceControl* control,
         std::unique_ptr<transport::Channel> main_channel, int threads);
  // Blocks until every worker has stopped. Ok when the connection ended
  // normally; otherwise the errno that stopped it.
  Errno Run();

 private:
  Errno WorkerLoop(transport::Channel* channel);
  Session* session_;
  transport::DeviceControl* control_;
  std::unique_ptr<transport::Channel> main_;
  int threads_;
};

}  // namespace ptfs::session
