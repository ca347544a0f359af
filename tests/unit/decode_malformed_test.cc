// src/proto/request: every opcode's minimal body, then truncated, oversized and malformed variants (golden bytes: decode_golden_test.cc).
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
    if (strings == Strings::kName || strings == Strings::kLookupName ||
        strings == Strings::kTwoNames || strings == Strings::kNameAndPath) {
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

TEST(DecodeNames, DotAndDotDotAreEinvalExceptForLookup) {
  for (const NameSlot& s : kNameSlots) {
    SCOPED_TRACE(std::string(OpName(s.opcode)) + (s.second ? " second" : " first"));
    if (s.opcode == abi::FUSE_LOOKUP) {
      // FUSE_EXPORT_SUPPORT's LOOKUPs of a nodeid itself and of a
      // directory's parent: decoded, and left to the filesystem.
      for (std::string_view name : {".", ".."}) {
        const Decoded d = Decode(WithName(s.opcode, name, s.second));
        ASSERT_TRUE(d.ok) << name;
        EXPECT_EQ(d.req.name, name);
      }
      continue;
    }
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
