#include "mirror/handle_identity.h"

#include <fcntl.h>

#include <cstring>

namespace ptfs::mirror {
namespace {

// statfs f_type values (linux/magic.h).
constexpr int64_t kExt4Magic = 0xEF53;  // ext2, ext3 and ext4 share it
constexpr int64_t kTmpfsMagic = 0x01021994;
constexpr int64_t kXfsMagic = 0x58465342;

constexpr int kTypeIno32Gen = 1;     // FILEID_INO32_GEN; tmpfs returns it too
constexpr int kTypeXfsIno64 = 0x81;  // FILEID_INO32_GEN | XFS_FILEID_TYPE_64FLAG

struct Words {
  int type = 0;
  unsigned count = 0;
  uint32_t w[3] = {0, 0, 0};
};

// The header (handle_bytes, handle_type) and up to three u32 words.
std::optional<Words> Read(const sys::HandleBlob& h) {
  constexpr size_t kHeader = sizeof(struct file_handle);
  if (h.bytes.size() < kHeader) return std::nullopt;
  struct file_handle fh;
  std::memcpy(&fh, h.bytes.data(), kHeader);
  if (fh.handle_bytes % 4 != 0 || fh.handle_bytes > 12 ||
      h.bytes.size() != kHeader + fh.handle_bytes) {
    return std::nullopt;
  }
  Words words;
  words.type = fh.handle_type;
  words.count = fh.handle_bytes / 4;
  std::memcpy(words.w, h.bytes.data() + kHeader, fh.handle_bytes);
  return words;
}

sys::HandleBlob Write(int type, std::initializer_list<uint32_t> words) {
  struct file_handle fh;
  fh.handle_bytes = static_cast<unsigned>(words.size() * 4);
  fh.handle_type = type;
  sys::HandleBlob h;
  h.bytes.resize(sizeof(fh) + fh.handle_bytes);
  std::memcpy(h.bytes.data(), &fh, sizeof(fh));
  size_t at = sizeof(fh);
  for (uint32_t w : words) {
    std::memcpy(h.bytes.data() + at, &w, 4);
    at += 4;
  }
  return h;
}

std::optional<HandleIdentity> Make(uint64_t ino, uint32_t generation) {
  if (ino > UINT32_MAX) return std::nullopt;
  const uint64_t node = uint64_t{generation} << 32 | ino;
  if (node <= 1) return std::nullopt;
  return HandleIdentity{NodeId{node}, generation};
}

}  // namespace

HandleLayout LayoutForFilesystem(int64_t f_type) {
  switch (f_type) {
    case kExt4Magic:
      return HandleLayout::kIno32Gen;
    case kTmpfsMagic:
      return HandleLayout::kShmem;
    case kXfsMagic:
      // Both forms occur on one xfs (inode64): told apart per handle.
      return HandleLayout::kXfsIno64;
    default:
      return HandleLayout::kNone;
  }
}

std::optional<HandleIdentity> IdentityOfHandle(const sys::HandleBlob& handle,
                                               HandleLayout layout) {
  const std::optional<Words> h = Read(handle);
  if (!h) return std::nullopt;
  switch (layout) {
    case HandleLayout::kNone:
    case HandleLayout::kTable:  // the table knows, not the handle
      return std::nullopt;
    case HandleLayout::kIno32Gen:
      if (h->type != kTypeIno32Gen || h->count != 2) return std::nullopt;
      return Make(h->w[0], h->w[1]);
    case HandleLayout::kShmem:
      if (h->type != kTypeIno32Gen || h->count != 3) return std::nullopt;
      return Make(uint64_t{h->w[2]} << 32 | h->w[1], h->w[0]);
    case HandleLayout::kXfsIno64:
      if (h->type == kTypeIno32Gen && h->count == 2) return Make(h->w[0], h->w[1]);
      if (h->type != kTypeXfsIno64 || h->count != 3) return std::nullopt;
      return Make(uint64_t{h->w[1]} << 32 | h->w[0], h->w[2]);
  }
  return std::nullopt;
}

std::optional<sys::HandleBlob> HandleOfNode(NodeId node, HandleLayout layout) {
  const auto ino = static_cast<uint32_t>(node.value);
  const auto generation = static_cast<uint32_t>(node.value >> 32);
  switch (layout) {
    case HandleLayout::kNone:
    case HandleLayout::kTable:
      return std::nullopt;
    case HandleLayout::kIno32Gen:
      return Write(kTypeIno32Gen, {ino, generation});
    case HandleLayout::kXfsIno64:
      // The form an inode64 xfs (its default) writes; xfs reads both.
      return Write(kTypeXfsIno64, {ino, 0, generation});
    case HandleLayout::kShmem:
      return Write(kTypeIno32Gen, {generation, ino, 0});
  }
  return std::nullopt;
}

}  // namespace ptfs::mirror
