// Decoding one request message from the kernel. Pure: reads the caller's
// buffer, never copies payloads, never calls the OS.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "abi/fuse_abi.h"
#include "proto/opcode_table.h"
#include "ptfs/result.h"

namespace ptfs::proto {

inline constexpr size_t kNameMax = 255;       // NAME_MAX
inline constexpr size_t kPathMax = 4096;      // PATH_MAX, including the NUL
inline constexpr size_t kXattrNameMax = 255;  // XATTR_NAME_MAX
inline constexpr size_t kXattrSizeMax = 65536;

// A validated request. Views point into the message buffer, which must outlive it
// (except `groups`, which is copied: see below).
struct Request {
  abi::fuse_in_header header{};
  const OpInfo* op = nullptr;
  std::span<const char> arg;      // the fixed argument (op->fixed_size bytes or more for INIT)
  std::string_view name;          // first string, without its NUL
  std::string_view name2;         // second string (new name, symlink target)
  std::span<const char> payload;  // write data, xattr value, forget array, opaque
  // FUSE_EXT_GROUPS, if present. Copied out of the message: the kernel appends
  // the extension area right after the last string, so it is not 4-byte aligned
  // in general and cannot be viewed as uint32_t in place.
  std::vector<uint32_t> groups;

  // The fixed argument as a struct (copied: the buffer may be unaligned).
  template <typename T>
  T Arg() const {
    T value{};
    std::memcpy(&value, arg.data(), std::min(sizeof(T), arg.size()));
    return value;
  }
};

struct DecodeOptions {
  bool setxattr_ext = false;  // FUSE_SETXATTR_EXT negotiated: 16-byte fuse_setxattr_in
};

// The outcome of decoding a message that could not be accepted.
struct DecodeFailure {
  bool can_reply = false;  // false: not even a unique to answer to
  uint64_t unique = 0;
  uint32_t opcode = 0;
  Errno error;
};

// Validates `msg` (exactly one message as read from the device) against the
// opcode table. On failure, says whether and with which errno to answer:
// EIO for broken framing, ENOSYS for unknown opcodes, EINVAL for malformed
// bodies, ENAMETOOLONG for over-long names, ERANGE for bad xattr names.
bool DecodeRequest(std::span<const char> msg, const DecodeOptions& opts, Request* out,
                   DecodeFailure* failure);

}  // namespace ptfs::proto
