// Errors as a program sees them: every errno the mount returns for a bad
// name, a missing or wrong-type path or an existing target equals native.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class ErrorsTest : public ParityTest {};

TEST_P(ErrorsTest, NameTooLong) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "x"));
    TCALL(t, mkdir(t.P("d"), 0755));
    const std::string n255(255, 'a'), n256(256, 'b');
    const char* p255 = t.P(n255);
    const char* p256 = t.P(n256);
    // 255 bytes is NAME_MAX: everything works.
    int fd = TFD(t, open(p255, O_CREAT | O_WRONLY, 0644));
    TCALL(t, close(fd));
    t.Stat("stat 255", p255);
    t.Listing("listing with a 255-byte name", t.P());
    TCALL(t, rename(p255, t.P("d/" + n255)));
    TCALL(t, unlink(t.P("d/" + n255)));
    // 256 bytes: ENAMETOOLONG from every op.
    TCALL(t, open(p256, O_CREAT | O_WRONLY, 0644));
    TCALL(t, open(p256, O_RDONLY));
    struct stat st;
    TCALL(t, lstat(p256, &st));
    TCALL(t, stat(t.P("d/" + n256), &st));
    TCALL(t, mkdir(p256, 0755));
    TCALL(t, mknod(p256, S_IFIFO | 0644, 0));
    TCALL(t, symlink("f", p256));
    TCALL(t, link(t.P("f"), p256));
    TCALL(t, rename(t.P("f"), p256));
    TCALL(t, unlink(p256));
    TCALL(t, rmdir(p256));
    TCALL(t, chmod(p256, 0644));
    TCALL(t, truncate(p256, 0));
    TCALL(t, access(p256, F_OK));
    TCALL(t, setxattr(p256, "user.a", "v", 1, 0));
    char buf[16];
    TCALL(t, readlink(p256, buf, sizeof buf));
    TCALL(t, utimensat(AT_FDCWD, p256, nullptr, 0));
    TCALL(t, open(t.P(n256 + "/x"), O_RDONLY));
    // A path longer than PATH_MAX.
    std::string long_path;
    for (int i = 0; i < 20; ++i) long_path += std::string(250, 'p') + "/";
    TCALL(t, open(t.P(long_path + "x"), O_RDONLY));
    t.Listing("base", t.P());
  });
}

