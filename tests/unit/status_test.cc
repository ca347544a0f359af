// `passthroughfs status`'s pure parts: reading mountinfo, the report's two
// forms, and the options the report repeats.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cmd/passthroughfs/options.h"
#include "cmd/passthroughfs/status.h"
#include "sys/mountinfo.h"

namespace ptfs {
namespace {

TEST(MountInfo, ParsesAFuseLineWithOptionalFieldsAndEscapes) {
  const auto m = sys::ParseMountInfoLine(
      "812 29 0:84 / /tmp/my\\040mnt rw,nosuid,nodev,relatime shared:455 master:1 - "
      "fuse.passthroughfs /srv/data rw,user_id=1000,group_id=1000,allow_other");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->id, 812u);
  EXPECT_EQ(m->major, 0u);
  EXPECT_EQ(m->minor, 84u);
  EXPECT_EQ(m->root, "/");
  EXPECT_EQ(m->mount_point, "/tmp/my mnt");
  EXPECT_EQ(m->fstype, "fuse.passthroughfs");
  EXPECT_EQ(m->source, "/srv/data");
  EXPECT_EQ(m->SuperOption("user_id"), "1000");
  EXPECT_EQ(m->SuperOption("group_id"), "1000");
  EXPECT_EQ(m->SuperOption("user"), std::nullopt);  // a prefix of user_id, not a key
  EXPECT_EQ(m->SuperOption("allow_other"), std::nullopt);  // no value
}

TEST(MountInfo, NamesTheDirectoryABindMountShows) {
  const auto m = sys::ParseMountInfoLine("90 29 8:1 /srv/my\\040dir /mnt/a rw - ext4 /dev/sda1 rw");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->root, "/srv/my dir");
}

TEST(MountInfo, RejectsLinesWithoutTheSeparator) {
  EXPECT_FALSE(sys::ParseMountInfoLine("").has_value());
  EXPECT_FALSE(sys::ParseMountInfoLine("1 2 0:1 / /x rw shared:1 fuse src rw").has_value());
  EXPECT_FALSE(sys::ParseMountInfoLine("1 2 zero / /x rw - fuse src rw").has_value());
}

TEST(MountInfo, FindMountTakesTheTopmostOfStackedMounts) {
  std::vector<sys::MountInfo> mounts(3);
  mounts[0].mount_point = "/mnt";
  mounts[0].minor = 1;
  mounts[1].mount_point = "/other";
  mounts[1].minor = 2;
  mounts[2].mount_point = "/mnt";
  mounts[2].minor = 3;
  EXPECT_EQ(sys::FindMount(mounts, "/mnt")->minor, 3u);
  EXPECT_FALSE(sys::FindMount(mounts, "/mnt/").has_value());
  EXPECT_FALSE(sys::FindMount(mounts, "/nowhere").has_value());
}

TEST(MountInfo, MountPointPathIsAbsoluteAndClean) {
  EXPECT_EQ(sys::MountPointPath("/"), "/");
  EXPECT_EQ(sys::MountPointPath("/proc/./self/../"), "/proc");
  EXPECT_EQ(sys::MountPointPath("//proc//"), "/proc");
  // The last component is never resolved (a FUSE mount's root may hang).
  EXPECT_EQ(sys::MountPointPath("/nonexistent-dir/x"), "/nonexistent-dir/x");
}

TEST(StatusReport, LinesAndJsonCarryTheSameFields) {
  cmd::StatusReport r;
  r.Text("source", "/srv/a \"b\"");
  r.Number("pid", 42);
  r.Text("odd", "two\nlines");
  EXPECT_EQ(r.Lines(), "source: /srv/a \"b\"\npid: 42\nodd: two\\nlines\n");
  EXPECT_EQ(r.Json(), "{\"source\":\"/srv/a \\\"b\\\"\",\"pid\":42,\"odd\":\"two\\u000alines\"}\n");
}

TEST(StatusReport, SocketNameFollowsTheDevice) {
  EXPECT_EQ(cmd::StatusSocketName(0, 84), "passthroughfs/status/0:84");
}

cmd::Options ParseArgs(std::vector<std::string> args) {
  args.insert(args.begin(), "passthroughfs");
  args.push_back("/src");
  args.push_back("/mnt");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return cmd::ParseOptions(static_cast<int>(argv.size()), argv.data());
}

TEST(StatusReport, OptionsAreRepeatedInDashOFormWhateverTheSpelling) {
  const std::vector<std::string> want = {"threads=4", "foreground", "hide=*.key", "noatime"};
  // (Given's == holds always: compare the lists.)
  using List = std::vector<std::string>;
  EXPECT_EQ(List(ParseArgs({"--threads=4", "-f", "--hide", "*.key", "-o", "noatime"}).given), want);
  EXPECT_EQ(List(ParseArgs({"-t4", "-o", "foreground,hide=*.key,noatime"}).given), want);
  EXPECT_TRUE(ParseArgs({}).given.empty());
}

}  // namespace
}  // namespace ptfs
