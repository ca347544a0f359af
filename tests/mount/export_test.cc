// --export (issue 21): the mount's file handles outlive the kernel's memory
// of the inode. A handle taken with name_to_handle_at still opens its file
// after the kernel dropped the inode (drop_caches), through LOOKUP of "."
// on a nodeid derived from SOURCE's own handle; a directory found that way
// is connected to the mount's root through LOOKUPs of ".."; and no handle,
// however made, opens anything outside SOURCE or hidden by --hide.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mirror/handle_identity.h"
#include "mirror/node_table.h"
#include "sys/fd.h"
#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

// A struct file_handle with room for any handle.
struct Handle {
  std::vector<unsigned char> bytes = std::vector<unsigned char>(sizeof(file_handle) + 128);
  file_handle* get() { return reinterpret_cast<file_handle*>(bytes.data()); }
};

std::optional<Handle> HandleOf(const std::string& path) {
  Handle h;
  h.get()->handle_bytes = 128;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path.c_str(), h.get(), &mount_id, 0) < 0) return std::nullopt;
  return h;
}

// The FUSE handle the kernel would make for `node` (fuse_encode_fh: type
// 0x81, nodeid high and low words, then the generation), made by hand, as
// an NFS client or a caller of open_by_handle_at may.
Handle ForgedFuseHandle(NodeId node, uint32_t generation) {
  Handle h;
  h.get()->handle_type = 0x81;
  h.get()->handle_bytes = 12;
  const uint32_t words[3] = {static_cast<uint32_t>(node.value >> 32),
                             static_cast<uint32_t>(node.value), generation};
  std::memcpy(h.get()->f_handle, words, sizeof(words));
  return h;
}

// Makes the kernel forget every unused inode and dentry, the mount's
// included (the host's too: dentries of files outside any open tree).
void DropCaches() {
  sync();
  const int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "2", 1), 1);
  close(fd);
}

class Export : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"--export"}; }

  // open_by_handle_at on the mount: an fd, or -errno.
  int OpenByHandle(Handle& h, int flags) {
    sys::UniqueFd mount_fd(open(mnt().c_str(), O_RDONLY | O_DIRECTORY));
    const int fd = open_by_handle_at(mount_fd.get(), h.get(), flags);
    return fd >= 0 ? fd : -errno;
  }

  // The mount's handle of the host file `host_path` as the daemon derives
  // it (nodeid and generation from SOURCE's filesystem's handle).
  Handle MountHandleOfHostFile(const std::string& host_path) {
    std::optional<Handle> host = HandleOf(host_path);
    EXPECT_TRUE(host.has_value()) << host_path << ": " << strerror(errno);
    struct statfs sfs;
    EXPECT_EQ(statfs(host_path.c_str(), &sfs), 0);
    const mirror::HandleLayout layout = mirror::LayoutForFilesystem(sfs.f_type);
    sys::HandleBlob blob;
    const size_t n = sizeof(file_handle) + host->get()->handle_bytes;
    blob.bytes.assign(host->bytes.begin(), host->bytes.begin() + static_cast<long>(n));
    std::optional<mirror::HandleIdentity> id = mirror::IdentityOfHandle(blob, layout);
    EXPECT_TRUE(id.has_value()) << "SOURCE's filesystem must be exportable for this test";
    if (!id) return Handle{};
    return ForgedFuseHandle(id->node, id->generation);
  }

  static std::string PathOfFd(int fd) {
    char buf[4096];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "<" + ErrnoName(errno) + ">";
  }

  static std::string ReadFd(int fd) {
    char buf[256];
    const ssize_t n = pread(fd, buf, sizeof(buf), 0);
    return n >= 0 ? std::string(buf, static_cast<size_t>(n)) : "<" + ErrnoName(errno) + ">";
  }
};