TEST_P(ErrorsTest, ErrnoParity) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "data"));
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, mkdir(t.P("full"), 0755));
    ASSERT_TRUE(WriteFile(t.P("full/x"), "x"));
    TCALL(t, symlink("loop2", t.P("loop1")));
    TCALL(t, symlink("loop1", t.P("loop2")));
    struct stat st;
    char buf[64];
    // ENOENT
    TCALL(t, stat(t.P("missing"), &st));
    TCALL(t, open(t.P("missing"), O_RDONLY));
    TCALL(t, open(t.P("missing/x"), O_CREAT | O_WRONLY, 0644));
    TCALL(t, unlink(t.P("missing")));
    TCALL(t, rmdir(t.P("missing")));
    TCALL(t, rename(t.P("missing"), t.P("x")));
    TCALL(t, link(t.P("missing"), t.P("x")));
    TCALL(t, readlink(t.P("missing"), buf, sizeof buf));
    TCALL(t, chmod(t.P("missing"), 0644));
    TCALL(t, chown(t.P("missing"), 1, 1));
    TCALL(t, truncate(t.P("missing"), 0));
    TCALL(t, getxattr(t.P("missing"), "user.a", buf, sizeof buf));
    TCALL(t, listxattr(t.P("missing"), buf, sizeof buf));
    TCALL(t, access(t.P("missing"), F_OK));
    TCALL(t, mkdir(t.P("missing/sub"), 0755));
    TCALL(t, symlink("x", t.P("missing/l")));
    TCALL(t, mknod(t.P("missing/n"), S_IFIFO | 0644, 0));
    // ENOTDIR
    TCALL(t, stat(t.P("f/x"), &st));
    TCALL(t, open(t.P("f/x"), O_CREAT | O_WRONLY, 0644));
    TCALL(t, mkdir(t.P("f/x"), 0755));
    TCALL(t, rmdir(t.P("f")));
    TCALL(t, rename(t.P("d"), t.P("f")));
    TCALL(t, open(t.P("f"), O_RDONLY | O_DIRECTORY));
    TCALL(t, symlink("x", t.P("f/l")));
    TCALL(t, unlink(t.P("f/x")));
    DIR* dir = opendir(t.P("f"));
    t.Note("opendir file", dir == nullptr ? "<" + ErrnoName(errno) + ">" : "ok");
    if (dir != nullptr) closedir(dir);
    // EISDIR
    TCALL(t, open(t.P("d"), O_WRONLY));
    TCALL(t, open(t.P("d"), O_RDWR | O_CREAT, 0644));
    TCALL(t, unlink(t.P("d")));
    TCALL(t, rename(t.P("f"), t.P("d")));
    TCALL(t, truncate(t.P("d"), 0));
    int dfd = TFD(t, open(t.P("d"), O_RDONLY | O_DIRECTORY));
    TCALL(t, read(dfd, buf, sizeof buf));
    TCALL(t, close(dfd));
    // EEXIST
    TCALL(t, mkdir(t.P("d"), 0755));
    TCALL(t, mkdir(t.P("f"), 0755));
    TCALL(t, open(t.P("f"), O_CREAT | O_EXCL | O_WRONLY, 0644));
    TCALL(t, open(t.P("d"), O_CREAT | O_EXCL | O_WRONLY, 0644));
    TCALL(t, symlink("x", t.P("f")));
    TCALL(t, link(t.P("f"), t.P("d")));
    TCALL(t, mknod(t.P("f"), S_IFIFO | 0644, 0));
    TCALL(t, renameat2(AT_FDCWD, t.P("f"), AT_FDCWD, t.P("d"), RENAME_NOREPLACE));
    // ENOTEMPTY, EINVAL, ELOOP, EPERM
    TCALL(t, rmdir(t.P("full")));
    TCALL(t, rename(t.P("d"), t.P("full")));
    TCALL(t, rename(t.P("d"), t.P("d/sub")));
    TCALL(t, rmdir(t.P("d/.")));
    TCALL(t, readlink(t.P("f"), buf, sizeof buf));
    TCALL(t, stat(t.P("loop1"), &st));
    TCALL(t, open(t.P("loop1"), O_RDONLY));
    TCALL(t, open(t.P("loop1/x"), O_RDONLY));
    TCALL(t, link(t.P("d"), t.P("dlink")));
    TCALL(t, mknod(t.P("dirnode"), S_IFDIR | 0755, 0));
    t.Listing("base", t.P());
  });
}

// Across filesystems: rename and link out of the mount answer EXDEV (the
// kernel checks it: the mount is its own filesystem). Natively, ROOT/native
// and ROOT are one filesystem, so this is asserted on the mount only.
TEST_P(ErrorsTest, CrossMountRenameAndLinkAreExdev) {
  ASSERT_TRUE(WriteFile(Mnt("f"), "x"));
  EXPECT_EQ(rename(Mnt("f").c_str(), (root() + "/moved").c_str()), -1);
  EXPECT_EQ(errno, EXDEV) << ErrnoName(errno);
  EXPECT_EQ(link(Mnt("f").c_str(), (root() + "/linked").c_str()), -1);
  EXPECT_EQ(errno, EXDEV) << ErrnoName(errno);
  EXPECT_EQ(rename((root() + "/outside").c_str(), Mnt("in").c_str()), -1);
  EXPECT_EQ(errno, EXDEV) << ErrnoName(errno);
  EXPECT_EQ(ReadFileOrError(Src("f")), "x");
}

INSTANTIATE_TEST_SUITE_P(Mount, ErrorsTest, testing::ValuesIn(ParityVariants()), VariantName);

}  // namespace
}  // namespace ptfs::mounttest
