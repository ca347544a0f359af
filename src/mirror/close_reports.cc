#include "mirror/close_reports.h"

#include <linux/magic.h>
#include <sys/statfs.h>

namespace ptfs::mirror {

bool CloseReportsErrorsOn(uint64_t fs_magic) {
  switch (fs_magic) {
    // Filesystems whose files have no flush operation: close(2) returns 0
    // whatever was written (errors show at fsync, as natively).
    case EXT4_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case RAMFS_MAGIC:
      return false;
    default:  // NFS, CIFS, FUSE, overlayfs, ... or unknown: ask
      return true;
  }
}

bool CloseReports::MayReportErrors(uint64_t dev, int fd) {
  {
    MutexLock lock(&mu_);
    if (auto it = by_dev_.find(dev); it != by_dev_.end()) return it->second;
  }
  struct statfs sfs;
  if (::fstatfs(fd, &sfs) < 0) return true;  // not learned: do the close
  const bool reports = CloseReportsErrorsOn(static_cast<uint64_t>(sfs.f_type));
  MutexLock lock(&mu_);
  by_dev_.emplace(dev, reports);
  return reports;
}

}  // namespace ptfs::mirror
