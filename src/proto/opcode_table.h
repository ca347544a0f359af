// One constexpr table describing every opcode: how to validate its request
// before dispatch. The session consults it exactly once per request.
#pragma once

#include <cstdint>

namespace ptfs::proto {

// What kind of NUL-terminated strings follow the fixed argument.
enum class Strings : uint8_t {
  kNone,
  kName,          // one entry name
  kLookupName,    // LOOKUP's: an entry name, or "." / ".." (FUSE_EXPORT_SUPPORT)
  kTwoNames,      // old name, new name (RENAME, RENAME2)
  kNameAndPath,   // name, symlink target (SYMLINK)
  kXattrName,     // one xattr name (GETXATTR, REMOVEXATTR)
  kXattrAndValue, // xattr name then `size` bytes of value (SETXATTR)
  kTmpName,       // TMPFILE: the kernel sends "/" (a placeholder, ignored)
};

// What follows the fixed argument besides strings.
enum class Payload : uint8_t {
  kNone,
  kWriteData,    // exactly fuse_write_in.size bytes
  kForgetArray,  // fuse_batch_forget_in.count entries of fuse_forget_one
  kAny,          // opaque (NOTIFY_REPLY, IOCTL input, ...)
};

struct OpInfo {
  const char* name = nullptr;  // nullptr: opcode unknown to us
  uint32_t fixed_size = 0;     // bytes of the fixed argument struct
  Strings strings = Strings::kNone;
  Payload payload = Payload::kNone;
  bool answered = true;        // FORGET, BATCH_FORGET, INTERRUPT(*) get no reply
  bool needs_node = true;      // nodeid must name a live inode
};

// Returns the entry for an opcode; .name == nullptr for unknown opcodes.
const OpInfo& LookupOp(uint32_t opcode);
const char* OpName(uint32_t opcode);

}  // namespace ptfs::proto
