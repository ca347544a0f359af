// src/proto/request: golden bytes for every opcode, then malformed variants.
#include "proto/request.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "abi/fuse_abi.h"
#include "gtest/gtest.h"
#include "wire.h"

namespace ptfs::proto {
namespace {

namespace abi = ::ptfs::abi;
using unit_test::Bytes;
using unit_test::kGid;
using unit_test::kNodeId;
using unit_test::kPid;
using unit_test::kUid;
using unit_test::kUnique;
using unit_test::Message;
using unit_test::MessageSpec;

constexpr size_t kHdr = unit_test::kInHeaderSize;

struct Decoded {
  bool ok = false;
  Request req;
  DecodeFailure failure;
};

// `msg` must outlive the result: the request points into it.
Decoded Decode(const std::vector<char>& msg, bool setxattr_ext = false) {
  Decoded d;
  DecodeOptions opts;
  opts.setxattr_ext = setxattr_ext;
  d.ok = DecodeRequest(msg, opts, &d.req, &d.failure);
  return d;
}

// Checks every header field against what Message() wrote.
void ExpectHeader(const Request& r, const std::vector<char>& msg, uint32_t opcode,
                  uint16_t extlen = 0) {
  EXPECT_EQ(r.header.len, msg.size());
  EXPECT_EQ(r.header.opcode, opcode);
  EXPECT_EQ(r.header.unique, kUnique);
  EXPECT_EQ(r.header.nodeid, kNodeId);
  EXPECT_EQ(r.header.uid, kUid);
  EXPECT_EQ(r.header.gid, kGid);
  EXPECT_EQ(r.header.pid, kPid);
  EXPECT_EQ(r.header.total_extlen, extlen);
  EXPECT_EQ(r.header.padding, 0);
  ASSERT_NE(r.op, nullptr);
  EXPECT_EQ(r.op, &LookupOp(opcode));
}

// The fixed argument starts right after the header and is `size` bytes long.
void ExpectArg(const Request& r, const std::vector<char>& msg, size_t size) {
  EXPECT_EQ(r.arg.size(), size);
  if (size != 0) {
    EXPECT_EQ(r.arg.data(), msg.data() + kHdr);
  }
}

void ExpectNoStrings(const Request& r) {
  EXPECT_TRUE(r.name.empty());
  EXPECT_TRUE(r.name2.empty());
}

void ExpectNoExtras(const Request& r) {
  EXPECT_TRUE(r.payload.empty());
  EXPECT_TRUE(r.groups.empty());
}

// A string view that must point into `msg` at `offset`.
void ExpectView(std::string_view v, const std::vector<char>& msg, size_t offset,
                std::string_view want) {
  EXPECT_EQ(v, want);
  EXPECT_EQ(v.data(), msg.data() + offset);
}

void ExpectPayload(const Request& r, const std::vector<char>& msg, size_t offset,
                   std::string_view want) {
  EXPECT_EQ(std::string_view(r.payload.data(), r.payload.size()), want);
  EXPECT_EQ(r.payload.data(), msg.data() + offset);
}

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

// ---------------------------------------------------------------------------
// Every opcode: a minimal valid body, then truncated, oversized and framing
// variants of it.
// ---------------------------------------------------------------------------

struct OpCase {
  uint32_t opcode;
  size_t fixed;  // bytes of the fixed argument, written out here
  Bytes tail;    // what must follow the (zeroed) fixed argument to be valid
};

std::vector<OpCase> AllOps() {
  const Bytes none;
  const Bytes name = Bytes().Str("n");
  return {
      {abi::FUSE_LOOKUP, 0, name},
      {abi::FUSE_FORGET, 8, none},
      {abi::FUSE_GETATTR, 16, none},
      {abi::FUSE_SETATTR, 88, none},
      {abi::FUSE_READLINK, 0, none},
      {abi::FUSE_SYMLINK, 0, Bytes().Str("n").Str("t")},
      {abi::FUSE_MKNOD, 16, name},
      {abi::FUSE_MKDIR, 8, name},
      {abi::FUSE_UNLINK, 0, name},
      {abi::FUSE_RMDIR, 0, name},
      {abi::FUSE_RENAME, 8, Bytes().Str("a").Str("b")},
      {abi::FUSE_LINK, 8, name},
      {abi::FUSE_OPEN, 8, none},
      {abi::FUSE_READ, 40, none},
      {abi::FUSE_WRITE, 40, none},  // size 0, no data
      {abi::FUSE_STATFS, 0, none},
      {abi::FUSE_RELEASE, 24, none},
      {abi::FUSE_FSYNC, 16, none},
      {abi::FUSE_SETXATTR, 8, Bytes().Str("user.a")},  // size 0, no value
      {abi::FUSE_GETXATTR, 8, Bytes().Str("user.a")},
      {abi::FUSE_LISTXATTR, 8, none},
      {abi::FUSE_REMOVEXATTR, 0, Bytes().Str("user.a")},
      {abi::FUSE_FLUSH, 24, none},
      {abi::FUSE_INIT, 16, none},
      {abi::FUSE_OPENDIR, 8, none},
      {abi::FUSE_READDIR, 40, none},
      {abi::FUSE_RELEASEDIR, 24, none},
      {abi::FUSE_FSYNCDIR, 16, none},
      {abi::FUSE_GETLK, 48, none},
      {abi::FUSE_SETLK, 48, none},
      {abi::FUSE_SETLKW, 48, none},
      {abi::FUSE_ACCESS, 8, none},
      {abi::FUSE_CREATE, 16, name},
      {abi::FUSE_INTERRUPT, 8, none},
      {abi::FUSE_BMAP, 16, none},
      {abi::FUSE_DESTROY, 0, none},
      {abi::FUSE_IOCTL, 32, none},
      {abi::FUSE_POLL, 24, none},
      {abi::FUSE_NOTIFY_REPLY, 0, none},
      {abi::FUSE_BATCH_FORGET, 8, none},  // count 0
      {abi::FUSE_FALLOCATE, 32, none},
      {abi::FUSE_READDIRPLUS, 40, none},
      {abi::FUSE_RENAME2, 16, Bytes().Str("a").Str("b")},
      {abi::FUSE_LSEEK, 24, none},
      {abi::FUSE_COPY_FILE_RANGE, 56, none},
      {abi::FUSE_SETUPMAPPING, 0, none},
      {abi::FUSE_REMOVEMAPPING, 0, none},
      {abi::FUSE_SYNCFS, 8, none},
      {abi::FUSE_TMPFILE, 16, Bytes().Str("/")},
      {abi::FUSE_STATX, 24, none},
      {abi::FUSE_COPY_FILE_RANGE_64, 56, none},
  };
}

bool IsAnswered(uint32_t opcode) {
  return opcode != abi::FUSE_FORGET && opcode != abi::FUSE_BATCH_FORGET &&
         opcode != abi::FUSE_INTERRUPT && opcode != abi::FUSE_NOTIFY_REPLY;
}

void ExpectFailure(const Decoded& d, uint32_t opcode, int error) {
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.failure.error, Errno(error))
      << "got errno " << d.failure.error.value() << ", want " << error;
  EXPECT_EQ(d.failure.unique, kUnique);
  EXPECT_EQ(d.failure.opcode, opcode);
  EXPECT_EQ(d.failure.can_reply, IsAnswered(opcode));
}

TEST(DecodeAllOps, CoversEveryOpcode) { EXPECT_EQ(AllOps().size(), 51u); }

TEST(DecodeAllOps, MinimalBodyDecodes) {
  for (const OpCase& c : AllOps()) {
    SCOPED_TRACE(OpName(c.opcode));
    const auto msg = Message(c.opcode, Bytes().Zeros(c.fixed).Append(c.tail));
    const Decoded d = Decode(msg);
    ASSERT_TRUE(d.ok) << "errno " << d.failure.error.value();
    EXPECT_EQ(d.req.arg.size(), c.fixed);
    EXPECT_EQ(d.req.op->fixed_size, c.fixed);
  }
}

TEST(DecodeAllOps, OneByteShortOfFixedArgIsEinval) {
  for (const OpCase& c : AllOps()) {
    if (c.fixed == 0) continue;
    SCOPED_TRACE(OpName(c.opcode));
    const auto msg = Message(c.opcode, Bytes().Zeros(c.fixed - 1));
    ExpectFailure(Decode(msg), c.opcode, EINVAL);
  }
}

TEST(DecodeAllOps, TrailingByteToleratedExceptWhereSizeIsExact) {
  for (const OpCase& c : AllOps()) {
    SCOPED_TRACE(OpName(c.opcode));
    const auto msg = Message(c.opcode, Bytes().Zeros(c.fixed).Append(c.tail).U8(0x5a));
    const Decoded d = Decode(msg);
    if (c.opcode == abi::FUSE_WRITE || c.opcode == abi::FUSE_SETXATTR) {
      // Data length is given by the fixed argument and must match exactly.
      ExpectFailure(d, c.opcode, EINVAL);
      continue;
    }
    const Strings strings = LookupOp(c.opcode).strings;
    if (strings == Strings::kName || strings == Strings::kTwoNames ||
        strings == Strings::kNameAndPath) {
      // An entry name ends its request: bytes after it are an embedded NUL.
      ExpectFailure(d, c.opcode, EINVAL);
      continue;
    }
    ASSERT_TRUE(d.ok) << "errno " << d.failure.error.value();
    if (c.opcode == abi::FUSE_INIT) {
      // INIT's argument grows with the protocol: everything up to the full
      // 64-byte fuse_init_in is argument.
      EXPECT_EQ(d.req.arg.size(), c.fixed + 1);
      EXPECT_TRUE(d.req.payload.empty());
      continue;
    }
    EXPECT_EQ(d.req.arg.size(), c.fixed);
    const Payload p = LookupOp(c.opcode).payload;
    if (p == Payload::kAny) {
      ASSERT_EQ(d.req.payload.size(), 1u);
      EXPECT_EQ(d.req.payload[0], 0x5a);
    } else {
      EXPECT_TRUE(d.req.payload.empty());
    }
  }
}

TEST(DecodeAllOps, OversizedFixedArgTolerated) {
  // A newer kernel may send a longer struct; the known prefix is used.
  for (uint32_t op : {abi::FUSE_GETATTR, abi::FUSE_OPEN, abi::FUSE_READ, abi::FUSE_STATX,
                      abi::FUSE_FORGET, abi::FUSE_INTERRUPT}) {
    SCOPED_TRACE(OpName(op));
    const size_t fixed = LookupOp(op).fixed_size;
    const auto msg = Message(op, Bytes().Fill(fixed, 0x01).Zeros(64));
    const Decoded d = Decode(msg);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.req.arg.size(), fixed);
  }
}

