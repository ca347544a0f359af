// src/proto/request: golden bytes for every opcode (malformed variants: decode_malformed_test.cc).
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "abi/fuse_abi.h"
#include "decode_helpers.h"
#include "gtest/gtest.h"
#include "proto/request.h"
#include "wire.h"

namespace ptfs::proto {
namespace {

using namespace decode_test;  // NOLINT: the helpers and wire constants

// ---------------------------------------------------------------------------
// Golden decode, one test per opcode.
// ---------------------------------------------------------------------------

TEST(DecodeGolden, Lookup) {
  const auto msg = Message(abi::FUSE_LOOKUP, Bytes().Str("hello.txt"));
  ASSERT_EQ(msg.size(), 50u);
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok) << d.failure.error.value();
  ExpectHeader(d.req, msg, abi::FUSE_LOOKUP);
  ExpectArg(d.req, msg, 0);
  ExpectView(d.req.name, msg, kHdr, "hello.txt");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Forget) {
  const auto msg = Message(abi::FUSE_FORGET, Bytes().U64(0x1122334455667788));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_FORGET);
  ExpectArg(d.req, msg, 8);
  EXPECT_EQ(d.req.Arg<abi::fuse_forget_in>().nlookup, 0x1122334455667788u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
  EXPECT_FALSE(d.req.op->answered);
}

TEST(DecodeGolden, Getattr) {
  const auto msg = Message(abi::FUSE_GETATTR, Bytes().U32(abi::FUSE_GETATTR_FH).U32(0xdeadbeef)
                                                  .U64(0x0a0b0c0d0e0f1011));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_GETATTR);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_getattr_in>();
  EXPECT_EQ(in.getattr_flags, 1u);
  EXPECT_EQ(in.dummy, 0xdeadbeefu);
  EXPECT_EQ(in.fh, 0x0a0b0c0d0e0f1011u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Setattr) {
  Bytes b;
  b.U32(0x0fff)                 // valid
      .U32(0x11)                // padding
      .U64(0x2020202020202020)  // fh
      .U64(0x3030303030303030)  // size
      .U64(0x4040404040404040)  // lock_owner
      .U64(0x5050505050505050)  // atime
      .U64(0x6060606060606060)  // mtime
      .U64(0x7070707070707070)  // ctime
      .U32(111)                 // atimensec
      .U32(222)                 // mtimensec
      .U32(333)                 // ctimensec
      .U32(0100644)             // mode
      .U32(0x44)                // unused4
      .U32(1234)                // uid
      .U32(5678)                // gid
      .U32(0x55);               // unused5
  ASSERT_EQ(b.size(), 88u);
  const auto msg = Message(abi::FUSE_SETATTR, b);
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_SETATTR);
  ExpectArg(d.req, msg, 88);
  const auto in = d.req.Arg<abi::fuse_setattr_in>();
  EXPECT_EQ(in.valid, 0x0fffu);
  EXPECT_EQ(in.padding, 0x11u);
  EXPECT_EQ(in.fh, 0x2020202020202020u);
  EXPECT_EQ(in.size, 0x3030303030303030u);
  EXPECT_EQ(in.lock_owner, 0x4040404040404040u);
  EXPECT_EQ(in.atime, 0x5050505050505050u);
  EXPECT_EQ(in.mtime, 0x6060606060606060u);
  EXPECT_EQ(in.ctime, 0x7070707070707070u);
  EXPECT_EQ(in.atimensec, 111u);
  EXPECT_EQ(in.mtimensec, 222u);
  EXPECT_EQ(in.ctimensec, 333u);
  EXPECT_EQ(in.mode, 0100644u);
  EXPECT_EQ(in.unused4, 0x44u);
  EXPECT_EQ(in.uid, 1234u);
  EXPECT_EQ(in.gid, 5678u);
  EXPECT_EQ(in.unused5, 0x55u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Readlink) {
  const auto msg = Message(abi::FUSE_READLINK, Bytes());
  ASSERT_EQ(msg.size(), 40u);
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_READLINK);
  ExpectArg(d.req, msg, 0);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Symlink) {
  // The entry name first, then the link target.
  const auto msg = Message(abi::FUSE_SYMLINK, Bytes().Str("link").Str("../some/target"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_SYMLINK);
  ExpectArg(d.req, msg, 0);
  ExpectView(d.req.name, msg, kHdr, "link");
  ExpectView(d.req.name2, msg, kHdr + 5, "../some/target");
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Mknod) {
  const auto msg = Message(abi::FUSE_MKNOD,
                           Bytes().U32(0020640).U32(0x10300).U32(022).U32(0x99).Str("dev"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_MKNOD);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_mknod_in>();
  EXPECT_EQ(in.mode, 0020640u);
  EXPECT_EQ(in.rdev, 0x10300u);
  EXPECT_EQ(in.umask, 022u);
  EXPECT_EQ(in.padding, 0x99u);
  ExpectView(d.req.name, msg, kHdr + 16, "dev");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Mkdir) {
  const auto msg = Message(abi::FUSE_MKDIR, Bytes().U32(040755).U32(027).Str("subdir"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_MKDIR);
  ExpectArg(d.req, msg, 8);
  const auto in = d.req.Arg<abi::fuse_mkdir_in>();
  EXPECT_EQ(in.mode, 040755u);
  EXPECT_EQ(in.umask, 027u);
  ExpectView(d.req.name, msg, kHdr + 8, "subdir");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Unlink) {
  const auto msg = Message(abi::FUSE_UNLINK, Bytes().Str("gone"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_UNLINK);
  ExpectArg(d.req, msg, 0);
  ExpectView(d.req.name, msg, kHdr, "gone");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Rmdir) {
  const auto msg = Message(abi::FUSE_RMDIR, Bytes().Str("olddir"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_RMDIR);
  ExpectArg(d.req, msg, 0);
  ExpectView(d.req.name, msg, kHdr, "olddir");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Rename) {
  const auto msg = Message(abi::FUSE_RENAME, Bytes().U64(0x0000000700000009).Str("a").Str("bb"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_RENAME);
  ExpectArg(d.req, msg, 8);
  EXPECT_EQ(d.req.Arg<abi::fuse_rename_in>().newdir, 0x0000000700000009u);
  ExpectView(d.req.name, msg, kHdr + 8, "a");
  ExpectView(d.req.name2, msg, kHdr + 10, "bb");
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Link) {
  const auto msg = Message(abi::FUSE_LINK, Bytes().U64(0x1234567).Str("hardlink"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_LINK);
  ExpectArg(d.req, msg, 8);
  EXPECT_EQ(d.req.Arg<abi::fuse_link_in>().oldnodeid, 0x1234567u);
  ExpectView(d.req.name, msg, kHdr + 8, "hardlink");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

void CheckOpenIn(uint32_t opcode) {
  const auto msg = Message(opcode, Bytes().U32(0x8042).U32(abi::FUSE_OPEN_KILL_SUIDGID));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, opcode);
  ExpectArg(d.req, msg, 8);
  const auto in = d.req.Arg<abi::fuse_open_in>();
  EXPECT_EQ(in.flags, 0x8042u);
  EXPECT_EQ(in.open_flags, 1u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Open) { CheckOpenIn(abi::FUSE_OPEN); }
TEST(DecodeGolden, Opendir) { CheckOpenIn(abi::FUSE_OPENDIR); }

void CheckReadIn(uint32_t opcode) {
  const auto msg = Message(opcode, Bytes()
                                       .U64(0x1111111111111111)  // fh
                                       .U64(0x2222222222222222)  // offset
                                       .U32(131072)              // size
                                       .U32(abi::FUSE_READ_LOCKOWNER)
                                       .U64(0x3333333333333333)  // lock_owner
                                       .U32(0x8002)              // flags
                                       .U32(0x44));              // padding
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, opcode);
  ExpectArg(d.req, msg, 40);
  const auto in = d.req.Arg<abi::fuse_read_in>();
  EXPECT_EQ(in.fh, 0x1111111111111111u);
  EXPECT_EQ(in.offset, 0x2222222222222222u);
  EXPECT_EQ(in.size, 131072u);
  EXPECT_EQ(in.read_flags, 2u);
  EXPECT_EQ(in.lock_owner, 0x3333333333333333u);
  EXPECT_EQ(in.flags, 0x8002u);
  EXPECT_EQ(in.padding, 0x44u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Read) { CheckReadIn(abi::FUSE_READ); }
TEST(DecodeGolden, Readdir) { CheckReadIn(abi::FUSE_READDIR); }
TEST(DecodeGolden, Readdirplus) { CheckReadIn(abi::FUSE_READDIRPLUS); }

TEST(DecodeGolden, Write) {
  const auto msg = Message(abi::FUSE_WRITE, Bytes()
                                                .U64(0xaaaa)   // fh
                                                .U64(0x1000)   // offset
                                                .U32(5)        // size
                                                .U32(abi::FUSE_WRITE_LOCKOWNER)
                                                .U64(0xbbbb)   // lock_owner
                                                .U32(0x401)    // flags
                                                .U32(0)        // padding
                                                .Raw("hello"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_WRITE);
  ExpectArg(d.req, msg, 40);
  const auto in = d.req.Arg<abi::fuse_write_in>();
  EXPECT_EQ(in.fh, 0xaaaau);
  EXPECT_EQ(in.offset, 0x1000u);
  EXPECT_EQ(in.size, 5u);
  EXPECT_EQ(in.write_flags, 2u);
  EXPECT_EQ(in.lock_owner, 0xbbbbu);
  EXPECT_EQ(in.flags, 0x401u);
  EXPECT_EQ(in.padding, 0u);
  ExpectNoStrings(d.req);
  ExpectPayload(d.req, msg, kHdr + 40, "hello");
  EXPECT_TRUE(d.req.groups.empty());
}

TEST(DecodeGolden, Statfs) {
  const auto msg = Message(abi::FUSE_STATFS, Bytes());
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_STATFS);
  ExpectArg(d.req, msg, 0);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

void CheckReleaseIn(uint32_t opcode) {
  const auto msg =
      Message(opcode, Bytes().U64(0x77).U32(0x8001).U32(abi::FUSE_RELEASE_FLOCK_UNLOCK).U64(0x88));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, opcode);
  ExpectArg(d.req, msg, 24);
  const auto in = d.req.Arg<abi::fuse_release_in>();
  EXPECT_EQ(in.fh, 0x77u);
  EXPECT_EQ(in.flags, 0x8001u);
  EXPECT_EQ(in.release_flags, 2u);
  EXPECT_EQ(in.lock_owner, 0x88u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Release) { CheckReleaseIn(abi::FUSE_RELEASE); }
TEST(DecodeGolden, Releasedir) { CheckReleaseIn(abi::FUSE_RELEASEDIR); }

void CheckFsyncIn(uint32_t opcode) {
  const auto msg = Message(opcode, Bytes().U64(0x1234).U32(abi::FUSE_FSYNC_FDATASYNC).U32(0x5));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, opcode);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_fsync_in>();
  EXPECT_EQ(in.fh, 0x1234u);
  EXPECT_EQ(in.fsync_flags, 1u);
  EXPECT_EQ(in.padding, 5u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Fsync) { CheckFsyncIn(abi::FUSE_FSYNC); }
TEST(DecodeGolden, Fsyncdir) { CheckFsyncIn(abi::FUSE_FSYNCDIR); }

TEST(DecodeGolden, SetxattrCompat8ByteArg) {
  const auto msg =
      Message(abi::FUSE_SETXATTR, Bytes()
                                        .U32(3)
                                        .U32(0x2 /* XATTR_REPLACE */)
                                        .Str("user.k")
                                        .Raw(std::string_view("v\0w", 3)));
  const Decoded d = Decode(msg, /*setxattr_ext=*/false);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_SETXATTR);
  ExpectArg(d.req, msg, 8);
  const auto in = d.req.Arg<abi::fuse_setxattr_in>();
  EXPECT_EQ(in.size, 3u);
  EXPECT_EQ(in.flags, 2u);
  EXPECT_EQ(in.setxattr_flags, 0u);  // not sent: zero-filled by Arg<>
  EXPECT_EQ(in.padding, 0u);
  ExpectView(d.req.name, msg, kHdr + 8, "user.k");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectPayload(d.req, msg, kHdr + 15, std::string_view("v\0w", 3));
  EXPECT_TRUE(d.req.groups.empty());
}

TEST(DecodeGolden, SetxattrExt16ByteArg) {
  const auto msg = Message(abi::FUSE_SETXATTR, Bytes()
                                                   .U32(4)
                                                   .U32(0x1 /* XATTR_CREATE */)
                                                   .U32(abi::FUSE_SETXATTR_ACL_KILL_SGID)
                                                   .U32(0x66)
                                                   .Str("system.posix_acl_access")
                                                   .U32(2));
  const Decoded d = Decode(msg, /*setxattr_ext=*/true);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_SETXATTR);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_setxattr_in>();
  EXPECT_EQ(in.size, 4u);
  EXPECT_EQ(in.flags, 1u);
  EXPECT_EQ(in.setxattr_flags, 1u);
  EXPECT_EQ(in.padding, 0x66u);
  ExpectView(d.req.name, msg, kHdr + 16, "system.posix_acl_access");
  ExpectPayload(d.req, msg, kHdr + 16 + 24, std::string_view("\x02\x00\x00\x00", 4));
}

TEST(DecodeGolden, SetxattrArgSizeFollowsNegotiation) {
  // The 8-byte layout read as if SETXATTR_EXT were in force: the name would
  // start inside "user.k", the value size would not match.
  const auto compat = Message(abi::FUSE_SETXATTR, Bytes().U32(1).U32(0).Str("user.k").Raw("v"));
  EXPECT_FALSE(Decode(compat, /*setxattr_ext=*/true).ok);
  // The 16-byte layout read without it: the name would be the two zero words.
  const auto ext =
      Message(abi::FUSE_SETXATTR, Bytes().U32(1).U32(0).U32(0).U32(0).Str("user.k").Raw("v"));
  const Decoded d = Decode(ext, /*setxattr_ext=*/false);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.failure.error, Errno(ERANGE));  // empty xattr name
}

TEST(DecodeGolden, Getxattr) {
  const auto msg = Message(abi::FUSE_GETXATTR, Bytes().U32(4096).U32(0x7).Str("trusted.x"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_GETXATTR);
  ExpectArg(d.req, msg, 8);
  const auto in = d.req.Arg<abi::fuse_getxattr_in>();
  EXPECT_EQ(in.size, 4096u);
  EXPECT_EQ(in.padding, 7u);
  ExpectView(d.req.name, msg, kHdr + 8, "trusted.x");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Listxattr) {
  const auto msg = Message(abi::FUSE_LISTXATTR, Bytes().U32(65536).U32(0));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_LISTXATTR);
  ExpectArg(d.req, msg, 8);
  const auto in = d.req.Arg<abi::fuse_getxattr_in>();
  EXPECT_EQ(in.size, 65536u);
  EXPECT_EQ(in.padding, 0u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Removexattr) {
  const auto msg = Message(abi::FUSE_REMOVEXATTR, Bytes().Str("user.gone"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_REMOVEXATTR);
  ExpectArg(d.req, msg, 0);
  ExpectView(d.req.name, msg, kHdr, "user.gone");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Flush) {
  const auto msg = Message(abi::FUSE_FLUSH, Bytes().U64(0x42).U32(0x1).U32(0x2).U64(0xfeed));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_FLUSH);
  ExpectArg(d.req, msg, 24);
  const auto in = d.req.Arg<abi::fuse_flush_in>();
  EXPECT_EQ(in.fh, 0x42u);
  EXPECT_EQ(in.unused, 1u);
  EXPECT_EQ(in.padding, 2u);
  EXPECT_EQ(in.lock_owner, 0xfeedu);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Init64Bytes) {
  Bytes b;
  b.U32(7).U32(45).U32(0x20000).U32(0x40000001).U32(0x20);
  for (uint32_t i = 0; i < 11; ++i) b.U32(0x100 + i);  // unused[11]
  ASSERT_EQ(b.size(), 64u);
  const auto msg = Message(abi::FUSE_INIT, b);
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_INIT);
  ExpectArg(d.req, msg, 64);
  const auto in = d.req.Arg<abi::fuse_init_in>();
  EXPECT_EQ(in.major, 7u);
  EXPECT_EQ(in.minor, 45u);
  EXPECT_EQ(in.max_readahead, 0x20000u);
  EXPECT_EQ(in.flags, 0x40000001u);
  EXPECT_EQ(in.flags2, 0x20u);
  for (uint32_t i = 0; i < 11; ++i) EXPECT_EQ(in.unused[i], 0x100 + i);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Init16BytesBefore7_36) {
  const auto msg = Message(abi::FUSE_INIT, Bytes().U32(7).U32(31).U32(0x10000).U32(0x3));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_INIT);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_init_in>();
  EXPECT_EQ(in.major, 7u);
  EXPECT_EQ(in.minor, 31u);
  EXPECT_EQ(in.max_readahead, 0x10000u);
  EXPECT_EQ(in.flags, 3u);
  EXPECT_EQ(in.flags2, 0u);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, InitLongerThan64BytesKeepsTheRestAsPayload) {
  Bytes b;
  b.U32(7).U32(99).U32(0).U32(0).Zeros(48).Raw("future");
  const auto msg = Message(abi::FUSE_INIT, b);
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectArg(d.req, msg, 64);
  ExpectPayload(d.req, msg, kHdr + 64, "future");
}

void CheckLkIn(uint32_t opcode) {
  const auto msg = Message(opcode, Bytes()
                                       .U64(0x10)                  // fh
                                       .U64(0xabcdef0123456789)    // owner
                                       .U64(100)                   // lk.start
                                       .U64(0x7fffffffffffffff)    // lk.end
                                       .U32(1)                     // lk.type (F_WRLCK)
                                       .U32(31337)                 // lk.pid
                                       .U32(abi::FUSE_LK_FLOCK)    // lk_flags
                                       .U32(0x9));                 // padding
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, opcode);
  ExpectArg(d.req, msg, 48);
  const auto in = d.req.Arg<abi::fuse_lk_in>();
  EXPECT_EQ(in.fh, 0x10u);
  EXPECT_EQ(in.owner, 0xabcdef0123456789u);
  EXPECT_EQ(in.lk.start, 100u);
  EXPECT_EQ(in.lk.end, 0x7fffffffffffffffu);
  EXPECT_EQ(in.lk.type, 1u);
  EXPECT_EQ(in.lk.pid, 31337u);
  EXPECT_EQ(in.lk_flags, 1u);
  EXPECT_EQ(in.padding, 9u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Getlk) { CheckLkIn(abi::FUSE_GETLK); }
TEST(DecodeGolden, Setlk) { CheckLkIn(abi::FUSE_SETLK); }
TEST(DecodeGolden, Setlkw) { CheckLkIn(abi::FUSE_SETLKW); }

TEST(DecodeGolden, Access) {
  const auto msg = Message(abi::FUSE_ACCESS, Bytes().U32(07).U32(0xcc));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_ACCESS);
  ExpectArg(d.req, msg, 8);
  const auto in = d.req.Arg<abi::fuse_access_in>();
  EXPECT_EQ(in.mask, 7u);
  EXPECT_EQ(in.padding, 0xccu);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Create) {
  const auto msg = Message(abi::FUSE_CREATE,
                           Bytes().U32(0101102).U32(0100600).U32(022).U32(1).Str("new.txt"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_CREATE);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_create_in>();
  EXPECT_EQ(in.flags, 0101102u);
  EXPECT_EQ(in.mode, 0100600u);
  EXPECT_EQ(in.umask, 022u);
  EXPECT_EQ(in.open_flags, 1u);
  ExpectView(d.req.name, msg, kHdr + 16, "new.txt");
  EXPECT_TRUE(d.req.name2.empty());
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Interrupt) {
  const auto msg = Message(abi::FUSE_INTERRUPT, Bytes().U64(0x0123456789abcde0));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_INTERRUPT);
  ExpectArg(d.req, msg, 8);
  EXPECT_EQ(d.req.Arg<abi::fuse_interrupt_in>().unique, 0x0123456789abcde0u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
  EXPECT_FALSE(d.req.op->answered);
}

TEST(DecodeGolden, Bmap) {
  const auto msg = Message(abi::FUSE_BMAP, Bytes().U64(0x123456789).U32(4096).U32(0x3));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_BMAP);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_bmap_in>();
  EXPECT_EQ(in.block, 0x123456789u);
  EXPECT_EQ(in.blocksize, 4096u);
  EXPECT_EQ(in.padding, 3u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Destroy) {
  const auto msg = Message(abi::FUSE_DESTROY, Bytes());
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_DESTROY);
  ExpectArg(d.req, msg, 0);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Ioctl) {
  const auto msg = Message(abi::FUSE_IOCTL, Bytes()
                                                .U64(0x5)           // fh
                                                .U32(abi::FUSE_IOCTL_DIR)
                                                .U32(0x80086601)    // cmd (FS_IOC_GETFLAGS)
                                                .U64(0x7ffc0000)    // arg
                                                .U32(3)             // in_size
                                                .U32(8)             // out_size
                                                .Raw("abc"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_IOCTL);
  ExpectArg(d.req, msg, 32);
  const auto in = d.req.Arg<abi::fuse_ioctl_in>();
  EXPECT_EQ(in.fh, 5u);
  EXPECT_EQ(in.flags, 16u);
  EXPECT_EQ(in.cmd, 0x80086601u);
  EXPECT_EQ(in.arg, 0x7ffc0000u);
  EXPECT_EQ(in.in_size, 3u);
  EXPECT_EQ(in.out_size, 8u);
  ExpectNoStrings(d.req);
  ExpectPayload(d.req, msg, kHdr + 32, "abc");
}

TEST(DecodeGolden, Poll) {
  const auto msg =
      Message(abi::FUSE_POLL, Bytes().U64(0x66).U64(0x77).U32(abi::FUSE_POLL_SCHEDULE_NOTIFY)
                                  .U32(0x0005 /* POLLIN|POLLOUT */));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_POLL);
  ExpectArg(d.req, msg, 24);
  const auto in = d.req.Arg<abi::fuse_poll_in>();
  EXPECT_EQ(in.fh, 0x66u);
  EXPECT_EQ(in.kh, 0x77u);
  EXPECT_EQ(in.flags, 1u);
  EXPECT_EQ(in.events, 5u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, NotifyReply) {
  const auto msg = Message(abi::FUSE_NOTIFY_REPLY, Bytes().Raw("retrieved data"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_NOTIFY_REPLY);
  ExpectArg(d.req, msg, 0);
  ExpectNoStrings(d.req);
  ExpectPayload(d.req, msg, kHdr, "retrieved data");
  EXPECT_FALSE(d.req.op->answered);
}

TEST(DecodeGolden, BatchForget) {
  const auto msg = Message(abi::FUSE_BATCH_FORGET, Bytes()
                                                       .U32(2)      // count
                                                       .U32(0xdd)   // dummy
                                                       .U64(11).U64(1)
                                                       .U64(12).U64(0x100000000));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_BATCH_FORGET);
  ExpectArg(d.req, msg, 8);
  const auto in = d.req.Arg<abi::fuse_batch_forget_in>();
  EXPECT_EQ(in.count, 2u);
  EXPECT_EQ(in.dummy, 0xddu);
  ExpectNoStrings(d.req);
  ASSERT_EQ(d.req.payload.size(), 32u);
  EXPECT_EQ(d.req.payload.data(), msg.data() + kHdr + 8);
  abi::fuse_forget_one one[2];
  std::memcpy(one, d.req.payload.data(), sizeof(one));
  EXPECT_EQ(one[0].nodeid, 11u);
  EXPECT_EQ(one[0].nlookup, 1u);
  EXPECT_EQ(one[1].nodeid, 12u);
  EXPECT_EQ(one[1].nlookup, 0x100000000u);
  EXPECT_FALSE(d.req.op->answered);
}

TEST(DecodeGolden, BatchForgetIgnoresEntriesBeyondCount) {
  const auto msg = Message(abi::FUSE_BATCH_FORGET,
                           Bytes().U32(1).U32(0).U64(11).U64(1).U64(12).U64(1));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.req.payload.size(), 16u);
}

TEST(DecodeGolden, Fallocate) {
  const auto msg = Message(abi::FUSE_FALLOCATE,
                           Bytes().U64(0x3).U64(0x1000).U64(0x200000).U32(0x3).U32(0x4));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_FALLOCATE);
  ExpectArg(d.req, msg, 32);
  const auto in = d.req.Arg<abi::fuse_fallocate_in>();
  EXPECT_EQ(in.fh, 3u);
  EXPECT_EQ(in.offset, 0x1000u);
  EXPECT_EQ(in.length, 0x200000u);
  EXPECT_EQ(in.mode, 3u);
  EXPECT_EQ(in.padding, 4u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Rename2) {
  const auto msg = Message(abi::FUSE_RENAME2, Bytes()
                                                  .U64(0x99)
                                                  .U32(0x2 /* RENAME_EXCHANGE */)
                                                  .U32(0x5)
                                                  .Str("from")
                                                  .Str("to"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_RENAME2);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_rename2_in>();
  EXPECT_EQ(in.newdir, 0x99u);
  EXPECT_EQ(in.flags, 2u);
  EXPECT_EQ(in.padding, 5u);
  ExpectView(d.req.name, msg, kHdr + 16, "from");
  ExpectView(d.req.name2, msg, kHdr + 21, "to");
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Lseek) {
  const auto msg = Message(abi::FUSE_LSEEK, Bytes().U64(0x8).U64(0x10000).U32(3).U32(0x6));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_LSEEK);
  ExpectArg(d.req, msg, 24);
  const auto in = d.req.Arg<abi::fuse_lseek_in>();
  EXPECT_EQ(in.fh, 8u);
  EXPECT_EQ(in.offset, 0x10000u);
  EXPECT_EQ(in.whence, 3u);
  EXPECT_EQ(in.padding, 6u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

void CheckCopyFileRange(uint32_t opcode) {
  const auto msg = Message(opcode, Bytes()
                                       .U64(0x1)                 // fh_in
                                       .U64(0x2000)              // off_in
                                       .U64(0x0000000500000006)  // nodeid_out
                                       .U64(0x3)                 // fh_out
                                       .U64(0x4000)              // off_out
                                       .U64(0x100000000)         // len
                                       .U64(0x7));               // flags
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, opcode);
  ExpectArg(d.req, msg, 56);
  const auto in = d.req.Arg<abi::fuse_copy_file_range_in>();
  EXPECT_EQ(in.fh_in, 1u);
  EXPECT_EQ(in.off_in, 0x2000u);
  EXPECT_EQ(in.nodeid_out, 0x0000000500000006u);
  EXPECT_EQ(in.fh_out, 3u);
  EXPECT_EQ(in.off_out, 0x4000u);
  EXPECT_EQ(in.len, 0x100000000u);
  EXPECT_EQ(in.flags, 7u);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, CopyFileRange) { CheckCopyFileRange(abi::FUSE_COPY_FILE_RANGE); }
TEST(DecodeGolden, CopyFileRange64) { CheckCopyFileRange(abi::FUSE_COPY_FILE_RANGE_64); }

void CheckOpaque(uint32_t opcode) {
  const auto msg = Message(opcode, Bytes().U64(1).U64(2).U64(3));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, opcode);
  ExpectArg(d.req, msg, 0);
  ExpectNoStrings(d.req);
  EXPECT_EQ(d.req.payload.size(), 24u);
  EXPECT_EQ(d.req.payload.data(), msg.data() + kHdr);
}

TEST(DecodeGolden, Setupmapping) { CheckOpaque(abi::FUSE_SETUPMAPPING); }
TEST(DecodeGolden, Removemapping) { CheckOpaque(abi::FUSE_REMOVEMAPPING); }

TEST(DecodeGolden, Syncfs) {
  const auto msg = Message(abi::FUSE_SYNCFS, Bytes().U64(0x5a5a));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_SYNCFS);
  ExpectArg(d.req, msg, 8);
  EXPECT_EQ(d.req.Arg<abi::fuse_syncfs_in>().padding, 0x5a5au);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, TmpfileAcceptsSlash) {
  const auto msg =
      Message(abi::FUSE_TMPFILE, Bytes().U32(0100002).U32(0100600).U32(077).U32(0).Str("/"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok) << d.failure.error.value();
  ExpectHeader(d.req, msg, abi::FUSE_TMPFILE);
  ExpectArg(d.req, msg, 16);
  const auto in = d.req.Arg<abi::fuse_create_in>();
  EXPECT_EQ(in.flags, 0100002u);
  EXPECT_EQ(in.mode, 0100600u);
  EXPECT_EQ(in.umask, 077u);
  EXPECT_EQ(in.open_flags, 0u);
  ExpectView(d.req.name, msg, kHdr + 16, "/");
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, Statx) {
  const auto msg = Message(abi::FUSE_STATX,
                           Bytes().U32(abi::FUSE_GETATTR_FH).U32(0x2).U64(0x33).U32(0x800)
                               .U32(0x7ff));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ExpectHeader(d.req, msg, abi::FUSE_STATX);
  ExpectArg(d.req, msg, 24);
  const auto in = d.req.Arg<abi::fuse_statx_in>();
  EXPECT_EQ(in.getattr_flags, 1u);
  EXPECT_EQ(in.reserved, 2u);
  EXPECT_EQ(in.fh, 0x33u);
  EXPECT_EQ(in.sx_flags, 0x800u);
  EXPECT_EQ(in.sx_mask, 0x7ffu);
  ExpectNoStrings(d.req);
  ExpectNoExtras(d.req);
}

TEST(DecodeGolden, UnalignedBufferIsReadByCopy) {
  // Requests are copied out of the buffer, so a message at an odd address
  // decodes the same.
  const auto msg = Message(abi::FUSE_GETATTR, Bytes().U32(0).U32(0).U64(0x0102030405060708));
  std::vector<char> shifted(msg.size() + 1);
  std::memcpy(shifted.data() + 1, msg.data(), msg.size());
  Request r;
  DecodeFailure f;
  ASSERT_TRUE(DecodeRequest(std::span<const char>(shifted).subspan(1), {}, &r, &f));
  EXPECT_EQ(r.header.unique, kUnique);
  EXPECT_EQ(r.Arg<abi::fuse_getattr_in>().fh, 0x0102030405060708u);
}


}  // namespace
}  // namespace ptfs::proto
