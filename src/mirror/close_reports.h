// Whether close(2) on a SOURCE filesystem can report an error, so that FLUSH
// closes a duplicate only where that can tell the caller something.
#pragma once

#include <cstdint>
#include <map>

#include "util/thread_annotations.h"

namespace ptfs::mirror {

// Whether close(2) of a file on a filesystem of this statfs f_type can
// report an error (deferred write-back, as on NFS). False only for the local
// filesystems known to have no flush operation; true for anything unknown.
bool CloseReportsErrorsOn(uint64_t fs_magic);

// CloseReportsErrorsOn per SOURCE device, learned with one fstatfs per device.
class CloseReports {
 public:
  // Whether close(2) of `fd`, on device `dev`, can report an error; true
  // while that cannot be learned.
  bool MayReportErrors(uint64_t dev, int fd);

 private:
  Mutex mu_;
  std::map<uint64_t, bool> by_dev_ GUARDED_BY(mu_);
};

}  // namespace ptfs::mirror