TEST(DecodeAllOps, LenFieldNotEqualToBytesReceivedIsEio) {
  for (const OpCase& c : AllOps()) {
    SCOPED_TRACE(OpName(c.opcode));
    const Bytes body = Bytes().Zeros(c.fixed).Append(c.tail);
    for (int64_t delta : {-1, 1, 4096}) {
      const auto msg = Message(MessageSpec{.opcode = c.opcode, .len_delta = delta}, body);
      ExpectFailure(Decode(msg), c.opcode, EIO);
    }
  }
}

TEST(DecodeAllOps, HeaderShorterThan40BytesIsEio) {
  for (const OpCase& c : AllOps()) {
    SCOPED_TRACE(OpName(c.opcode));
    const auto full = Message(c.opcode, Bytes());
    for (size_t n : {16u, 24u, 39u}) {
      const std::vector<char> cut(full.begin(), full.begin() + n);
      ExpectFailure(Decode(cut), c.opcode, EIO);
    }
  }
}

TEST(DecodeFraming, TooShortForUniqueIsDroppedSilently) {
  const auto full = Message(abi::FUSE_GETATTR, Bytes().Zeros(16));
  for (size_t n : {0u, 1u, 8u, 15u}) {
    const std::vector<char> cut(full.begin(), full.begin() + n);
    const Decoded d = Decode(cut);
    EXPECT_FALSE(d.ok) << n;
    EXPECT_FALSE(d.failure.can_reply) << n;
  }
}

