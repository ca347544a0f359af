// The header of the restart state file (docs/persistent-identity.md): what
// a process taking over a FUSE connection needs besides the open-file
// journal that follows it (mirror/open_journal.h): which SOURCE the
// connection serves, and how its INIT was answered (a connection is
// initialized once; the parameters in force cannot be asked again).
#pragma once

#include <cstdint>

#include "proto/init.h"
#include "ptfs/result.h"

namespace ptfs::session {

struct RestartHeader {
  // SOURCE's root: a connection is never taken over for another directory.
  uint64_t source_dev = 0;
  uint64_t source_ino = 0;
  bool initialized = false;  // INIT was answered: `init` is what was sent
  proto::InitOutcome init;
};

// One pwrite of the header page at offset 0.
Errno WriteRestartHeader(int fd, const RestartHeader& header);
// EINVAL if the file holds no header of this format.
Result<RestartHeader> ReadRestartHeader(int fd);

}  // namespace ptfs::session
