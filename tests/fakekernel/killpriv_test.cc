// FUSE_HANDLE_KILLPRIV_V2: the kernel flags writes, truncates and O_TRUNC
// opens by callers without CAP_FSETID, and the server clears suid (and sgid
// when the group may execute) exactly as the kernel's file_remove_privs().
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

class KillPrivTest : public ::testing::Test {
 protected:
  uint64_t MakeFile(const std::string& name, mode_t mode) {
    const std::string path = k_.source() + "/" + name;
    { std::ofstream(path) << "content"; }
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return k_.Lookup(kRootId, name).As<fuse_entry_out>().nodeid;
  }
  uint64_t OpenFh(uint64_t node, uint32_t open_flags = 0) {
    KernelReply r = k_.Call(RequestBuilder{FUSE_OPEN, node}.Arg(fuse_open_in{O_RDWR, open_flags}));
    EXPECT_EQ(r.error(), 0);
    return r.As<fuse_open_out>().fh;
  }
  KernelReply WriteWithFlags(uint64_t node, uint64_t fh, uint32_t write_flags) {
    fuse_write_in in{};
    in.fh = fh;
    in.size = 1;
    in.write_flags = write_flags;
    return k_.Call(RequestBuilder{FUSE_WRITE, node}.Arg(in).Bytes("x"));
  }
  FakeKernel k_;
};

TEST_F(KillPrivTest, FlaggedWriteClearsSuidAndExecutableSgid) {
  struct Case {
    mode_t before, after;
  } cases[] = {{04755, 0755}, {06755, 0755}, {06745, 02745}, {02775, 0775}, {0644, 0644}};
  int i = 0;
  for (const Case& c : cases) {
    const std::string name = "f" + std::to_string(i++);
    const uint64_t node = MakeFile(name, c.before);
    const uint64_t fh = OpenFh(node);
    ASSERT_EQ(WriteWithFlags(node, fh, FUSE_WRITE_KILL_SUIDGID).error(), 0);
    EXPECT_EQ(ModeOf(k_.source() + "/" + name), c.after) << std::oct << c.before;
    EXPECT_EQ(k_.Release(node, fh).error(), 0);
  }
  k_.ForgetAll();
}

TEST_F(KillPrivTest, UnflaggedWriteKeepsTheBits) {
  const uint64_t node = MakeFile("keep", 06755);
  const uint64_t fh = OpenFh(node);
  ASSERT_EQ(WriteWithFlags(node, fh, 0).error(), 0);  // caller has CAP_FSETID
  EXPECT_EQ(ModeOf(k_.source() + "/keep"), 06755u);
  EXPECT_EQ(k_.Release(node, fh).error(), 0);
  k_.ForgetAll();
}

TEST_F(KillPrivTest, FlaggedTruncateAndOpenClearSuid) {
  const uint64_t a = MakeFile("a", 04755);
  fuse_setattr_in sa{};
  sa.valid = FATTR_SIZE | FATTR_KILL_SUIDGID;
  sa.size = 0;
  KernelReply r = k_.Call(RequestBuilder{FUSE_SETATTR, a}.Arg(sa));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_attr_out>().attr.mode & 07777, 0755u) << "reply shows the new mode";
  EXPECT_EQ(ModeOf(k_.source() + "/a"), 0755u);

  const uint64_t b = MakeFile("b", 06755);
  const uint64_t fh = OpenFh(b, FUSE_OPEN_KILL_SUIDGID);
  EXPECT_EQ(ModeOf(k_.source() + "/b"), 0755u);
  EXPECT_EQ(k_.Release(b, fh).error(), 0);
  k_.ForgetAll();
}

}  // namespace
}  // namespace ptfs::testing