TEST(DecodeFraming, ExtlenBeyondMessageIsEio) {
  Bytes body = Bytes().Zeros(16);
  auto msg = Message(abi::FUSE_GETATTR, body);
  msg[36] = 3;  // total_extlen = 3 (24 bytes) but only 16 bytes follow the header
  ExpectFailure(Decode(msg), abi::FUSE_GETATTR, EIO);
}

TEST(DecodeFraming, UnknownOpcodesAreEnosys) {
  for (uint32_t op : {0u, 7u, 19u, 54u, 4096u /* CUSE_INIT */, 9999u}) {
    SCOPED_TRACE(op);
    const auto msg = Message(op, Bytes().Zeros(8));
    const Decoded d = Decode(msg);
    EXPECT_FALSE(d.ok);
    EXPECT_EQ(d.failure.error, Errno(ENOSYS));
    EXPECT_TRUE(d.failure.can_reply);
    EXPECT_EQ(d.failure.unique, kUnique);
    EXPECT_EQ(d.failure.opcode, op);
  }
}

TEST(DecodeFraming, FailureIsResetBetweenCalls) {
  const auto bad = Message(abi::FUSE_LOOKUP, Bytes().Raw("x"));
  const auto good = Message(abi::FUSE_LOOKUP, Bytes().Str("x"));
  Request r;
  DecodeFailure f;
  EXPECT_FALSE(DecodeRequest(bad, {}, &r, &f));
  ASSERT_TRUE(DecodeRequest(good, {}, &r, &f));
  EXPECT_EQ(r.name, "x");
  EXPECT_TRUE(r.name2.empty());
}

