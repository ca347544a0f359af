// Access times follow the FUSE mount's rule (noatime, relatime,
// strictatime), not SOURCE's: reads, kernel passthrough included, reach the
// backing file through the daemon's private mounts, which take the mount's
// rule (issue 17, fstests generic/003 and generic/120).
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

struct AtimeVariant {
  const char* name;
  std::vector<std::string> args;
  // Whether a read updates an atime newer than mtime (only strictatime), and
  // one older than a day (relatime and strictatime).
  bool updates_recent;
  bool updates_old;
};
void PrintTo(const AtimeVariant& v, std::ostream* os) { *os << v.name; }

class AccessTimes : public MountTestBase, public testing::WithParamInterface<AtimeVariant> {
 protected:
  std::vector<std::string> DaemonArgs() const override { return GetParam().args; }

  // Sets SOURCE's atime of `name` to now + `offset` s, reads the file
  // through the mount, and says whether SOURCE's atime changed.
  bool ReadUpdatesAtime(const std::string& name, long offset) {
    struct timespec times[2] = {{time(nullptr) + offset, 0}, {0, UTIME_OMIT}};
    EXPECT_EQ(utimensat(AT_FDCWD, Src(name).c_str(), times, 0), 0);
    EXPECT_EQ(ReadFileOrError(Mnt(name)), "data");
    struct stat st;
    EXPECT_EQ(stat(Src(name).c_str(), &st), 0);
    return st.st_atim.tv_sec != times[0].tv_sec;
  }
};

TEST_P(AccessTimes, ReadsUpdateAtimeByTheMountsRule) {
  ASSERT_TRUE(WriteFile(Src("recent"), "data"));
  ASSERT_TRUE(WriteFile(Src("old"), "data"));
  EXPECT_EQ(ReadUpdatesAtime("recent", 100), GetParam().updates_recent);
  EXPECT_EQ(ReadUpdatesAtime("old", -2 * 86400), GetParam().updates_old);
}

INSTANTIATE_TEST_SUITE_P(
    Mount, AccessTimes,
    testing::Values(AtimeVariant{"strictatime", {"-o", "strictatime"}, true, true},
                    AtimeVariant{"relatime", {}, false, true},
                    AtimeVariant{"noatime", {"-o", "noatime"}, false, false},
                    AtimeVariant{"noatime_served", {"-o", "noatime", "--passthrough=off"},
                                 false, false}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ptfs::mounttest
