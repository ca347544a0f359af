// What the system's <linux/fuse.h> says, exported by name from a translation
// unit of its own: that header defines the same names as macros that our
// src/abi/fuse_abi.h defines as constants, so the two cannot meet in one file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ptfs::unit_test {

struct NamedValue {
  std::string name;
  uint64_t value;
};

struct SystemFuseHeader {
  uint32_t major = 0;
  uint32_t minor = 0;
  std::vector<NamedValue> opcodes;     // enum fuse_opcode
  std::vector<NamedValue> init_flags;  // FUSE_* INIT flags, 64-bit
  std::vector<NamedValue> fattr;       // FATTR_*
  std::vector<NamedValue> fopen;       // FOPEN_*
  std::vector<NamedValue> other;       // other flags and constants
  std::vector<NamedValue> sizes;       // "struct" -> sizeof
  std::vector<NamedValue> offsets;     // "struct.field" -> offsetof
  uint64_t dev_ioc_clone = 0;
  bool has_backing_ioctls = false;  // 7.40+
  uint64_t dev_ioc_backing_open = 0;
  uint64_t dev_ioc_backing_close = 0;
};

const SystemFuseHeader& SystemHeader();

// FUSE_DIRENT_SIZE / FUSE_DIRENTPLUS_SIZE for a name of `namelen` bytes.
uint64_t SystemDirentSize(uint32_t namelen, bool plus);

}  // namespace ptfs::unit_test