// ---------------------------------------------------------------------------
// Unanswered requests.
// ---------------------------------------------------------------------------

TEST(DecodeUnanswered, NeverAnsweredOnFailure) {
  struct Bad {
    uint32_t opcode;
    std::vector<char> msg;
  };
  const std::vector<Bad> cases = {
      {abi::FUSE_FORGET, Message(abi::FUSE_FORGET, Bytes().Zeros(7))},
      {abi::FUSE_INTERRUPT, Message(abi::FUSE_INTERRUPT, Bytes().Zeros(4))},
      {abi::FUSE_BATCH_FORGET, Message(abi::FUSE_BATCH_FORGET, Bytes().U32(3).U32(0).Zeros(32))},
      {abi::FUSE_NOTIFY_REPLY,
       Message(MessageSpec{.opcode = abi::FUSE_NOTIFY_REPLY, .len_delta = 8}, Bytes().Zeros(8))},
      {abi::FUSE_NOTIFY_REPLY,
       Message(abi::FUSE_NOTIFY_REPLY, Bytes(), Bytes().U32(4).U32(0))},  // bad extension
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(OpName(c.opcode));
    const Decoded d = Decode(c.msg);
    EXPECT_FALSE(d.ok);
    EXPECT_FALSE(d.failure.can_reply);
    EXPECT_NE(d.failure.error, Errno::Ok());
  }
}

TEST(DecodeUnanswered, BatchForgetCountLargerThanPayloadIsEinval) {
  const auto msg = Message(abi::FUSE_BATCH_FORGET,
                           Bytes().U32(3).U32(0).U64(1).U64(1).U64(2).U64(1).U64(3));
  ExpectFailure(Decode(msg), abi::FUSE_BATCH_FORGET, EINVAL);
}

TEST(DecodeUnanswered, BatchForgetHugeCountIsEinval) {
  const auto msg = Message(abi::FUSE_BATCH_FORGET, Bytes().U32(0xffffffff).U32(0).U64(1).U64(1));
  ExpectFailure(Decode(msg), abi::FUSE_BATCH_FORGET, EINVAL);
}

// ---------------------------------------------------------------------------
// WRITE payload size.
// ---------------------------------------------------------------------------

Bytes WriteIn(uint32_t size) {
  return Bytes().U64(1).U64(0).U32(size).U32(0).U64(0).U32(0).U32(0);
}

TEST(DecodeWrite, PayloadMustEqualSize) {
  {
    const auto msg = Message(abi::FUSE_WRITE, WriteIn(4).Raw("abc"));
    ExpectFailure(Decode(msg), abi::FUSE_WRITE, EINVAL);
  }
  {
    const auto msg = Message(abi::FUSE_WRITE, WriteIn(4).Raw("abcde"));
    ExpectFailure(Decode(msg), abi::FUSE_WRITE, EINVAL);
  }
  {
    const auto msg = Message(abi::FUSE_WRITE, WriteIn(0xffffffff).Raw("abcd"));
    ExpectFailure(Decode(msg), abi::FUSE_WRITE, EINVAL);
  }
  {
    const auto msg = Message(abi::FUSE_WRITE, WriteIn(4).Raw("abcd"));
    const Decoded d = Decode(msg);
    ASSERT_TRUE(d.ok);
    ExpectPayload(d.req, msg, kHdr + 40, "abcd");
  }
}

