// The io_uring transport's pure decisions: whether the machine offers it (and
// the one line that says why not), and the kernel's queue count from a CPU
// list.
#include <gtest/gtest.h>

#include <cerrno>

#include "transport/uring.h"

namespace ptfs::transport {
namespace {

TEST(UringSupport, AvailableOnlyWithParamYAndAWorkingRing) {
  EXPECT_TRUE(DescribeUringSupport("Y", Errno::Ok()).available);
  const UringSupport missing = DescribeUringSupport(nullptr, Errno::Ok());
  EXPECT_FALSE(missing.available);
  EXPECT_NE(missing.why_not.find("no /sys/module/fuse/parameters/enable_uring"),
            std::string::npos);
  const UringSupport off = DescribeUringSupport("N", Errno::Ok());
  EXPECT_FALSE(off.available);
  EXPECT_NE(off.why_not.find("enable_uring is N"), std::string::npos) << off.why_not;
  const UringSupport no_ring = DescribeUringSupport("Y", Errno(EPERM));
  EXPECT_FALSE(no_ring.available);
  EXPECT_NE(no_ring.why_not.find("io_uring_setup"), std::string::npos) << no_ring.why_not;
  EXPECT_EQ(no_ring.why_not.find('\n'), std::string::npos) << "one line";
}

TEST(UringSupport, QueuesFromPossibleCpuList) {
  EXPECT_EQ(CpuListCount("0"), 1);
  EXPECT_EQ(CpuListCount("0-1"), 2);
  EXPECT_EQ(CpuListCount("0-3,8,10-11"), 12);  // one queue per possible CPU number
  EXPECT_EQ(CpuListCount("0-7"), 8);
  EXPECT_EQ(CpuListCount(""), 0);
  EXPECT_EQ(CpuListCount("x"), 0);
  EXPECT_EQ(CpuListCount("0-"), 0);
}

}  // namespace
}  // namespace ptfs::transport
