// Test helpers that write FUSE wire bytes by hand.
//
// Expected bytes in the unit tier are built here, integer by integer and byte by
// byte, never by copying the structs under test, so a wrong size, offset or
// field order in src/abi or src/proto shows up as a byte mismatch.
#pragma once

#include <bit>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ptfs::unit_test {

static_assert(std::endian::native == std::endian::little,
              "the golden bytes in this tier are written little-endian");

class Bytes {
 public:
  Bytes& U8(uint8_t v) {
    bytes_.push_back(static_cast<char>(v));
    return *this;
  }
  Bytes& U16(uint16_t v) { return Le(v, 2); }
  Bytes& U32(uint32_t v) { return Le(v, 4); }
  Bytes& U64(uint64_t v) { return Le(v, 8); }
  Bytes& I32(int32_t v) { return Le(static_cast<uint32_t>(v), 4); }
  Bytes& I64(int64_t v) { return Le(static_cast<uint64_t>(v), 8); }
  // Characters without a terminator.
  Bytes& Raw(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  // A C string: the characters, then one NUL.
  Bytes& Str(std::string_view s) { return Raw(s).U8(0); }
  Bytes& Zeros(size_t n) { return Fill(n, 0); }
  Bytes& Fill(size_t n, uint8_t v) {
    bytes_.insert(bytes_.end(), n, static_cast<char>(v));
    return *this;
  }
  Bytes& Append(const Bytes& other) {
    bytes_.insert(bytes_.end(), other.bytes_.begin(), other.bytes_.end());
    return *this;
  }

  size_t size() const { return bytes_.size(); }
  const char* data() const { return bytes_.data(); }
  const std::vector<char>& vec() const { return bytes_; }
  std::span<const char> span() const { return bytes_; }

 private:
  Bytes& Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::vector<char> bytes_;
};

// Default header values; each field distinct so a misplaced field is visible.
inline constexpr uint64_t kUnique = 0x0123456789abcdefULL;
inline constexpr uint64_t kNodeId = 0x0000000200000003ULL;
inline constexpr uint32_t kUid = 1001;
inline constexpr uint32_t kGid = 1002;
inline constexpr uint32_t kPid = 4242;
inline constexpr size_t kInHeaderSize = 40;

struct MessageSpec {
  uint32_t opcode = 0;
  uint64_t unique = kUnique;
  uint64_t nodeid = kNodeId;
  int64_t len_delta = 0;  // added to the true length in the len field
};

// fuse_in_header (40 bytes) + body + extension area.
inline std::vector<char> Message(const MessageSpec& spec, const Bytes& body,
                                 const Bytes& ext = Bytes()) {
  const size_t total = kInHeaderSize + body.size() + ext.size();
  Bytes m;
  m.U32(static_cast<uint32_t>(static_cast<int64_t>(total) + spec.len_delta))  // len
      .U32(spec.opcode)
      .U64(spec.unique)
      .U64(spec.nodeid)
      .U32(kUid)
      .U32(kGid)
      .U32(kPid)
      .U16(static_cast<uint16_t>(ext.size() / 8))  // total_extlen
      .U16(0)                                      // padding
      .Append(body)
      .Append(ext);
  return m.vec();
}

inline std::vector<char> Message(uint32_t opcode, const Bytes& body,
                                 const Bytes& ext = Bytes()) {
  return Message(MessageSpec{.opcode = opcode}, body, ext);
}

// "00 01 ff ..." for readable byte mismatches.
inline std::string Hex(std::span<const char> bytes) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", static_cast<unsigned char>(bytes[i]));
    if (i != 0) s += (i % 8 == 0) ? " | " : " ";
    s += buf;
  }
  return s;
}

template <typename T>
std::span<const char> ObjectBytes(const T& value) {
  return {reinterpret_cast<const char*>(&value), sizeof(T)};
}

}  // namespace ptfs::unit_test