// ---------------------------------------------------------------------------
// Entry names.
// ---------------------------------------------------------------------------

// A message for `opcode` whose (first or, with `second`, second) entry name
// is exactly `name` followed by NUL; or with `terminate` false, no NUL at all.
std::vector<char> WithName(uint32_t opcode, std::string_view name, bool second = false,
                           bool terminate = true) {
  Bytes b;
  b.Zeros(LookupOp(opcode).fixed_size);
  if (second) b.Str("ok");
  if (terminate) {
    b.Str(name);
  } else {
    b.Raw(name);
  }
  if (!second && terminate) {
    if (opcode == abi::FUSE_RENAME || opcode == abi::FUSE_RENAME2) b.Str("ok");
    if (opcode == abi::FUSE_SYMLINK) b.Str("target");
  }
  return Message(opcode, b);
}

struct NameSlot {
  uint32_t opcode;
  bool second;
};

const NameSlot kNameSlots[] = {
    {abi::FUSE_LOOKUP, false},  {abi::FUSE_MKNOD, false},   {abi::FUSE_MKDIR, false},
    {abi::FUSE_UNLINK, false},  {abi::FUSE_RMDIR, false},   {abi::FUSE_LINK, false},
    {abi::FUSE_CREATE, false},  {abi::FUSE_SYMLINK, false}, {abi::FUSE_RENAME, false},
    {abi::FUSE_RENAME, true},   {abi::FUSE_RENAME2, false}, {abi::FUSE_RENAME2, true},
};

TEST(DecodeNames, ValidNamesAccepted) {
  for (const NameSlot& s : kNameSlots) {
    SCOPED_TRACE(std::string(OpName(s.opcode)) + (s.second ? " second" : " first"));
    for (std::string_view name :
         {"a", "...", ".a", "a.", "..a", "with space", "\xc3\xa9t\xc3\xa9"}) {
      const auto msg = WithName(s.opcode, name, s.second);
      const Decoded d = Decode(msg);
      ASSERT_TRUE(d.ok) << name;
      EXPECT_EQ(s.second ? d.req.name2 : d.req.name, name);
    }
  }
}

TEST(DecodeNames, MissingNulIsEinval) {
  for (const NameSlot& s : kNameSlots) {
    SCOPED_TRACE(std::string(OpName(s.opcode)) + (s.second ? " second" : " first"));
    ExpectFailure(Decode(WithName(s.opcode, "abc", s.second, /*terminate=*/false)), s.opcode,
                  EINVAL);
  }
}

TEST(DecodeNames, NoStringAtAllIsEinval) {
  for (uint32_t op : {abi::FUSE_LOOKUP, abi::FUSE_MKDIR, abi::FUSE_CREATE, abi::FUSE_SYMLINK,
                      abi::FUSE_RENAME, abi::FUSE_TMPFILE, abi::FUSE_GETXATTR,
                      abi::FUSE_SETXATTR, abi::FUSE_REMOVEXATTR}) {
    SCOPED_TRACE(OpName(op));
    ExpectFailure(Decode(Message(op, Bytes().Zeros(LookupOp(op).fixed_size))), op, EINVAL);
  }
}

TEST(DecodeNames, SlashIsEinval) {
  for (const NameSlot& s : kNameSlots) {
    SCOPED_TRACE(std::string(OpName(s.opcode)) + (s.second ? " second" : " first"));
    for (std::string_view name : {"a/b", "/", "/a", "a/", "//"}) {
      ExpectFailure(Decode(WithName(s.opcode, name, s.second)), s.opcode, EINVAL);
    }
  }
}

TEST(DecodeNames, DotAndDotDotAreEinval) {
  for (const NameSlot& s : kNameSlots) {
    SCOPED_TRACE(std::string(OpName(s.opcode)) + (s.second ? " second" : " first"));
    ExpectFailure(Decode(WithName(s.opcode, ".", s.second)), s.opcode, EINVAL);
    ExpectFailure(Decode(WithName(s.opcode, "..", s.second)), s.opcode, EINVAL);
  }
}

