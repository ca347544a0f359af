// src/proto/encode DirentPacker: READDIR and READDIRPLUS record layout.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "abi/fuse_abi.h"
#include "gtest/gtest.h"
#include "proto/encode.h"
#include "wire.h"

namespace ptfs::proto {
namespace {

namespace abi = ::ptfs::abi;
using unit_test::Bytes;
using unit_test::Hex;

constexpr uint8_t kPoison = 0xaa;

std::span<const char> Used(const std::vector<char>& buf, size_t n) {
  return std::span<const char>(buf).first(n);
}

TEST(DirentRecordSize, Plain) {
  // 24-byte fuse_dirent + name, rounded up to 8.
  const std::pair<size_t, size_t> kSizes[] = {
      {0, 24}, {1, 32}, {7, 32}, {8, 32}, {9, 40}, {16, 40}, {17, 48}, {255, 280}, {256, 280},
  };
  for (const auto& [len, size] : kSizes) {
    EXPECT_EQ(DirentPacker::RecordSize(len, false), size) << len;
  }
}

TEST(DirentRecordSize, Plus) {
  // 128-byte fuse_entry_out + 24-byte fuse_dirent + name, rounded up to 8.
  const std::pair<size_t, size_t> kSizes[] = {
      {0, 152}, {1, 160}, {7, 160}, {8, 160}, {9, 168}, {16, 168}, {17, 176}, {255, 408},
  };
  for (const auto& [len, size] : kSizes) {
    EXPECT_EQ(DirentPacker::RecordSize(len, true), size) << len;
  }
}

TEST(DirentType, MatchesDtConstants) {
  EXPECT_EQ(DirentType(S_IFREG | 0644), static_cast<uint32_t>(DT_REG));
  EXPECT_EQ(DirentType(S_IFDIR | 0755), static_cast<uint32_t>(DT_DIR));
  EXPECT_EQ(DirentType(S_IFLNK | 0777), static_cast<uint32_t>(DT_LNK));
  EXPECT_EQ(DirentType(S_IFCHR), static_cast<uint32_t>(DT_CHR));
  EXPECT_EQ(DirentType(S_IFBLK), static_cast<uint32_t>(DT_BLK));
  EXPECT_EQ(DirentType(S_IFIFO), static_cast<uint32_t>(DT_FIFO));
  EXPECT_EQ(DirentType(S_IFSOCK | 04777), static_cast<uint32_t>(DT_SOCK));
  EXPECT_EQ(DirentType(0), static_cast<uint32_t>(DT_UNKNOWN));
}

// One record: ino, off, namelen, type, name, zero padding to 8.
Bytes DirentBytes(uint64_t ino, uint64_t off, std::string_view name, uint32_t type) {
  Bytes b;
  b.U64(ino).U64(off).U32(static_cast<uint32_t>(name.size())).U32(type).Raw(name);
  b.Zeros((8 - b.size() % 8) % 8);
  return b;
}

TEST(DirentPacker, LayoutForNameLengths) {
  for (size_t len : {1u, 7u, 8u, 9u, 255u}) {
    SCOPED_TRACE(len);
    std::string name;
    for (size_t i = 0; i < len; ++i) name += static_cast<char>('a' + i % 26);
    std::vector<char> buf(512, static_cast<char>(kPoison));
    DirentPacker p(buf, /*plus=*/false);
    ASSERT_TRUE(p.Fits(len));
    p.Add(name, 0x1000 + len, DT_REG, 0x7000000000000000 + len);
    const Bytes want = DirentBytes(0x1000 + len, 0x7000000000000000 + len, name, 8);
    ASSERT_EQ(p.used(), want.size());
    EXPECT_EQ(Hex(Used(buf, p.used())), Hex(want.span()));
    // Nothing written past the record.
    EXPECT_EQ(static_cast<uint8_t>(buf[p.used()]), kPoison);
  }
}

TEST(DirentPacker, LiteralBytesForOneCharName) {
  std::vector<char> buf(64, static_cast<char>(kPoison));
  DirentPacker p(buf, false);
  p.Add("x", 0x0102, DT_DIR, 3);
  const unsigned char want[32] = {
      0x02, 0x01, 0, 0, 0, 0, 0, 0,  // ino
      0x03, 0,    0, 0, 0, 0, 0, 0,  // off
      0x01, 0,    0, 0,              // namelen
      0x04, 0,    0, 0,              // type DT_DIR
      'x',  0,    0, 0, 0, 0, 0, 0,  // name + 7 zero bytes of padding
  };
  ASSERT_EQ(p.used(), 32u);
  EXPECT_EQ(std::memcmp(buf.data(), want, sizeof(want)), 0)
      << Hex(Used(buf, 32));
}

TEST(DirentPacker, RecordsFollowEachOther) {
  std::vector<char> buf(256, static_cast<char>(kPoison));
  DirentPacker p(buf, false);
  p.Add(".", 1, DT_DIR, 1);
  p.Add("..", 1, DT_DIR, 2);
  p.Add("ninechars", 77, DT_LNK, 3);
  Bytes want;
  want.Append(DirentBytes(1, 1, ".", 4))
      .Append(DirentBytes(1, 2, "..", 4))
      .Append(DirentBytes(77, 3, "ninechars", 10));
  ASSERT_EQ(want.size(), 32u + 32u + 40u);
  ASSERT_EQ(p.used(), want.size());
  EXPECT_EQ(Hex(Used(buf, p.used())), Hex(want.span()));
}

TEST(DirentPacker, FitsBoundary) {
  {
    std::vector<char> buf(32, static_cast<char>(kPoison));
    DirentPacker p(buf, false);
    EXPECT_TRUE(p.Fits(8));
    EXPECT_FALSE(p.Fits(9));
    p.Add("12345678", 1, DT_REG, 1);
    EXPECT_EQ(p.used(), 32u);
    EXPECT_FALSE(p.Fits(0));
    EXPECT_FALSE(p.Fits(1));
  }
  {
    std::vector<char> buf(31, static_cast<char>(kPoison));
    DirentPacker p(buf, false);
    EXPECT_FALSE(p.Fits(1));
    EXPECT_TRUE(p.Fits(0));  // 24 bytes
  }
  {
    // Second record exactly fills the buffer; one byte less and it does not.
    std::vector<char> buf(32 + 40, static_cast<char>(kPoison));
    DirentPacker p(buf, false);
    p.Add("a", 1, DT_REG, 1);
    EXPECT_TRUE(p.Fits(9));
    EXPECT_TRUE(p.Fits(16));
    EXPECT_FALSE(p.Fits(17));
    p.Add("bbbbbbbbb", 2, DT_REG, 2);
    EXPECT_EQ(p.used(), 72u);
    std::vector<char> small(32 + 39, static_cast<char>(kPoison));
    DirentPacker q(small, false);
    q.Add("a", 1, DT_REG, 1);
    EXPECT_FALSE(q.Fits(9));
    EXPECT_TRUE(q.Fits(8));
  }
  {
    std::vector<char> empty;
    DirentPacker p(empty, false);
    EXPECT_FALSE(p.Fits(0));
  }
}

TEST(DirentPacker, FitsBoundaryPlus) {
  std::vector<char> exact(160, static_cast<char>(kPoison));
  DirentPacker p(exact, true);
  EXPECT_TRUE(p.Fits(8));
  EXPECT_FALSE(p.Fits(9));
  std::vector<char> short_by_one(159, static_cast<char>(kPoison));
  DirentPacker q(short_by_one, true);
  EXPECT_FALSE(q.Fits(1));
  EXPECT_TRUE(q.Fits(0));  // 152 bytes
  EXPECT_TRUE(p.plus());
  EXPECT_FALSE(DirentPacker(exact, false).plus());
}

abi::fuse_entry_out SampleEntry() {
  abi::fuse_entry_out e{};
  e.nodeid = 0x0000000a0000000b;
  e.generation = 0x0c;
  e.entry_valid = 1;
  e.attr_valid = 2;
  e.entry_valid_nsec = 500;
  e.attr_valid_nsec = 600;
  e.attr.ino = 0x4444;
  e.attr.size = 0x5555;
  e.attr.blocks = 8;
  e.attr.atime = 10;
  e.attr.mtime = 11;
  e.attr.ctime = 12;
  e.attr.atimensec = 13;
  e.attr.mtimensec = 14;
  e.attr.ctimensec = 15;
  e.attr.mode = S_IFLNK | 0777;
  e.attr.nlink = 1;
  e.attr.uid = 1000;
  e.attr.gid = 1001;
  e.attr.rdev = 0;
  e.attr.blksize = 4096;
  e.attr.flags = abi::FUSE_ATTR_SUBMOUNT;
  return e;
}

Bytes EntryOutBytes() {
  Bytes b;
  b.U64(0x0000000a0000000b)  // nodeid
      .U64(0x0c)              // generation
      .U64(1)                 // entry_valid
      .U64(2)                 // attr_valid
      .U32(500)               // entry_valid_nsec
      .U32(600)               // attr_valid_nsec
      .U64(0x4444)            // attr.ino
      .U64(0x5555)            // attr.size
      .U64(8)                 // attr.blocks
      .U64(10)                // attr.atime
      .U64(11)                // attr.mtime
      .U64(12)                // attr.ctime
      .U32(13)                // attr.atimensec
      .U32(14)                // attr.mtimensec
      .U32(15)                // attr.ctimensec
      .U32(0120777)           // attr.mode
      .U32(1)                 // attr.nlink
      .U32(1000)              // attr.uid
      .U32(1001)              // attr.gid
      .U32(0)                 // attr.rdev
      .U32(4096)              // attr.blksize
      .U32(1);                // attr.flags
  return b;
}

TEST(DirentPacker, PlusLayoutForNameLengths) {
  for (size_t len : {1u, 7u, 8u, 9u, 255u}) {
    SCOPED_TRACE(len);
    const std::string name(len, 'q');
    std::vector<char> buf(1024, static_cast<char>(kPoison));
    DirentPacker p(buf, /*plus=*/true);
    ASSERT_TRUE(p.Fits(len));
    p.AddPlus(name, SampleEntry(), 0x99);
    // The dirent part takes its ino from attr.ino and its type from attr.mode.
    Bytes want = EntryOutBytes();
    ASSERT_EQ(want.size(), 128u);
    want.Append(DirentBytes(0x4444, 0x99, name, DT_LNK));
    ASSERT_EQ(p.used(), want.size());
    EXPECT_EQ(p.used(), DirentPacker::RecordSize(len, true));
    EXPECT_EQ(Hex(Used(buf, p.used())), Hex(want.span()));
    EXPECT_EQ(static_cast<uint8_t>(buf[p.used()]), kPoison);
  }
}

TEST(DirentPacker, PlusRecordsFollowEachOther) {
  std::vector<char> buf(160 + 168, static_cast<char>(kPoison));
  DirentPacker p(buf, true);
  abi::fuse_entry_out unknown{};  // nodeid 0: the kernel must not instantiate it
  unknown.attr.ino = 5;
  unknown.attr.mode = S_IFDIR | 0755;
  p.AddPlus("..", unknown, 1);
  ASSERT_TRUE(p.Fits(9));
  p.AddPlus("ninechars", SampleEntry(), 2);
  EXPECT_EQ(p.used(), 328u);
  EXPECT_FALSE(p.Fits(0));
  Bytes want;
  want.Zeros(40).U64(5).Zeros(52).U32(040755).Zeros(24);  // entry_out of `unknown`
  ASSERT_EQ(want.size(), 128u);
  want.Append(DirentBytes(5, 1, "..", DT_DIR));
  want.Append(EntryOutBytes()).Append(DirentBytes(0x4444, 2, "ninechars", DT_LNK));
  EXPECT_EQ(Hex(Used(buf, p.used())), Hex(want.span()));
}

}  // namespace
}  // namespace ptfs::proto
