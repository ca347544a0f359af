// Encoding reply payloads: attributes, statx, statfs, directory entries.
// Pure functions over caller buffers.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "abi/fuse_abi.h"

namespace ptfs::proto {

void EncodeAttr(const struct statx& stx, abi::fuse_attr* out);
void EncodeStatx(const struct statx& stx, abi::fuse_statx* out);
void EncodeStatfs(const struct statvfs& st, abi::fuse_kstatfs* out);
abi::fuse_out_header MakeOutHeader(uint64_t unique, int error_positive, size_t payload_len);

// DT_* type for a mode.
constexpr uint32_t DirentType(uint32_t mode) { return (mode & S_IFMT) >> 12; }

// Packs fuse_dirent (READDIR) or fuse_direntplus (READDIRPLUS) records into a
// buffer of the request's size. Each record is padded to 8 bytes.
class DirentPacker {
 public:
  DirentPacker(std::span<char> buf, bool plus) : buf_(buf), plus_(plus) {}

  static size_t RecordSize(size_t namelen, bool plus);
  bool Fits(size_t namelen) const { return used_ + RecordSize(namelen, plus_) <= buf_.size(); }
  // REQUIRES: Fits(name.size()); !plus().
  void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next_off);
  // REQUIRES: Fits(name.size()); plus().
  void AddPlus(std::string_view name, const abi::fuse_entry_out& entry, uint64_t next_off);

  bool plus() const { return plus_; }
  size_t used() const { return used_; }

 private:
  void PutDirent(char* at, std::string_view name, uint64_t ino, uint32_t dtype,
                 uint64_t next_off);
  std::span<char> buf_;
  bool plus_;
  size_t used_ = 0;
};

}  // namespace ptfs::proto