TEST_F(Export, AFileHandleStillOpensAfterTheKernelForgotTheInode) {
  ASSERT_EQ(mkdir(Src("d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("d/f"), "kept"));
  std::optional<Handle> h = HandleOf(Mnt("d/f"));
  ASSERT_TRUE(h.has_value()) << strerror(errno);
  EXPECT_EQ(h->get()->handle_type, 0x81) << "the kernel's FUSE handle";
  const long decoded_before = daemon().Stats()["handles_decoded"];
  DropCaches();
  const int fd = OpenByHandle(*h, O_RDWR);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  EXPECT_EQ(ReadFd(fd), "kept");
  ASSERT_EQ(pwrite(fd, "KEPT", 4, 0), 4);
  close(fd);
  EXPECT_EQ(ReadFileOrError(Src("d/f")), "KEPT");
  // The kernel had forgotten it: the daemon found it again from the nodeid.
  EXPECT_GT(daemon().Stats()["handles_decoded"], decoded_before);
  // The same handle, again and again: one object.
  std::optional<Handle> again = HandleOf(Mnt("d/f"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(std::memcmp(again->get()->f_handle, h->get()->f_handle, 12), 0);
}

TEST_F(Export, ADirectoryFoundByHandleIsConnectedThroughItsParents) {
  ASSERT_EQ(mkdir(Src("a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("a/b").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("a/b/c").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("a/b/c/x"), "x"));
  // Made on the host: the watch's invalidations (and their delayed repeats)
  // would unhash the dentries the kernel connects below ("c (deleted)").
  daemon().SettleWatch();
  std::optional<Handle> h = HandleOf(Mnt("a/b/c"));
  ASSERT_TRUE(h.has_value()) << strerror(errno);
  DropCaches();
  const int fd = OpenByHandle(*h, O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  // The kernel asked the daemon for c's parent, then b's, up to the root.
  EXPECT_EQ(PathOfFd(fd), Mnt("a/b/c"));
  EXPECT_EQ(faccessat(fd, "x", F_OK, 0), 0);
  close(fd);
}

TEST_F(Export, HandlesOfRemovedOrReplacedFilesAreStale) {
  ASSERT_TRUE(WriteFile(Src("gone"), "1"));
  std::optional<Handle> h = HandleOf(Mnt("gone"));
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(unlink(Src("gone").c_str()), 0);
  ASSERT_TRUE(WriteFile(Src("gone"), "a new file of the same name"));
  DropCaches();
  EXPECT_EQ(OpenByHandle(*h, O_RDONLY), -ESTALE);
  // Made by hand, the new file's handle opens it.
  Handle now = MountHandleOfHostFile(Src("gone"));
  const int fd = OpenByHandle(now, O_RDONLY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  EXPECT_EQ(ReadFd(fd), "a new file of the same name");
  close(fd);
}

TEST_F(Export, NoHandleOpensAnythingOutsideSource) {
  // ROOT/outside and a directory beside SOURCE are on SOURCE's filesystem:
  // their nodeids are well formed, and the daemon can open them by handle.
  ASSERT_TRUE(WriteFile(root() + "/outside", "not yours"));
  ASSERT_EQ(mkdir((root() + "/beside").c_str(), 0755), 0);
  const long refused_before = daemon().Stats()["handles_refused"];
  for (const std::string& host : {root() + "/outside", root() + "/beside", root()}) {
    SCOPED_TRACE(host);
    Handle forged = MountHandleOfHostFile(host);
    EXPECT_EQ(OpenByHandle(forged, O_RDONLY), -ESTALE);
    EXPECT_EQ(OpenByHandle(forged, O_PATH), -ESTALE);
  }
  EXPECT_GE(daemon().Stats()["handles_refused"], refused_before + 3);
  // A hard link into SOURCE makes the same file legitimately reachable;
  // once the mount has shown it, its handle keeps opening it after the
  // kernel forgot it (with no name of it under SOURCE in the host's cache).
  ASSERT_EQ(link((root() + "/outside").c_str(), Src("linked").c_str()), 0);
  struct stat st;
  ASSERT_EQ(lstat(Mnt("linked").c_str(), &st), 0);
  DropCaches();
  Handle forged = MountHandleOfHostFile(root() + "/outside");
  const int fd = OpenByHandle(forged, O_RDONLY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  EXPECT_EQ(ReadFd(fd), "not yours");
  close(fd);
}

TEST_F(Export, AFileTheMountNeverShowedIsStaleOnceItsNameIsForgotten) {
  // SOURCE is a directory of a larger filesystem: a file has no way up, so
  // one the daemon never handed out counts as in SOURCE only while the
  // host's cache knows a name of it there (docs/persistent-identity.md).
  ASSERT_TRUE(WriteFile(Src("never-looked-up"), "x"));
  Handle forged = MountHandleOfHostFile(Src("never-looked-up"));
  DropCaches();
  EXPECT_EQ(OpenByHandle(forged, O_RDONLY), -ESTALE);
  // Its name looked up on the host again, it is provable.
  struct stat st;
  ASSERT_EQ(lstat(Src("never-looked-up").c_str(), &st), 0);
  const int fd = OpenByHandle(forged, O_RDONLY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  close(fd);
}

class ExportOfAFilesystemRoot : public Export {
 protected:
  void PrepareSource() override {
    ASSERT_EQ(mount("ptfs-export-root", src().c_str(), "tmpfs", 0, "size=4m"), 0);
    ASSERT_TRUE(WriteFile(Src("made-on-the-host"), "host"));
  }
  void TearDown() override {
    // The daemon serves its own clone of this mount: it can go first.
    umount2(src().c_str(), MNT_DETACH);
    Export::TearDown();
  }
};

TEST_F(ExportOfAFilesystemRoot, EveryFileOfItOpensByHandle) {
  // SOURCE is its filesystem's root: every inode of it is in SOURCE.
  Handle forged = MountHandleOfHostFile(Src("made-on-the-host"));
  DropCaches();
  const int fd = OpenByHandle(forged, O_RDONLY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  EXPECT_EQ(ReadFd(fd), "host");
  close(fd);
}

TEST_F(Export, GarbageHandlesAreStale) {
  for (NodeId node : {NodeId{0}, NodeId{2}, NodeId{0xffffffffffffffffULL},
                      NodeId{0x12345678ULL << 32 | 0x7fffffff}}) {
    SCOPED_TRACE(node.value);
    Handle forged = ForgedFuseHandle(node, static_cast<uint32_t>(node.value >> 32));
    const int rc = OpenByHandle(forged, O_RDONLY);
    EXPECT_EQ(rc, -ESTALE);
  }
}

class ExportOverMounts : public Export {
 protected:
  // Mounted before the daemon starts: it reaches SOURCE through a clone of
  // the mounts there at that time.
  void PrepareSource() override {
    ASSERT_EQ(mkdir(Src("sub").c_str(), 0755), 0);
    ASSERT_EQ(mount("ptfs-export-sub", Src("sub").c_str(), "tmpfs", 0, "size=1m"), 0);
    ASSERT_TRUE(WriteFile(Src("sub/x"), "x"));
  }
  void TearDown() override {
    umount2(Src("sub").c_str(), MNT_DETACH);
    Export::TearDown();
  }
};

TEST_F(ExportOverMounts, MountsInsideSourceAnswerExdev) {
  struct stat st;
  EXPECT_EQ(lstat(Mnt("sub").c_str(), &st), -1);
  EXPECT_EQ(ErrnoName(errno), "EXDEV");
  EXPECT_EQ(lstat(Mnt("sub/x").c_str(), &st), -1);
  EXPECT_EQ(ErrnoName(errno), "EXDEV");
  EXPECT_NE(daemon().Log().find("cannot be exported"), std::string::npos) << daemon().Log();
}

class ExportHide : public Export {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--export", "--hide=*.key", "--hide=build/*/cache"};
  }
};

TEST_F(ExportHide, HiddenFilesCannotBeOpenedByHandle) {
  ASSERT_TRUE(WriteFile(Src("a.key"), "secret"));
  ASSERT_EQ(mkdir(Src("keys.key").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("keys.key/inner"), "below a hidden directory"));
  ASSERT_EQ(mkdir(Src("build").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("build/x").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("build/x/cache").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Src("build/x/cache/deep").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("visible"), "visible"));
  for (const char* hidden : {"a.key", "keys.key", "keys.key/inner", "build/x/cache",
                             "build/x/cache/deep"}) {
    SCOPED_TRACE(hidden);
    Handle forged = MountHandleOfHostFile(Src(hidden));
    EXPECT_EQ(OpenByHandle(forged, O_RDONLY), -ESTALE);
  }
  Handle forged = MountHandleOfHostFile(Src("visible"));
  const int fd = OpenByHandle(forged, O_RDONLY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  EXPECT_EQ(ReadFd(fd), "visible");
  close(fd);
}

// --export-table: nodeids from the persistent table (what a filesystem
// whose handles are not an inode number and a generation gets, forced here
// on ext4). Handles keep opening their files after the kernel forgot them
// and after a remount by a new daemon (the table is read back from the
// state directory); a handle for a nodeid the table never gave is stale.
class ExportTable : public Export {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--export", "--export-table", "--state-dir=" + root() + "/state"};
  }
};

TEST_F(ExportTable, HandlesOutliveTheInodeAndTheDaemon) {
  ASSERT_EQ(mkdir(Src("d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(Src("d/f"), "kept"));
  daemon().SettleWatch();
  std::optional<Handle> file = HandleOf(Mnt("d/f"));
  std::optional<Handle> dir = HandleOf(Mnt("d"));
  ASSERT_TRUE(file.has_value() && dir.has_value()) << strerror(errno);
  DropCaches();
  int fd = OpenByHandle(*file, O_RDONLY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  EXPECT_EQ(ReadFd(fd), "kept");
  close(fd);
  // Remounted by a new daemon with the same state directory.
  ASSERT_TRUE(daemon().Stop());
  ASSERT_TRUE(daemon().Start(src(), mnt(), DaemonArgs(), root() + "/daemon2.log"));
  fd = OpenByHandle(*file, O_RDONLY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  EXPECT_EQ(ReadFd(fd), "kept");
  close(fd);
  fd = OpenByHandle(*dir, O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0) << ErrnoName(-fd);
  EXPECT_EQ(PathOfFd(fd), Mnt("d"));
  close(fd);
  // The same object has the same handle in the new daemon.
  std::optional<Handle> again = HandleOf(Mnt("d/f"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(std::memcmp(again->get()->f_handle, file->get()->f_handle, 12), 0);
  // A nodeid the table never gave (the file's plus one shard step) is stale.
  Handle forged = *file;
  uint32_t low;
  std::memcpy(&low, forged.get()->f_handle + 4, 4);
  low += 1000u << 8;
  std::memcpy(forged.get()->f_handle + 4, &low, 4);
  EXPECT_EQ(OpenByHandle(forged, O_RDONLY), -ESTALE);
  // The table is a file of the state directory, a record per object shown.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(root() + "/state")) {
    EXPECT_EQ(e.path().filename().string().rfind("nodeids-", 0), 0u);
    EXPECT_GE(e.file_size(), 2 * sizeof(mirror::NodeTable::Record));
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

}  // namespace
}  // namespace ptfs::mounttest