TEST(DecodeNames, EmptyIsEinval) {
  for (const NameSlot& s : kNameSlots) {
    SCOPED_TRACE(std::string(OpName(s.opcode)) + (s.second ? " second" : " first"));
    ExpectFailure(Decode(WithName(s.opcode, "", s.second)), s.opcode, EINVAL);
  }
}

TEST(DecodeNames, LengthLimit255) {
  const std::string ok(255, 'x');
  const std::string too_long(256, 'x');
  for (const NameSlot& s : kNameSlots) {
    SCOPED_TRACE(std::string(OpName(s.opcode)) + (s.second ? " second" : " first"));
    const auto msg = WithName(s.opcode, ok, s.second);
    const Decoded d = Decode(msg);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ((s.second ? d.req.name2 : d.req.name).size(), 255u);
    ExpectFailure(Decode(WithName(s.opcode, too_long, s.second)), s.opcode, ENAMETOOLONG);
  }
}

TEST(DecodeNames, TmpfileNameIsNotChecked) {
  // The kernel sends "/" as a placeholder; any name is ignored.
  for (std::string_view name : {"/", "", "..", "a/b"}) {
    const auto msg = Message(abi::FUSE_TMPFILE, Bytes().Zeros(16).Str(name));
    const Decoded d = Decode(msg);
    ASSERT_TRUE(d.ok) << name;
    EXPECT_EQ(d.req.name, name);
  }
}

TEST(DecodeNames, EmbeddedNulIsEinval) {
  // "ab\0cd": not a name the kernel sends; never acted on as "ab".
  const auto msg = Message(abi::FUSE_LOOKUP, Bytes().Raw(std::string_view("ab\0cd\0", 6)));
  ExpectFailure(Decode(msg), abi::FUSE_LOOKUP, EINVAL);
  const auto two = Message(abi::FUSE_RENAME,
                           Bytes().Zeros(sizeof(abi::fuse_rename_in)).Str("a").Raw(
                               std::string_view("b\0/x\0", 5)));
  ExpectFailure(Decode(two), abi::FUSE_RENAME, EINVAL);
}

// ---------------------------------------------------------------------------
// Symlink target.
// ---------------------------------------------------------------------------

TEST(DecodeSymlink, EmptyTargetIsEnoent) {
  const auto msg = Message(abi::FUSE_SYMLINK, Bytes().Str("l").Str(""));
  ExpectFailure(Decode(msg), abi::FUSE_SYMLINK, ENOENT);
}

TEST(DecodeSymlink, TargetWithoutNulIsEinval) {
  const auto msg = Message(abi::FUSE_SYMLINK, Bytes().Str("l").Raw("target"));
  ExpectFailure(Decode(msg), abi::FUSE_SYMLINK, EINVAL);
}

TEST(DecodeSymlink, TargetMayContainSlashesAndDots) {
  const auto msg = Message(abi::FUSE_SYMLINK, Bytes().Str("l").Str("/../a/./b/"));
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.req.name2, "/../a/./b/");
}

TEST(DecodeSymlink, TargetLengthLimitIsPathMax) {
  const std::string ok(4095, 'a');
  const auto good = Message(abi::FUSE_SYMLINK, Bytes().Str("l").Str(ok));
  const Decoded d = Decode(good);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.req.name2.size(), 4095u);
  const auto bad = Message(abi::FUSE_SYMLINK, Bytes().Str("l").Str(std::string(4096, 'a')));
  ExpectFailure(Decode(bad), abi::FUSE_SYMLINK, ENAMETOOLONG);
}

// ---------------------------------------------------------------------------
// Xattr names and values.
// ---------------------------------------------------------------------------

std::vector<char> XattrMessage(uint32_t opcode, std::string_view name) {
  switch (opcode) {
    case abi::FUSE_SETXATTR:
      return Message(opcode, Bytes().U32(1).U32(0).Str(name).Raw("v"));
    case abi::FUSE_GETXATTR:
      return Message(opcode, Bytes().U32(0).U32(0).Str(name));
    default:
      return Message(opcode, Bytes().Str(name));
  }
}

