// src/proto/init: INIT negotiation across protocol minors, and flag names.
#include "proto/init.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "abi/fuse_abi.h"
#include "gtest/gtest.h"
#include "proto/request.h"
#include "wire.h"

namespace ptfs::proto {
namespace {

using namespace ::ptfs::abi;  // NOLINT: the flag names read best unqualified
using unit_test::Bytes;
using unit_test::Hex;
using unit_test::ObjectBytes;

// What kernels of each protocol minor offer (Linux 5.4 .. 6.15, roughly).
constexpr uint64_t kOffered731 =
    FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |
    FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_SPLICE_WRITE | FUSE_SPLICE_MOVE | FUSE_SPLICE_READ |
    FUSE_FLOCK_LOCKS | FUSE_HAS_IOCTL_DIR | FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS |
    FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_WRITEBACK_CACHE | FUSE_NO_OPEN_SUPPORT |
    FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | FUSE_POSIX_ACL | FUSE_ABORT_ERROR |
    FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_NO_OPENDIR_SUPPORT | FUSE_EXPLICIT_INVAL_DATA;
constexpr uint64_t kOffered736 = kOffered731 | FUSE_MAP_ALIGNMENT | FUSE_SUBMOUNTS |
                                 FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT | FUSE_INIT_EXT |
                                 FUSE_SECURITY_CTX | FUSE_HAS_INODE_DAX;
constexpr uint64_t kOffered738 = kOffered736 | FUSE_CREATE_SUPP_GROUP | FUSE_HAS_EXPIRE_ONLY;
constexpr uint64_t kOffered740 = kOffered738 | FUSE_DIRECT_IO_ALLOW_MMAP | FUSE_PASSTHROUGH |
                                 FUSE_NO_EXPORT_SUPPORT | FUSE_HAS_RESEND;
constexpr uint64_t kOffered745 =
    kOffered740 | FUSE_ALLOW_IDMAP | FUSE_OVER_IO_URING | FUSE_REQUEST_TIMEOUT;
// A future kernel: everything, plus bits nobody has named yet.
constexpr uint64_t kOffered799 = kOffered745 | (1ULL << 43) | (1ULL << 50) | (1ULL << 63);

// A typical server.
constexpr uint64_t kWanted =
    FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |
    FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_WRITEBACK_CACHE |
    FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_HANDLE_KILLPRIV_V2 |
    FUSE_SETXATTR_EXT | FUSE_INIT_EXT | FUSE_CREATE_SUPP_GROUP | FUSE_PASSTHROUGH;
static_assert(kWanted == 0x00000024'70c5603bULL, "the wanted set, spelled out");

// fuse_init_in as a kernel of `minor` sends it: 16 bytes before 7.36.
Bytes InitIn(uint32_t major, uint32_t minor, uint32_t max_readahead, uint64_t flags,
             bool full = true) {
  Bytes b;
  b.U32(major).U32(minor).U32(max_readahead).U32(static_cast<uint32_t>(flags));
  if (full) b.U32(static_cast<uint32_t>(flags >> 32)).Zeros(44);
  return b;
}

InitConfig Config(uint64_t wanted) {
  InitConfig c;
  c.wanted_flags = wanted;
  c.max_write = 1 << 20;
  c.max_readahead = 1 << 20;
  c.max_background = 64;
  c.congestion_threshold = 48;
  c.max_stack_depth = 2;
  return c;
}

void ExpectUnusedZero(const fuse_init_out& out) {
  EXPECT_EQ(out.map_alignment, 0);
  EXPECT_EQ(out.request_timeout, 0);
  for (uint16_t u : out.unused) EXPECT_EQ(u, 0);
}

struct MinorCase {
  uint32_t minor;
  uint64_t offered;
  bool full_init_in;    // 64-byte fuse_init_in (7.36+)
  uint64_t want_flags;  // expected in force, written out
};

void PrintTo(const MinorCase& c, std::ostream* os) {
  *os << "7." << c.minor << " offered=0x" << std::hex << c.offered << " in_size=" << std::dec
      << (c.full_init_in ? 64 : 16);
}

class InitAcrossMinors : public testing::TestWithParam<MinorCase> {};

TEST_P(InitAcrossMinors, FlagsInForceAreOfferedAndWanted) {
  const MinorCase& c = GetParam();
  const Bytes in = InitIn(7, c.minor, 128 * 1024, c.offered, c.full_init_in);
  ASSERT_EQ(in.size(), c.full_init_in ? 64u : 16u);
  const InitOutcome r = NegotiateInit(in.span(), Config(kWanted));
  ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
  EXPECT_EQ(r.kernel_major, 7u);
  EXPECT_EQ(r.kernel_minor, c.minor);
  EXPECT_EQ(r.kernel_flags, c.offered);
  EXPECT_EQ(r.flags, c.offered & kWanted);
  EXPECT_EQ(r.flags, c.want_flags);
  const bool ext = (c.offered & FUSE_INIT_EXT) != 0;
  EXPECT_EQ(r.out.flags, static_cast<uint32_t>(c.want_flags));
  EXPECT_EQ(r.out.flags2, ext ? static_cast<uint32_t>(c.want_flags >> 32) : 0u);
  EXPECT_EQ(r.out.major, 7u);
  EXPECT_EQ(r.out.minor, 45u);  // always our own minor
  EXPECT_EQ(r.out_size, 64u);
  EXPECT_EQ(r.out.max_readahead, 128u * 1024);
  EXPECT_EQ(r.max_readahead, 128u * 1024);
  EXPECT_EQ(r.out.max_background, 64);
  EXPECT_EQ(r.out.congestion_threshold, 48);
  EXPECT_EQ(r.out.time_gran, 1u);
  // Every minor here offers MAX_PAGES.
  EXPECT_EQ(r.out.max_pages, 256);
  EXPECT_EQ(r.out.max_write, 1u << 20);
  EXPECT_EQ(r.max_write, 1u << 20);
  EXPECT_EQ(r.out.max_stack_depth, (c.want_flags & FUSE_PASSTHROUGH) != 0 ? 2u : 0u);
  ExpectUnusedZero(r.out);
}

constexpr uint64_t kWanted731 = 0x00c5603b;              // kWanted minus what 7.31 lacks
constexpr uint64_t kWanted736 = 0x70c5603b;              // + KILLPRIV_V2, SETXATTR_EXT, INIT_EXT
constexpr uint64_t kWanted738 = 0x00000004'70c5603bULL;  // + CREATE_SUPP_GROUP
constexpr uint64_t kWanted740 = 0x00000024'70c5603bULL;  // + PASSTHROUGH

INSTANTIATE_TEST_SUITE_P(Minors, InitAcrossMinors,
                         testing::Values(MinorCase{31, kOffered731, false, kWanted731},
                                         MinorCase{36, kOffered736, true, kWanted736},
                                         MinorCase{38, kOffered738, true, kWanted738},
                                         MinorCase{40, kOffered740, true, kWanted740},
                                         MinorCase{45, kOffered745, true, kWanted740},
                                         MinorCase{99, kOffered799, true, kWanted740}),
                         [](const testing::TestParamInfo<MinorCase>& info) {
                           return "Minor" + std::to_string(info.param.minor);
                         });

TEST(Init, GoldenReplyBytesFor7_45) {
  const Bytes in = InitIn(7, 45, 0x20000, kOffered745);
  const InitOutcome r = NegotiateInit(in.span(), Config(kWanted));
  ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
  Bytes want;
  want.U32(7)           // major
      .U32(45)          // minor
      .U32(0x20000)     // max_readahead = min(kernel, ours)
      .U32(0x70c5603b)  // flags
      .U16(64)          // max_background
      .U16(48)          // congestion_threshold
      .U32(1 << 20)     // max_write
      .U32(1)           // time_gran
      .U16(256)         // max_pages
      .U16(0)           // map_alignment
      .U32(0x24)        // flags2: CREATE_SUPP_GROUP | PASSTHROUGH
      .U32(2)           // max_stack_depth
      .U16(0)           // request_timeout
      .Zeros(22);       // unused
  ASSERT_EQ(want.size(), 64u);
  ASSERT_EQ(r.out_size, 64u);
  EXPECT_EQ(Hex(ObjectBytes(r.out)), Hex(want.span()));
}

TEST(Init, SixteenByteInitInAcceptedThroughTheDecoder) {
  // 7.31 sends 16 bytes; the decoder accepts them and negotiation reads them.
  const auto msg = unit_test::Message(FUSE_INIT, InitIn(7, 31, 65536, kOffered731, false));
  Request req;
  DecodeFailure failure;
  ASSERT_TRUE(DecodeRequest(msg, {}, &req, &failure));
  ASSERT_EQ(req.arg.size(), 16u);
  const InitOutcome r = NegotiateInit(req.arg, Config(kWanted));
  ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
  EXPECT_EQ(r.kernel_minor, 31u);
  EXPECT_EQ(r.flags, kWanted731);
  EXPECT_EQ(r.out.flags2, 0u);
  EXPECT_EQ(r.max_readahead, 65536u);
}

TEST(Init, Flags2IgnoredWithoutInitExt) {
  // A 64-byte fuse_init_in whose flags lack INIT_EXT: flags2 is not to be read.
  const Bytes in = InitIn(7, 36, 0, (kOffered736 & ~FUSE_INIT_EXT) | 0xffffffff00000000ULL);
  const InitOutcome r = NegotiateInit(in.span(), Config(~0ULL));
  ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
  EXPECT_EQ(r.kernel_flags >> 32, 0u);
  EXPECT_EQ(r.flags >> 32, 0u);
  EXPECT_EQ(r.flags & FUSE_INIT_EXT, 0u);
  EXPECT_EQ(r.out.flags2, 0u);
  EXPECT_EQ(r.out.max_stack_depth, 0u);
}

TEST(Init, InitExtFlagIn16BytesReadsNoFlags2) {
  const Bytes in = InitIn(7, 36, 0, FUSE_ASYNC_READ | FUSE_INIT_EXT, /*full=*/false);
  const InitOutcome r = NegotiateInit(in.span(), Config(~0ULL));
  ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
  EXPECT_EQ(r.kernel_flags, FUSE_ASYNC_READ | FUSE_INIT_EXT);
  EXPECT_EQ(r.out.flags2, 0u);
}

TEST(Init, InitExtAnsweredWheneverOffered) {
  // The reply must carry INIT_EXT for the kernel to read flags2, so it is set
  // whenever the kernel offered it, wanted or not.
  const Bytes in = InitIn(7, 40, 0, kOffered740);
  const InitOutcome r = NegotiateInit(in.span(), Config(FUSE_ASYNC_READ | FUSE_PASSTHROUGH));
  ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
  EXPECT_EQ(r.flags, FUSE_ASYNC_READ | FUSE_INIT_EXT | FUSE_PASSTHROUGH);
  EXPECT_EQ(r.out.flags, 0x40000001u);
  EXPECT_EQ(r.out.flags2, 0x20u);
  EXPECT_EQ(r.out.max_stack_depth, 2u);
}

TEST(Init, NothingWantedNothingInForce) {
  const Bytes in = InitIn(7, 31, 0, kOffered731, false);
  const InitOutcome r = NegotiateInit(in.span(), Config(0));
  ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
  EXPECT_EQ(r.flags, 0u);
  EXPECT_EQ(r.out.flags, 0u);
  EXPECT_EQ(r.out.flags2, 0u);
}

TEST(Init, NewerMajorIsAskedForOurs) {
  const Bytes in = InitIn(8, 0, 0x20000, ~0ULL);
  const InitOutcome r = NegotiateInit(in.span(), Config(kWanted));
  ASSERT_EQ(r.kind, InitOutcome::Kind::kAskOlderMajor);
  EXPECT_EQ(r.kernel_major, 8u);
  EXPECT_EQ(r.out.major, 7u);
  EXPECT_EQ(r.out.minor, 45u);
  EXPECT_EQ(r.out_size, 64u);
  EXPECT_EQ(r.out.flags, 0u);
  EXPECT_EQ(r.out.flags2, 0u);
  EXPECT_EQ(r.out.max_write, 0u);
  EXPECT_EQ(r.flags, 0u);
}

TEST(Init, OldProtocolsRefused) {
  struct Case {
    uint32_t major, minor;
  };
  for (const Case& c : {Case{6, 45}, Case{7, 30}, Case{7, 0}, Case{0, 0}}) {
    SCOPED_TRACE(testing::Message() << c.major << "." << c.minor);
    const Bytes in = InitIn(c.major, c.minor, 0x20000, kOffered731, false);
    const InitOutcome r = NegotiateInit(in.span(), Config(kWanted));
    EXPECT_EQ(r.kind, InitOutcome::Kind::kRefused);
    EXPECT_EQ(r.error, EPROTO);
    EXPECT_EQ(r.kernel_major, c.major);
    EXPECT_EQ(r.kernel_minor, c.minor);
  }
}

TEST(Init, MaxWriteAndMaxPages) {
  struct Case {
    bool max_pages;  // FUSE_MAX_PAGES in force
    uint32_t config_max_write;
    uint32_t want_max_write;
    uint16_t want_max_pages;
  };
  const Case kCases[] = {
      {true, 1 << 20, 1 << 20, 256},  // 1 MiB -> 256 pages
      {true, 2 << 20, 1 << 20, 256},  // capped at 256 pages
      {true, 128 << 10, 128 << 10, 32},
      {true, 4097, 4097, 2},  // pages round up
      {true, 4096, 4096, 1},
      {true, 0, 4096, 1},              // at least one page
      {false, 1 << 20, 128 << 10, 0},  // without MAX_PAGES: 32 pages
      {false, 64 << 10, 64 << 10, 0},
      {false, 0, 4096, 0},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(testing::Message()
                 << "max_pages=" << c.max_pages << " max_write=" << c.config_max_write);
    // Not in force once because it is not offered, once because not wanted.
    for (bool via_offer : {true, false}) {
      const uint64_t offered =
          (c.max_pages || !via_offer) ? kOffered745 : kOffered745 & ~FUSE_MAX_PAGES;
      const uint64_t wanted = (c.max_pages || via_offer) ? kWanted : kWanted & ~FUSE_MAX_PAGES;
      InitConfig config = Config(wanted);
      config.max_write = c.config_max_write;
      const Bytes in = InitIn(7, 45, 0, offered);
      const InitOutcome r = NegotiateInit(in.span(), config);
      ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
      EXPECT_EQ((r.flags & FUSE_MAX_PAGES) != 0, c.max_pages);
      EXPECT_EQ(r.out.max_write, c.want_max_write);
      EXPECT_EQ(r.max_write, c.want_max_write);
      EXPECT_EQ(r.out.max_pages, c.want_max_pages);
    }
  }
}

TEST(Init, MaxReadaheadIsTheSmaller) {
  struct Case {
    uint32_t kernel, ours, want;
  };
  for (const Case& c : {Case{128 << 10, 1 << 20, 128 << 10}, Case{1 << 20, 64 << 10, 64 << 10},
                        Case{0, 1 << 20, 0}, Case{1 << 20, 0, 0}}) {
    InitConfig config = Config(kWanted);
    config.max_readahead = c.ours;
    const Bytes in = InitIn(7, 38, c.kernel, kOffered738);
    const InitOutcome r = NegotiateInit(in.span(), config);
    ASSERT_EQ(r.kind, InitOutcome::Kind::kAccepted);
    EXPECT_EQ(r.out.max_readahead, c.want);
    EXPECT_EQ(r.max_readahead, c.want);
  }
}

TEST(Init, MaxStackDepthOnlyWithPassthrough) {
  {  // offered and wanted
    const InitOutcome r = NegotiateInit(InitIn(7, 40, 0, kOffered740).span(), Config(kWanted));
    EXPECT_NE(r.flags & FUSE_PASSTHROUGH, 0u);
    EXPECT_EQ(r.out.max_stack_depth, 2u);
  }
  {  // offered, not wanted
    const InitOutcome r =
        NegotiateInit(InitIn(7, 40, 0, kOffered740).span(), Config(kWanted & ~FUSE_PASSTHROUGH));
    EXPECT_EQ(r.flags & FUSE_PASSTHROUGH, 0u);
    EXPECT_EQ(r.out.max_stack_depth, 0u);
  }
  {  // wanted, not offered (7.38)
    const InitOutcome r = NegotiateInit(InitIn(7, 38, 0, kOffered738).span(), Config(kWanted));
    EXPECT_EQ(r.flags & FUSE_PASSTHROUGH, 0u);
    EXPECT_EQ(r.out.max_stack_depth, 0u);
  }
}

TEST(DescribeInitFlags, NoneAndSingles) {
  EXPECT_EQ(DescribeInitFlags(0), "none");
  EXPECT_EQ(DescribeInitFlags(FUSE_ASYNC_READ), "ASYNC_READ");
  EXPECT_EQ(DescribeInitFlags(FUSE_ASYNC_READ | FUSE_POSIX_LOCKS), "ASYNC_READ,POSIX_LOCKS");
  EXPECT_EQ(DescribeInitFlags(FUSE_PASSTHROUGH), "PASSTHROUGH");
  EXPECT_EQ(DescribeInitFlags(FUSE_INIT_EXT | FUSE_SECURITY_CTX), "INIT_EXT,SECURITY_CTX");
  EXPECT_EQ(DescribeInitFlags(FUSE_REQUEST_TIMEOUT), "REQUEST_TIMEOUT");
  EXPECT_EQ(DescribeInitFlags(1ULL << 43), "bit43");
  EXPECT_EQ(DescribeInitFlags((1ULL << 63) | FUSE_MAX_PAGES), "MAX_PAGES,bit63");
}

TEST(DescribeInitFlags, EveryNamedBit) {
  const std::pair<uint64_t, const char*> kNames[] = {
      {FUSE_ASYNC_READ, "ASYNC_READ"},
      {FUSE_POSIX_LOCKS, "POSIX_LOCKS"},
      {FUSE_FILE_OPS, "FILE_OPS"},
      {FUSE_ATOMIC_O_TRUNC, "ATOMIC_O_TRUNC"},
      {FUSE_EXPORT_SUPPORT, "EXPORT_SUPPORT"},
      {FUSE_BIG_WRITES, "BIG_WRITES"},
      {FUSE_DONT_MASK, "DONT_MASK"},
      {FUSE_SPLICE_WRITE, "SPLICE_WRITE"},
      {FUSE_SPLICE_MOVE, "SPLICE_MOVE"},
      {FUSE_SPLICE_READ, "SPLICE_READ"},
      {FUSE_FLOCK_LOCKS, "FLOCK_LOCKS"},
      {FUSE_HAS_IOCTL_DIR, "HAS_IOCTL_DIR"},
      {FUSE_AUTO_INVAL_DATA, "AUTO_INVAL_DATA"},
      {FUSE_DO_READDIRPLUS, "DO_READDIRPLUS"},
      {FUSE_READDIRPLUS_AUTO, "READDIRPLUS_AUTO"},
      {FUSE_ASYNC_DIO, "ASYNC_DIO"},
      {FUSE_WRITEBACK_CACHE, "WRITEBACK_CACHE"},
      {FUSE_NO_OPEN_SUPPORT, "NO_OPEN_SUPPORT"},
      {FUSE_PARALLEL_DIROPS, "PARALLEL_DIROPS"},
      {FUSE_HANDLE_KILLPRIV, "HANDLE_KILLPRIV"},
      {FUSE_POSIX_ACL, "POSIX_ACL"},
      {FUSE_ABORT_ERROR, "ABORT_ERROR"},
      {FUSE_MAX_PAGES, "MAX_PAGES"},
      {FUSE_CACHE_SYMLINKS, "CACHE_SYMLINKS"},
      {FUSE_NO_OPENDIR_SUPPORT, "NO_OPENDIR_SUPPORT"},
      {FUSE_EXPLICIT_INVAL_DATA, "EXPLICIT_INVAL_DATA"},
      {FUSE_MAP_ALIGNMENT, "MAP_ALIGNMENT"},
      {FUSE_SUBMOUNTS, "SUBMOUNTS"},
      {FUSE_HANDLE_KILLPRIV_V2, "HANDLE_KILLPRIV_V2"},
      {FUSE_SETXATTR_EXT, "SETXATTR_EXT"},
      {FUSE_INIT_EXT, "INIT_EXT"},
      {FUSE_INIT_RESERVED, "INIT_RESERVED"},
      {FUSE_SECURITY_CTX, "SECURITY_CTX"},
      {FUSE_HAS_INODE_DAX, "HAS_INODE_DAX"},
      {FUSE_CREATE_SUPP_GROUP, "CREATE_SUPP_GROUP"},
      {FUSE_HAS_EXPIRE_ONLY, "HAS_EXPIRE_ONLY"},
      {FUSE_DIRECT_IO_ALLOW_MMAP, "DIRECT_IO_ALLOW_MMAP"},
      {FUSE_PASSTHROUGH, "PASSTHROUGH"},
      {FUSE_NO_EXPORT_SUPPORT, "NO_EXPORT_SUPPORT"},
      {FUSE_HAS_RESEND, "HAS_RESEND"},
      {FUSE_ALLOW_IDMAP, "ALLOW_IDMAP"},
      {FUSE_OVER_IO_URING, "OVER_IO_URING"},
      {FUSE_REQUEST_TIMEOUT, "REQUEST_TIMEOUT"},
  };
  std::string all;
  uint64_t mask = 0;
  for (const auto& [bit, name] : kNames) {
    EXPECT_EQ(DescribeInitFlags(bit), name);
    if (!all.empty()) all += ',';
    all += name;
    mask |= bit;
  }
  EXPECT_EQ(mask, (1ULL << 43) - 1);
  EXPECT_EQ(DescribeInitFlags(mask), all);
}

// -o request_timeout=S: FUSE_REQUEST_TIMEOUT in flags2 (bit 10) and the
// seconds at offset 40 of fuse_init_out, only when the kernel offers it.
TEST(Init, RequestTimeoutSentOnlyWhenAskedAndOffered) {
  const Bytes in = InitIn(7, 45, 0x20000, kOffered745 | FUSE_REQUEST_TIMEOUT);
  InitConfig config = Config(kWanted);
  InitOutcome none = NegotiateInit(in.span(), config);
  EXPECT_EQ(none.flags & FUSE_REQUEST_TIMEOUT, 0u);
  EXPECT_EQ(none.out.request_timeout, 0);
  config.request_timeout = 90;
  const InitOutcome asked = NegotiateInit(in.span(), config);
  EXPECT_NE(asked.flags & FUSE_REQUEST_TIMEOUT, 0u);
  EXPECT_EQ((asked.out.flags2 >> 10) & 1, 1u);
  uint16_t at40;
  std::memcpy(&at40, reinterpret_cast<const char*>(&asked.out) + 40, sizeof(at40));
  EXPECT_EQ(at40, 90);
  // A kernel without it (before 6.14) gets neither.
  const Bytes old_kernel = InitIn(7, 45, 0x20000, kOffered745 & ~FUSE_REQUEST_TIMEOUT);
  const InitOutcome refused = NegotiateInit(old_kernel.span(), config);
  EXPECT_EQ(refused.flags & FUSE_REQUEST_TIMEOUT, 0u);
  EXPECT_EQ(refused.out.request_timeout, 0);
}

}  // namespace
}  // namespace ptfs::proto
