// A device node in the harness's SOURCE cannot reach a device (issue 17: a
// fuzz input MKNODed a block device, OPENed and WROTE it, and wrote to a loop
// device of the CI machine). The harness plays a kernel that sends OPEN for a
// device node, which no real kernel does on a (nodev) FUSE mount; what keeps
// the host safe is the harness's isolation (tests/harness/host_isolation.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "sys/syscalls.h"
#include "tests/harness/host_isolation.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

struct DeviceNode {
  std::string name;
  mode_t type;  // S_IFCHR or S_IFBLK
  dev_t rdev;
};

// Real devices to aim at: /dev/null (harmless to open for writing, so an open
// that gets through is certain to succeed) and, as in the issue, a loop
// device. Both are only ever opened, never written.
std::vector<DeviceNode> RealDevices() {
  std::vector<DeviceNode> nodes;
  struct stat st;
  if (::stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode)) {
    nodes.push_back({"null", S_IFCHR, st.st_rdev});
  }
  if (::stat("/dev/loop0", &st) == 0 && S_ISBLK(st.st_mode)) {
    nodes.push_back({"loop0", S_IFBLK, st.st_rdev});
  }
  return nodes;
}

// MKNODs each device through the protocol, then OPENs it as the fuzz input
// did: no open may succeed.
void ExpectDevicesUnreachable(FakeKernel& k) {
  for (const DeviceNode& dev : RealDevices()) {
    SCOPED_TRACE(dev.name + " " + std::to_string(major(dev.rdev)) + ":" +
                 std::to_string(minor(dev.rdev)));
    fuse_mknod_in in{};
    in.mode = dev.type | 0666;
    in.rdev = static_cast<uint32_t>(dev.rdev);  // the kernel's new_encode_dev, as glibc's
    KernelReply made = k.Call(RequestBuilder{FUSE_MKNOD, kRootId}.Arg(in).Name(dev.name));
    if (!sys::HasCapability(CAP_MKNOD)) {
      // CAP_MKNOD dropped (or never held): the node cannot even be made.
      EXPECT_EQ(made.error(), EPERM);
      continue;
    }
    // The node is made, as in the issue (MKNOD itself is harmless)...
    ASSERT_EQ(made.error(), 0);
    const uint64_t node = made.As<fuse_entry_out>().nodeid;
    struct stat st;
    ASSERT_EQ(::lstat((k.source() + "/" + dev.name).c_str(), &st), 0);
    EXPECT_EQ(st.st_rdev, dev.rdev);
    // ...but it opens neither through the server nor for the harness itself.
    for (uint32_t flags : {O_WRONLY, O_RDWR, O_RDONLY}) {
      KernelReply opened = k.Open(node, flags);
      EXPECT_EQ(opened.error(), EACCES) << "OPEN flags 0" << std::oct << flags;
      if (opened.error() == 0) {
        ADD_FAILURE() << "the server opened the host device " << dev.name;
        k.Release(node, opened.As<fuse_open_out>().fh);
      }
    }
    const int fd = ::open((k.source() + "/" + dev.name).c_str(), O_WRONLY | O_CLOEXEC);
    const int open_errno = errno;
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(open_errno, EACCES);
    if (fd >= 0) ::close(fd);
  }
}

TEST(FakeKernelHostDevices, IsolationIsInForce) {
  const DeviceIsolation isolation = CurrentDeviceIsolation();
  EXPECT_NE(isolation, DeviceIsolation::kNone) << "the environment did not run";
  // As root (CI), the namespace: device nodes can still be made (MKNOD stays
  // tested) but not opened.
  if (sys::HasCapability(CAP_SYS_ADMIN)) {
    EXPECT_EQ(isolation, DeviceIsolation::kNodevMount) << Describe(isolation);
  }
  FakeKernel k;
  EXPECT_TRUE(DevicesUnreachableUnder(k.source())) << Describe(isolation);
  k.ForgetAll();
}

TEST(FakeKernelHostDevices, DeviceNodeInSourceCannotBeOpened) {
  ASSERT_FALSE(RealDevices().empty()) << "no /dev/null";
  FakeKernel k;
  ExpectDevicesUnreachable(k);
  k.ForgetAll();
}

// With kernel passthrough, OPEN also registers the opened file as a backing
// file: the same refusal must come before that.
TEST(FakeKernelHostDevices, DeviceNodeInSourceCannotBeOpenedWithPassthrough) {
  FakeKernelOptions o;
  o.passthrough = true;
  FakeKernel k(o);
  ExpectDevicesUnreachable(k);
  EXPECT_EQ(k.control().backing_opens, 0);
  k.ForgetAll();
}

}  // namespace
}  // namespace ptfs::testing
