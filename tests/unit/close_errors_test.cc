// CloseReportsErrorsOn: which SOURCE filesystems let FLUSH skip closing a
// duplicate (close_reports.h).
#include <gtest/gtest.h>
#include <linux/magic.h>

#include "mirror/close_reports.h"

namespace ptfs::mirror {
namespace {

TEST(CloseReportsErrorsOn, LocalFilesystemsWithoutFlushReportNothing) {
  for (uint64_t magic :
       {uint64_t{EXT4_SUPER_MAGIC}, uint64_t{TMPFS_MAGIC}, uint64_t{XFS_SUPER_MAGIC},
        uint64_t{BTRFS_SUPER_MAGIC}, uint64_t{RAMFS_MAGIC}}) {
    EXPECT_FALSE(CloseReportsErrorsOn(magic)) << std::hex << magic;
  }
}

TEST(CloseReportsErrorsOn, NetworkStackedAndUnknownFilesystemsAreAsked) {
  // NFS, SMB, FUSE, overlayfs and f2fs have a flush operation; 0 and a
  // made-up value stand for filesystems this list does not know.
  for (uint64_t magic : {uint64_t{NFS_SUPER_MAGIC}, uint64_t{SMB2_SUPER_MAGIC},
                         uint64_t{0x65735546} /* FUSE */, uint64_t{OVERLAYFS_SUPER_MAGIC},
                         uint64_t{F2FS_SUPER_MAGIC}, uint64_t{0}, uint64_t{0x12345678}}) {
    EXPECT_TRUE(CloseReportsErrorsOn(magic)) << std::hex << magic;
  }
}

}  // namespace
}  // namespace ptfs::mirror