TEST(DecodeXattr, NameLimits) {
  for (uint32_t op : {abi::FUSE_SETXATTR, abi::FUSE_GETXATTR, abi::FUSE_REMOVEXATTR}) {
    SCOPED_TRACE(OpName(op));
    ExpectFailure(Decode(XattrMessage(op, "")), op, ERANGE);
    ExpectFailure(Decode(XattrMessage(op, std::string(256, 'u'))), op, ERANGE);
    const std::string max(255, 'u');
    const auto msg = XattrMessage(op, max);
    const Decoded d = Decode(msg);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.req.name, max);
    // Xattr names are not path components: '/' and '.' are fine.
    const auto odd = XattrMessage(op, "user./..");
    const Decoded d2 = Decode(odd);
    ASSERT_TRUE(d2.ok);
    EXPECT_EQ(d2.req.name, "user./..");
  }
}

TEST(DecodeXattr, NameWithoutNulIsEinval) {
  for (uint32_t op : {abi::FUSE_GETXATTR, abi::FUSE_REMOVEXATTR}) {
    const size_t fixed = LookupOp(op).fixed_size;
    ExpectFailure(Decode(Message(op, Bytes().Zeros(fixed).Raw("user.a"))), op, EINVAL);
  }
}

TEST(DecodeXattr, SetxattrValueSizeMismatchIsEinval) {
  for (bool ext : {false, true}) {
    SCOPED_TRACE(ext ? "ext" : "compat");
    auto fixed = [ext](uint32_t size) {
      Bytes b;
      b.U32(size).U32(0);
      if (ext) b.U32(0).U32(0);
      return b;
    };
    ExpectFailure(Decode(Message(abi::FUSE_SETXATTR, fixed(4).Str("user.a").Raw("abc")), ext),
                  abi::FUSE_SETXATTR, EINVAL);
    ExpectFailure(Decode(Message(abi::FUSE_SETXATTR, fixed(4).Str("user.a").Raw("abcde")), ext),
                  abi::FUSE_SETXATTR, EINVAL);
    ExpectFailure(Decode(Message(abi::FUSE_SETXATTR, fixed(0).Str("user.a").Raw("a")), ext),
                  abi::FUSE_SETXATTR, EINVAL);
    const auto ok = Message(abi::FUSE_SETXATTR, fixed(4).Str("user.a").Raw("abcd"));
    const Decoded d = Decode(ok, ext);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.req.payload.size(), 4u);
    const auto empty = Message(abi::FUSE_SETXATTR, fixed(0).Str("user.a"));
    const Decoded d0 = Decode(empty, ext);
    ASSERT_TRUE(d0.ok);
    EXPECT_TRUE(d0.req.payload.empty());
  }
}

TEST(DecodeXattr, SetxattrValueOver64KiBIsE2big) {
  const auto msg = Message(abi::FUSE_SETXATTR,
                           Bytes().U32(65537).U32(0).Str("user.big").Fill(65537, 'v'));
  ExpectFailure(Decode(msg), abi::FUSE_SETXATTR, E2BIG);
  const auto max = Message(abi::FUSE_SETXATTR,
                           Bytes().U32(65536).U32(0).Str("user.big").Fill(65536, 'v'));
  EXPECT_TRUE(Decode(max).ok);
}

// ---------------------------------------------------------------------------
// Extension area.
// ---------------------------------------------------------------------------

Bytes GroupsExt(std::initializer_list<uint32_t> groups) {
  const size_t raw = 8 + 4 + 4 * groups.size();
  const size_t size = (raw + 7) & ~size_t{7};
  Bytes b;
  b.U32(static_cast<uint32_t>(size)).U32(abi::FUSE_EXT_GROUPS).U32(
      static_cast<uint32_t>(groups.size()));
  for (uint32_t g : groups) b.U32(g);
  b.Zeros(size - raw);
  return b;
}

TEST(DecodeExtensions, GroupsParsed) {
  // MKDIR "d": the extension starts at byte 50, which is not 4-byte aligned.
  const auto msg = Message(abi::FUSE_MKDIR, Bytes().U32(040755).U32(022).Str("d"),
                           GroupsExt({4242}));
  ASSERT_EQ(msg.size(), 66u);
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok) << d.failure.error.value();
  ExpectHeader(d.req, msg, abi::FUSE_MKDIR, /*extlen=*/2);
  EXPECT_EQ(d.req.name, "d");
  ASSERT_EQ(d.req.groups.size(), 1u);
  EXPECT_EQ(d.req.groups[0], 4242u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(d.req.groups.data()) % alignof(uint32_t), 0u)
      << "groups must be readable as uint32_t";
}

