// Helpers of the decode tests (decode_golden_test.cc, decode_malformed_test.cc):
// decode a message and check the fields DecodeRequest fills against what
// wire.h's Message() wrote.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "abi/fuse_abi.h"
#include "gtest/gtest.h"
#include "proto/request.h"
#include "wire.h"

namespace ptfs::proto::decode_test {

namespace abi = ::ptfs::abi;
using unit_test::Bytes;
using unit_test::kGid;
using unit_test::kNodeId;
using unit_test::kPid;
using unit_test::kUid;
using unit_test::kUnique;
using unit_test::Message;
using unit_test::MessageSpec;

inline constexpr size_t kHdr = unit_test::kInHeaderSize;

struct Decoded {
  bool ok = false;
  Request req;
  DecodeFailure failure;
};

// `msg` must outlive the result: the request points into it.
inline Decoded Decode(const std::vector<char>& msg, bool setxattr_ext = false) {
  Decoded d;
  DecodeOptions opts;
  opts.setxattr_ext = setxattr_ext;
  d.ok = DecodeRequest(msg, opts, &d.req, &d.failure);
  return d;
}

// Checks every header field against what Message() wrote.
inline void ExpectHeader(const Request& r, const std::vector<char>& msg, uint32_t opcode,
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
inline void ExpectArg(const Request& r, const std::vector<char>& msg, size_t size) {
  EXPECT_EQ(r.arg.size(), size);
  if (size != 0) {
    EXPECT_EQ(r.arg.data(), msg.data() + kHdr);
  }
}

inline void ExpectNoStrings(const Request& r) {
  EXPECT_TRUE(r.name.empty());
  EXPECT_TRUE(r.name2.empty());
}

inline void ExpectNoExtras(const Request& r) {
  EXPECT_TRUE(r.payload.empty());
  EXPECT_TRUE(r.groups.empty());
}

// A string view that must point into `msg` at `offset`.
inline void ExpectView(std::string_view v, const std::vector<char>& msg, size_t offset,
                std::string_view want) {
  EXPECT_EQ(v, want);
  EXPECT_EQ(v.data(), msg.data() + offset);
}

inline void ExpectPayload(const Request& r, const std::vector<char>& msg, size_t offset,
                   std::string_view want) {
  EXPECT_EQ(std::string_view(r.payload.data(), r.payload.size()), want);
  EXPECT_EQ(r.payload.data(), msg.data() + offset);
}

}  // namespace ptfs::proto::decode_test
