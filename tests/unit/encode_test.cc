// src/proto/encode: attributes, statx, statfs and the reply header, byte by byte.
#include "proto/encode.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "abi/fuse_abi.h"
#include "gtest/gtest.h"
#include "wire.h"

namespace ptfs::proto {
namespace {

namespace abi = ::ptfs::abi;
using unit_test::Bytes;
using unit_test::Hex;
using unit_test::ObjectBytes;

// A statx with every field distinct and non-zero.
struct statx SampleStatx() {
  struct statx stx;
  std::memset(&stx, 0, sizeof(stx));
  stx.stx_mask = 0x00000fff;
  stx.stx_blksize = 4096;
  stx.stx_attributes = 0x0000000000100020;
  stx.stx_nlink = 3;
  stx.stx_uid = 1000;
  stx.stx_gid = 100;
  stx.stx_mode = 0020644;  // character device
  stx.stx_ino = 0x0001020304050607;
  stx.stx_size = 0x0000001122334455;
  stx.stx_blocks = 0x0000000000778899;
  stx.stx_attributes_mask = 0x00000000003000ff;
  stx.stx_atime = {0x61000001, 111111111, 0};
  stx.stx_btime = {0x62000002, 222222222, 0};
  stx.stx_ctime = {0x63000003, 333333333, 0};
  stx.stx_mtime = {0x64000004, 444444444, 0};
  stx.stx_rdev_major = 259;
  stx.stx_rdev_minor = 65536 + 3;
  stx.stx_dev_major = 8;
  stx.stx_dev_minor = 17;
  return stx;
}

TEST(EncodeAttr, GoldenBytes) {
  abi::fuse_attr attr;
  std::memset(&attr, 0xaa, sizeof(attr));
  EncodeAttr(SampleStatx(), &attr);
  Bytes want;
  want.U64(0x0001020304050607)  // ino
      .U64(0x0000001122334455)  // size
      .U64(0x0000000000778899)  // blocks
      .U64(0x61000001)          // atime
      .U64(0x64000004)          // mtime
      .U64(0x63000003)          // ctime
      .U32(111111111)           // atimensec
      .U32(444444444)           // mtimensec
      .U32(333333333)           // ctimensec
      .U32(0020644)             // mode
      .U32(3)                   // nlink
      .U32(1000)                // uid
      .U32(100)                 // gid
      .U32(0x10010303)          // rdev: 259:65539 in the kernel's new_encode_dev form
      .U32(4096)                // blksize
      .U32(0);                  // flags
  ASSERT_EQ(want.size(), 88u);
  EXPECT_EQ(Hex(ObjectBytes(attr)), Hex(want.span()));
}

TEST(EncodeAttr, NegativeTimesKeepTheirBits) {
  struct statx stx = SampleStatx();
  stx.stx_atime = {-1, 999999999, 0};
  stx.stx_mtime = {-2208988800LL, 0, 0};  // 1900-01-01
  abi::fuse_attr attr;
  EncodeAttr(stx, &attr);
  EXPECT_EQ(attr.atime, 0xffffffffffffffffULL);
  EXPECT_EQ(attr.atimensec, 999999999u);
  EXPECT_EQ(static_cast<int64_t>(attr.mtime), -2208988800LL);
}

// The kernel decodes fuse_attr.rdev with new_decode_dev(): major in bits 8..19,
// minor in bits 0..7 and 20..31.
TEST(EncodeAttr, RdevEncoding) {
  struct Case {
    uint32_t major, minor, want;
  };
  const Case kCases[] = {
      {0, 0, 0x00000000},      {8, 1, 0x00000801},           {1, 3, 0x00000103},
      {1, 256, 0x00100100},    {259, 65536 + 3, 0x10010303}, {4095, 0xff, 0x000fffff},
      {0, 0xfffff, 0xfff000ff}, {4095, 0xfffff, 0xffffffff}, {136, 0x12345, 0x12308845},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(testing::Message() << c.major << ":" << c.minor);
    struct statx stx = SampleStatx();
    stx.stx_rdev_major = c.major;
    stx.stx_rdev_minor = c.minor;
    abi::fuse_attr attr;
    EncodeAttr(stx, &attr);
    EXPECT_EQ(attr.rdev, c.want);
    // glibc's dev_t has the same low 32 bits for a 12-bit major, 20-bit minor.
    EXPECT_EQ(attr.rdev, static_cast<uint32_t>(makedev(c.major, c.minor)));
    // And the kernel's new_decode_dev() gets the numbers back.
    EXPECT_EQ((attr.rdev & 0xfff00) >> 8, c.major);
    EXPECT_EQ((attr.rdev & 0xff) | ((attr.rdev >> 12) & 0xfff00), c.minor);
  }
}

TEST(EncodeStatx, GoldenBytes) {
  abi::fuse_statx out;
  std::memset(&out, 0xaa, sizeof(out));
  EncodeStatx(SampleStatx(), &out);
  Bytes want;
  want.U32(0x00000fff)            // mask
      .U32(4096)                  // blksize
      .U64(0x0000000000100020)    // attributes
      .U32(3)                     // nlink
      .U32(1000)                  // uid
      .U32(100)                   // gid
      .U16(0020644)               // mode
      .U16(0)                     // spare0
      .U64(0x0001020304050607)    // ino
      .U64(0x0000001122334455)    // size
      .U64(0x0000000000778899)    // blocks
      .U64(0x00000000003000ff)    // attributes_mask
      .I64(0x61000001).U32(111111111).I32(0)  // atime
      .I64(0x62000002).U32(222222222).I32(0)  // btime
      .I64(0x63000003).U32(333333333).I32(0)  // ctime
      .I64(0x64000004).U32(444444444).I32(0)  // mtime
      .U32(259)                   // rdev_major
      .U32(65536 + 3)             // rdev_minor
      .U32(8)                     // dev_major
      .U32(17)                    // dev_minor
      .Zeros(14 * 8);             // spare2
  ASSERT_EQ(want.size(), 256u);
  EXPECT_EQ(Hex(ObjectBytes(out)), Hex(want.span()));
}

TEST(EncodeStatx, NegativeSecondsAreSigned) {
  struct statx stx = SampleStatx();
  stx.stx_btime = {-5, 7, 0};
  abi::fuse_statx out;
  EncodeStatx(stx, &out);
  EXPECT_EQ(out.btime.tv_sec, -5);
  EXPECT_EQ(out.btime.tv_nsec, 7u);
  EXPECT_EQ(out.btime.reserved, 0);
}

TEST(EncodeStatfs, GoldenBytes) {
  struct statvfs st;
  std::memset(&st, 0, sizeof(st));
  st.f_bsize = 4096;
  st.f_frsize = 1024;
  st.f_blocks = 0x0000000100000001;
  st.f_bfree = 0x0000000200000002;
  st.f_bavail = 0x0000000300000003;
  st.f_files = 0x0000000400000004;
  st.f_ffree = 0x0000000500000005;
  st.f_favail = 0x0000000600000006;  // not on the wire
  st.f_fsid = 0x77;                  // not on the wire
  st.f_flag = ST_RDONLY;             // not on the wire
  st.f_namemax = 255;
  abi::fuse_kstatfs out;
  std::memset(&out, 0xaa, sizeof(out));
  EncodeStatfs(st, &out);
  Bytes want;
  want.U64(0x0000000100000001)  // blocks
      .U64(0x0000000200000002)  // bfree
      .U64(0x0000000300000003)  // bavail
      .U64(0x0000000400000004)  // files
      .U64(0x0000000500000005)  // ffree
      .U32(4096)                // bsize
      .U32(255)                 // namelen
      .U32(1024)                // frsize
      .U32(0)                   // padding
      .Zeros(6 * 4);            // spare
  ASSERT_EQ(want.size(), 80u);
  EXPECT_EQ(Hex(ObjectBytes(out)), Hex(want.span()));
}

TEST(MakeOutHeader, ErrorIsNegated) {
  const abi::fuse_out_header h = MakeOutHeader(0x0102030405060708, ENOENT, 100);
  const Bytes want = Bytes().U32(116).I32(-2).U64(0x0102030405060708);
  ASSERT_EQ(want.size(), 16u);
  EXPECT_EQ(Hex(ObjectBytes(h)), Hex(want.span()));
}

TEST(MakeOutHeader, Success) {
  const abi::fuse_out_header h = MakeOutHeader(0xfffffffffffffffe, 0, 0);
  const Bytes want = Bytes().U32(16).U32(0).U64(0xfffffffffffffffe);
  EXPECT_EQ(Hex(ObjectBytes(h)), Hex(want.span()));
}

TEST(MakeOutHeader, LargeErrnoAndPayload) {
  const abi::fuse_out_header h = MakeOutHeader(7, ENAMETOOLONG, 1 << 20);
  const Bytes want = Bytes().U32(16 + (1 << 20)).U32(0xffffffdc /* -36 */).U64(7);
  EXPECT_EQ(Hex(ObjectBytes(h)), Hex(want.span()));
}

}  // namespace
}  // namespace ptfs::proto
