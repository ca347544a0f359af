// --hide=GLOB (issue 19): hidden names do not exist through the mount, by
// every route a name is used: listings, lookups, creating, linking and
// renaming onto them, removing or renaming them; everything else behaves as
// before, kernel passthrough included.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class Hide : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--hide=*.key", "-o", "hide=build/*/cache", "--hide=tmp/*.log", "-o", "allow_other"};
  }
  // errno of a call through the mount, 0 on success.
  static std::string Err(int rc) { return rc < 0 ? ErrnoName(errno) : "ok"; }
};

TEST_F(Hide, HiddenNamesAreNotListedNorFound) {
  ASSERT_TRUE(WriteFile(Src("a.key"), "secret"));
  ASSERT_TRUE(WriteFile(Src("plain"), "plain"));
  ASSERT_EQ(mkdir(Src("d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("d/b.key"), "secret"));
  ASSERT_EQ(mkdir(Src("keys.key").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("keys.key/inner"), "below a hidden directory"));
  ASSERT_EQ(mkdir(Src("build").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("build/x").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("build/x/cache").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("build/x/keep"), "visible"));
  ASSERT_TRUE(WriteFile(Src("cache"), "a cache elsewhere is visible"));

  EXPECT_EQ(ListDir(Mnt("")), (std::vector<std::string>{"build", "cache", "d", "plain"}));
  EXPECT_EQ(ListDir(Mnt("d")), std::vector<std::string>{});
  EXPECT_EQ(ListDir(Mnt("build/x")), std::vector<std::string>{"keep"});
  struct stat st;
  EXPECT_EQ(Err(lstat(Mnt("a.key").c_str(), &st)), "ENOENT");
  EXPECT_EQ(Err(lstat(Mnt("d/b.key").c_str(), &st)), "ENOENT");
  EXPECT_EQ(Err(lstat(Mnt("keys.key/inner").c_str(), &st)), "ENOENT");
  EXPECT_EQ(Err(lstat(Mnt("build/x/cache").c_str(), &st)), "ENOENT");
  EXPECT_EQ(Err(open(Mnt("a.key").c_str(), O_RDONLY)), "ENOENT");
  EXPECT_EQ(ReadFileOrError(Mnt("cache")), "a cache elsewhere is visible");
  // A path glob with a wildcard in its last component.
  ASSERT_EQ(mkdir(Src("tmp").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("other").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("tmp/a.log"), "hidden"));
  ASSERT_TRUE(WriteFile(Src("tmp/a.txt"), "visible"));
  ASSERT_TRUE(WriteFile(Src("other/a.log"), "visible"));
  EXPECT_EQ(ListDir(Mnt("tmp")), std::vector<std::string>{"a.txt"});
  EXPECT_EQ(Err(lstat(Mnt("tmp/a.log").c_str(), &st)), "ENOENT");
  EXPECT_EQ(ReadFileOrError(Mnt("other/a.log")), "visible");
  EXPECT_EQ(ReadFileOrError(Mnt("build/x/keep")), "visible");
}

TEST_F(Hide, NothingCanBeMadeUnderAHiddenName) {
  ASSERT_TRUE(WriteFile(Src("plain"), "plain"));
  ASSERT_TRUE(WriteFile(Src("a.key"), "secret"));
  EXPECT_EQ(Err(open(Mnt("new.key").c_str(), O_WRONLY | O_CREAT, 0644)), "EACCES");
  EXPECT_EQ(Err(mkdir(Mnt("dir.key").c_str(), 0755)), "EACCES");
  EXPECT_EQ(Err(symlink("plain", Mnt("sl.key").c_str())), "EACCES");
  EXPECT_EQ(Err(mkfifo(Mnt("fifo.key").c_str(), 0644)), "EACCES");
  EXPECT_EQ(Err(link(Mnt("plain").c_str(), Mnt("ln.key").c_str())), "EACCES");
  EXPECT_EQ(Err(rename(Mnt("plain").c_str(), Mnt("moved.key").c_str())), "EACCES");
  // The hidden one cannot be touched either: for the caller it is not there.
  EXPECT_EQ(Err(rename(Mnt("a.key").c_str(), Mnt("visible").c_str())), "ENOENT");
  EXPECT_EQ(Err(unlink(Mnt("a.key").c_str())), "ENOENT");
  EXPECT_EQ(ListDir(Src("")), (std::vector<std::string>{"a.key", "plain"})) << "nothing made";
  EXPECT_EQ(ReadFileOrError(Src("a.key")), "secret");
}

TEST_F(Hide, DirectoriesOnTheWayToAPathGlobCannotMoveItsMatchesOut) {
  ASSERT_EQ(mkdir(Src("build").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("build/x").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("build/x/cache").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("build/x/cache/secret"), "s"));
  ASSERT_TRUE(WriteFile(Src("build/file"), "f"));
  ASSERT_EQ(mkdir(Src("other").c_str(), 0755), 0);
  // Renaming build or build/x would make build/x/cache visible as b2/x/cache.
  EXPECT_EQ(Err(rename(Mnt("build").c_str(), Mnt("b2").c_str())), "EACCES");
  EXPECT_EQ(Err(rename(Mnt("build/x").c_str(), Mnt("build/y").c_str())), "EACCES");
  EXPECT_EQ(Err(renameat2(AT_FDCWD, Mnt("other").c_str(), AT_FDCWD, Mnt("build").c_str(),
                          RENAME_EXCHANGE)),
            "EACCES")
      << "an exchange moves both";
  struct stat st;
  EXPECT_EQ(Err(lstat(Mnt("b2/x/cache/secret").c_str(), &st)), "ENOENT");
  // Files, and directories not on the way, move as usual.
  EXPECT_EQ(Err(rename(Mnt("build/file").c_str(), Mnt("build/file2").c_str())), "ok");
  EXPECT_EQ(Err(rename(Mnt("other").c_str(), Mnt("other2").c_str())), "ok");
  EXPECT_EQ(Err(rename(Mnt("other2").c_str(), Mnt("build/z").c_str())), "ok")
      << "moving into the way is fine: more is hidden, nothing shown";
}

TEST_F(Hide, ListingsSkipManyHiddenEntriesWithoutEndingEarly) {
  // Hidden entries between and after visible ones, more than one reply's
  // worth: each reply must carry visible entries until the real end.
  std::vector<std::string> visible;
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(WriteFile(Src("h" + std::to_string(i) + ".key"), ""));
    if (i % 4 == 0) {
      visible.push_back("v" + std::to_string(i));
      ASSERT_TRUE(WriteFile(Src(visible.back()), ""));
    }
  }
  std::sort(visible.begin(), visible.end());
  EXPECT_EQ(ListDir(Mnt("")), visible);
}

TEST_F(Hide, OtherFilesKeepKernelPassthrough) {
  ASSERT_TRUE(WriteFile(Src("plain"), std::string(65536, 'p')));
  const auto before = daemon().Stats();
  EXPECT_EQ(ReadFileOrError(Mnt("plain")), std::string(65536, 'p'));
  ASSERT_TRUE(WriteFile(Mnt("written"), std::string(65536, 'w')));
  const auto after = daemon().Stats();
  EXPECT_EQ(after.at("opens_passthrough") - before.at("opens_passthrough"), 2);
  EXPECT_EQ(after.at("requests_read") - before.at("requests_read"), 0);
  EXPECT_EQ(after.at("requests_write") - before.at("requests_write"), 0);
  EXPECT_EQ(ReadFileOrError(Src("written")), std::string(65536, 'w'));
}

}  // namespace
}  // namespace ptfs::mounttest
