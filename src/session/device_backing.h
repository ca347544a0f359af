// Adapts the device's backing ioctls (transport::DeviceControl) to the public
// BackingRegistrar interface the filesystem uses.
#pragma once

#include "ptfs/backing.h"
#include "session/inode_passthrough_adapter.h"
#include "transport/channel.h"

namespace ptfs::session {

class DeviceBackingRegistrar final : public BackingRegistrar {
 public:
  explicit DeviceBackingRegistrar(transport::DeviceControl* control) : control_(control) {}
  Result<BackingId> Open(int fd, uint32_t inode_ops) override {
    auto id = control_->BackingOpen(fd, 0, DraftOpsMask(inode_ops));
    if (!id.ok()) return id.error();
    return BackingId{*id};
  }
  Errno Close(BackingId id) override { return control_->BackingClose(id.value); }

 private:
  transport::DeviceControl* control_;
};

}  // namespace ptfs::session
