// Inode passthrough on a kernel that does not offer it (every released kernel
// today): the daemon mounts, says once that it serves the ops itself, and
// stat/readdir still agree with SOURCE on every call.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class InodePassthroughFallback : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return NamedVariant("readdirpassthrough").args;
  }
};

TEST_F(InodePassthroughFallback, LogsOnceAndServesStatAndReaddir) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(WriteFile(src() + "/f" + std::to_string(i), "x"));
  // Every stat and listing is answered fresh (nocache), several times over.
  for (int round = 0; round < 3; ++round) {
    std::set<std::string> names;
    DIR* d = opendir(mnt().c_str());
    ASSERT_NE(d, nullptr);
    while (struct dirent* e = readdir(d)) names.insert(e->d_name);
    closedir(d);
    EXPECT_EQ(names.size(), 52u);
    for (int i = 0; i < 50; ++i) {
      struct stat a, b;
      const std::string n = "/f" + std::to_string(i);
      ASSERT_EQ(lstat((mnt() + n).c_str(), &a), 0);
      ASSERT_EQ(lstat((src() + n).c_str(), &b), 0);
      EXPECT_EQ(a.st_ino, b.st_ino);
      EXPECT_EQ(a.st_size, b.st_size);
    }
    // A change made in SOURCE is seen at once: nothing is cached.
    ASSERT_TRUE(WriteFile(src() + "/f0", std::string(round + 2, 'y')));
    struct stat st;
    ASSERT_EQ(lstat((mnt() + "/f0").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, round + 2);
  }
  const std::string log = daemon().Log();
  size_t count = 0;
  for (size_t p = log.find("inode passthrough"); p != std::string::npos;
       p = log.find("inode passthrough", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << log;
  EXPECT_NE(log.find("(getattr,readdir) is not offered by this kernel"), std::string::npos) << log;
}

}  // namespace
}  // namespace ptfs::mounttest
