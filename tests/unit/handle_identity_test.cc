// Nodeids derived from SOURCE's file handles (mirror/handle_identity.h):
// each layout round-trips, malformed or out-of-range handles are refused,
// and real handles of this machine's ext4 (/tmp) and tmpfs (/dev/shm)
// decode to their inode numbers.
#include "mirror/handle_identity.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace ptfs::mirror {
namespace {

sys::HandleBlob Blob(int type, std::initializer_list<uint32_t> words) {
  struct file_handle fh;
  fh.handle_bytes = static_cast<unsigned>(words.size() * 4);
  fh.handle_type = type;
  sys::HandleBlob h;
  h.bytes.resize(sizeof(fh));
  std::memcpy(h.bytes.data(), &fh, sizeof(fh));
  for (uint32_t w : words) {
    h.bytes.resize(h.bytes.size() + 4);
    std::memcpy(h.bytes.data() + h.bytes.size() - 4, &w, 4);
  }
  return h;
}

TEST(HandleIdentity, Ext4HandleIsInoAndGeneration) {
  const auto id = IdentityOfHandle(Blob(1, {0x00a762e2, 0xa6941c6b}), HandleLayout::kIno32Gen);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->node.value, 0xa6941c6b00a762e2ULL);
  EXPECT_EQ(id->generation, 0xa6941c6bu);
  EXPECT_EQ(HandleOfNode(id->node, HandleLayout::kIno32Gen)->bytes,
            Blob(1, {0x00a762e2, 0xa6941c6b}).bytes);
}

TEST(HandleIdentity, TmpfsHandleIsGenerationThenIno) {
  const auto id = IdentityOfHandle(Blob(1, {0xe25c698d, 2, 0}), HandleLayout::kShmem);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->node.value, 0xe25c698d00000002ULL);
  EXPECT_EQ(id->generation, 0xe25c698du);
  EXPECT_EQ(HandleOfNode(id->node, HandleLayout::kShmem)->bytes, Blob(1, {0xe25c698d, 2, 0}).bytes);
}

TEST(HandleIdentity, XfsTakesBothFormsAndWritesTheLongOne) {
  const auto short_form = IdentityOfHandle(Blob(1, {131, 7}), HandleLayout::kXfsIno64);
  const auto long_form = IdentityOfHandle(Blob(0x81, {131, 0, 7}), HandleLayout::kXfsIno64);
  ASSERT_TRUE(short_form && long_form);
  EXPECT_EQ(*short_form, *long_form);
  EXPECT_EQ(HandleOfNode(long_form->node, HandleLayout::kXfsIno64)->bytes,
            Blob(0x81, {131, 0, 7}).bytes);
}

TEST(HandleIdentity, RefusesWhatItCannotNameExactly) {
  // An inode number past 32 bits cannot share a nodeid with its generation.
  EXPECT_FALSE(IdentityOfHandle(Blob(1, {1, 2, 1}), HandleLayout::kShmem));
  EXPECT_FALSE(IdentityOfHandle(Blob(0x81, {5, 1, 9}), HandleLayout::kXfsIno64));
  // Wrong type or length for the layout.
  EXPECT_FALSE(IdentityOfHandle(Blob(2, {5, 9}), HandleLayout::kIno32Gen));
  EXPECT_FALSE(IdentityOfHandle(Blob(1, {5, 9, 0}), HandleLayout::kIno32Gen));
  EXPECT_FALSE(IdentityOfHandle(Blob(1, {5, 9}), HandleLayout::kShmem));
  EXPECT_FALSE(IdentityOfHandle(Blob(0x4d, {1, 2, 3}), HandleLayout::kNone));
  // A blob whose header disagrees with its size.
  sys::HandleBlob cut = Blob(1, {5, 9});
  cut.bytes.pop_back();
  EXPECT_FALSE(IdentityOfHandle(cut, HandleLayout::kIno32Gen));
  // Nodeids 0 and 1 are not for files: generation 0 and inode 0 or 1.
  EXPECT_FALSE(IdentityOfHandle(Blob(1, {1, 0}), HandleLayout::kIno32Gen));
  EXPECT_FALSE(IdentityOfHandle(Blob(1, {0, 0}), HandleLayout::kIno32Gen));
  EXPECT_FALSE(HandleOfNode(NodeId{42}, HandleLayout::kNone));
}

TEST(HandleIdentity, LayoutsByFilesystemMagic) {
  EXPECT_EQ(LayoutForFilesystem(0xEF53), HandleLayout::kIno32Gen);
  EXPECT_EQ(LayoutForFilesystem(0x01021994), HandleLayout::kShmem);
  EXPECT_EQ(LayoutForFilesystem(0x58465342), HandleLayout::kXfsIno64);
  EXPECT_EQ(LayoutForFilesystem(0x9123683E), HandleLayout::kNone);  // btrfs
}

// A real file's handle on `dir`'s filesystem decodes to its inode number,
// and the handle rebuilt from the nodeid opens the same file.
void CheckRealHandle(const std::string& dir) {
  struct statfs fs;
  ASSERT_EQ(statfs(dir.c_str(), &fs), 0);
  const HandleLayout layout = LayoutForFilesystem(fs.f_type);
  ASSERT_NE(layout, HandleLayout::kNone) << dir << " is not ext4, tmpfs or xfs here";
  const std::string path = dir + "/ptfs-handle-identity-" + std::to_string(getpid());
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  int mount_id;
  auto handle = sys::NameToHandle(AT_FDCWD, path.c_str(), &mount_id);
  ASSERT_TRUE(handle.ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  const auto id = IdentityOfHandle(*handle, layout);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->node.value & 0xFFFFFFFFu, st.st_ino);
  // The same bytes as the handle the filesystem gave (xfs aside: it may
  // write either form).
  if (layout != HandleLayout::kXfsIno64) {
    EXPECT_EQ(HandleOfNode(id->node, layout)->bytes, handle->bytes);
  }
  if (geteuid() == 0) {  // open_by_handle_at needs CAP_DAC_READ_SEARCH
    // Not O_PATH: open_by_handle_at answers EBADF for an O_PATH mount fd.
    const int mount_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    auto reopened = sys::OpenByHandle(mount_fd, *HandleOfNode(id->node, layout), O_PATH);
    ASSERT_TRUE(reopened.ok()) << strerror(reopened.error().value());
    struct stat again;
    ASSERT_EQ(fstat(reopened->get(), &again), 0);
    EXPECT_EQ(again.st_ino, st.st_ino);
    close(mount_fd);
  }
  unlink(path.c_str());
}

TEST(HandleIdentity, RealExt4HandleOfTmp) { CheckRealHandle("/tmp"); }
TEST(HandleIdentity, RealTmpfsHandleOfDevShm) { CheckRealHandle("/dev/shm"); }

}  // namespace
}  // namespace ptfs::mirror