TEST(DecodeExtensions, SeveralGroupsAfterEveryNameLength) {
  for (size_t len = 1; len <= 8; ++len) {
    SCOPED_TRACE(len);
    const std::string name(len, 'n');
    const auto msg = Message(abi::FUSE_CREATE, Bytes().Zeros(16).Str(name),
                             GroupsExt({10, 20, 0xfffffffe}));
    const Decoded d = Decode(msg);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.req.name, name);
    ASSERT_EQ(d.req.groups.size(), 3u);
    EXPECT_EQ(d.req.groups[0], 10u);
    EXPECT_EQ(d.req.groups[1], 20u);
    EXPECT_EQ(d.req.groups[2], 0xfffffffeu);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(d.req.groups.data()) % alignof(uint32_t), 0u);
  }
}

TEST(DecodeExtensions, ExtensionIsNotPartOfTheBody) {
  // With the extension cut off, the body of WRITE still matches its size and
  // SYMLINK's target ends where the body ends.
  const auto w = Message(abi::FUSE_WRITE, WriteIn(3).Raw("xyz"), GroupsExt({1}));
  const Decoded dw = Decode(w);
  ASSERT_TRUE(dw.ok);
  EXPECT_EQ(std::string_view(dw.req.payload.data(), dw.req.payload.size()), "xyz");
  const auto s = Message(abi::FUSE_SYMLINK, Bytes().Str("l").Str("t"), GroupsExt({7}));
  const Decoded ds = Decode(s);
  ASSERT_TRUE(ds.ok);
  EXPECT_EQ(ds.req.name2, "t");
  ASSERT_EQ(ds.req.groups.size(), 1u);
  EXPECT_EQ(ds.req.groups[0], 7u);
}

TEST(DecodeExtensions, UnknownTypesSkipped) {
  // A security context header (type = nr_secctx, below 32) then groups.
  Bytes ext;
  ext.U32(24).U32(1).Raw("security.selinux").Append(GroupsExt({99}));
  const auto msg = Message(abi::FUSE_MKNOD, Bytes().Zeros(16).Str("node"), ext);
  const Decoded d = Decode(msg);
  ASSERT_TRUE(d.ok);
  ASSERT_EQ(d.req.groups.size(), 1u);
  EXPECT_EQ(d.req.groups[0], 99u);
  // Only an unknown extension: no groups.
  const auto only = Message(abi::FUSE_MKNOD, Bytes().Zeros(16).Str("node"),
                            Bytes().U32(16).U32(77).U64(0));
  const Decoded d2 = Decode(only);
  ASSERT_TRUE(d2.ok);
  EXPECT_TRUE(d2.req.groups.empty());
}

TEST(DecodeExtensions, MalformedIsEinval) {
  const Bytes body = Bytes().U32(040755).U32(0).Str("d");
  const std::vector<std::pair<const char*, Bytes>> bad = {
      {"size 0", Bytes().U32(0).U32(abi::FUSE_EXT_GROUPS)},
      {"size 4", Bytes().U32(4).U32(abi::FUSE_EXT_GROUPS)},
      {"size not a multiple of 8", Bytes().U32(12).U32(abi::FUSE_EXT_GROUPS).U32(0).U32(0)},
      {"size beyond the area", Bytes().U32(24).U32(abi::FUSE_EXT_GROUPS).U32(0).U32(0)},
      {"groups count beyond extension",
       Bytes().U32(16).U32(abi::FUSE_EXT_GROUPS).U32(2).U32(5)},
      {"groups without count", Bytes().U32(8).U32(abi::FUSE_EXT_GROUPS)},
      {"second extension broken",
       Bytes().Append(GroupsExt({1})).U32(0).U32(abi::FUSE_EXT_GROUPS)},
  };
  for (const auto& [what, ext] : bad) {
    SCOPED_TRACE(what);
    ASSERT_EQ(ext.size() % 8, 0u);
    ExpectFailure(Decode(Message(abi::FUSE_MKDIR, body, ext)), abi::FUSE_MKDIR, EINVAL);
  }
}

}  // namespace
}  // namespace ptfs::proto
