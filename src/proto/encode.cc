#include "proto/encode.h"

#include <sys/sysmacros.h>

#include <cassert>
#include <cstring>

namespace ptfs::proto {

void EncodeAttr(const struct statx& stx, abi::fuse_attr* out) {
  *out = abi::fuse_attr{};
  out->ino = stx.stx_ino;
  out->size = stx.stx_size;
  out->blocks = stx.stx_blocks;
  out->atime = static_cast<uint64_t>(stx.stx_atime.tv_sec);
  out->mtime = static_cast<uint64_t>(stx.stx_mtime.tv_sec);
  out->ctime = static_cast<uint64_t>(stx.stx_ctime.tv_sec);
  out->atimensec = stx.stx_atime.tv_nsec;
  out->mtimensec = stx.stx_mtime.tv_nsec;
  out->ctimensec = stx.stx_ctime.tv_nsec;
  out->mode = stx.stx_mode;
  out->nlink = stx.stx_nlink;
  out->uid = stx.stx_uid;
  out->gid = stx.stx_gid;
  // The kernel decodes rdev with new_decode_dev(): 12-bit major, 20-bit minor.
  const uint32_t major = stx.stx_rdev_major, minor = stx.stx_rdev_minor;
  out->rdev = (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffU) << 12);
  out->blksize = stx.stx_blksize;
}

void EncodeStatx(const struct statx& stx, abi::fuse_statx* out) {
  *out = abi::fuse_statx{};
  out->mask = stx.stx_mask;
  out->blksize = stx.stx_blksize;
  out->attributes = stx.stx_attributes;
  out->nlink = stx.stx_nlink;
  out->uid = stx.stx_uid;
  out->gid = stx.stx_gid;
  out->mode = stx.stx_mode;
  out->ino = stx.stx_ino;
  out->size = stx.stx_size;
  out->blocks = stx.stx_blocks;
  out->attributes_mask = stx.stx_attributes_mask;
  auto time = [](const struct statx_timestamp& t) {
    return abi::fuse_sx_time{t.tv_sec, t.tv_nsec, 0};
  };
  out->atime = time(stx.stx_atime);
  out->btime = time(stx.stx_btime);
  out->ctime = time(stx.stx_ctime);
  out->mtime = time(stx.stx_mtime);
  out->rdev_major = stx.stx_rdev_major;
  out->rdev_minor = stx.stx_rdev_minor;
  out->dev_major = stx.stx_dev_major;
  out->dev_minor = stx.stx_dev_minor;
}

void EncodeStatfs(const struct statvfs& st, abi::fuse_kstatfs* out) {
  *out = abi::fuse_kstatfs{};
  out->blocks = st.f_blocks;
  out->bfree = st.f_bfree;
  out->bavail = st.f_bavail;
  out->files = st.f_files;
  out->ffree = st.f_ffree;
  out->bsize = static_cast<uint32_t>(st.f_bsize);
  out->namelen = static_cast<uint32_t>(st.f_namemax);
  out->frsize = static_cast<uint32_t>(st.f_frsize);
}

abi::fuse_out_header MakeOutHeader(uint64_t unique, int error_positive, size_t payload_len) {
  abi::fuse_out_header h{};
  h.len = static_cast<uint32_t>(sizeof(abi::fuse_out_header) + payload_len);
  h.error = -error_positive;
  h.unique = unique;
  return h;
}

size_t DirentPacker::RecordSize(size_t namelen, bool plus) {
  const size_t raw = (plus ? sizeof(abi::fuse_direntplus) : sizeof(abi::fuse_dirent)) + namelen;
  return (raw + abi::kDirentAlign - 1) & ~(abi::kDirentAlign - 1);
}

void DirentPacker::PutDirent(char* at, std::string_view name, uint64_t ino, uint32_t dtype,
                             uint64_t next_off) {
  abi::fuse_dirent d{ino, next_off, static_cast<uint32_t>(name.size()), dtype};
  std::memcpy(at, &d, sizeof(d));
  std::memcpy(at + sizeof(d), name.data(), name.size());
}

void DirentPacker::Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next_off) {
  assert(!plus_ && Fits(name.size()));
  const size_t rec = RecordSize(name.size(), false);
  std::memset(buf_.data() + used_, 0, rec);
  PutDirent(buf_.data() + used_, name, ino, dtype, next_off);
  used_ += rec;
}

void DirentPacker::AddPlus(std::string_view name, const abi::fuse_entry_out& entry,
                           uint64_t next_off) {
  assert(plus_ && Fits(name.size()));
  const size_t rec = RecordSize(name.size(), true);
  char* at = buf_.data() + used_;
  std::memset(at, 0, rec);
  std::memcpy(at, &entry, sizeof(entry));
  PutDirent(at + sizeof(entry), name, entry.attr.ino, DirentType(entry.attr.mode), next_off);
  used_ += rec;
}

}  // namespace ptfs::proto
