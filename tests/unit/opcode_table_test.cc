// src/proto/opcode_table: names, fixed argument sizes and shapes of every opcode.
#include "proto/opcode_table.h"

#include <cstdint>
#include <set>
#include <string>

#include "abi/fuse_abi.h"
#include "gtest/gtest.h"

namespace ptfs::proto {
namespace {

namespace abi = ::ptfs::abi;

struct Expected {
  uint32_t opcode;
  const char* name;
  size_t fixed;  // sizeof of the matching abi struct (or its compat size)
  Strings strings;
  Payload payload;
  bool answered;
  bool needs_node;
};

// Written out from the protocol description, one row per opcode.
const Expected kExpected[] = {
    {1, "LOOKUP", 0, Strings::kLookupName, Payload::kNone, true, true},
    {2, "FORGET", sizeof(abi::fuse_forget_in), Strings::kNone, Payload::kNone, false, false},
    {3, "GETATTR", sizeof(abi::fuse_getattr_in), Strings::kNone, Payload::kNone, true, true},
    {4, "SETATTR", sizeof(abi::fuse_setattr_in), Strings::kNone, Payload::kNone, true, true},
    {5, "READLINK", 0, Strings::kNone, Payload::kNone, true, true},
    {6, "SYMLINK", 0, Strings::kNameAndPath, Payload::kNone, true, true},
    {8, "MKNOD", sizeof(abi::fuse_mknod_in), Strings::kName, Payload::kNone, true, true},
    {9, "MKDIR", sizeof(abi::fuse_mkdir_in), Strings::kName, Payload::kNone, true, true},
    {10, "UNLINK", 0, Strings::kName, Payload::kNone, true, true},
    {11, "RMDIR", 0, Strings::kName, Payload::kNone, true, true},
    {12, "RENAME", sizeof(abi::fuse_rename_in), Strings::kTwoNames, Payload::kNone, true, true},
    {13, "LINK", sizeof(abi::fuse_link_in), Strings::kName, Payload::kNone, true, true},
    {14, "OPEN", sizeof(abi::fuse_open_in), Strings::kNone, Payload::kNone, true, true},
    {15, "READ", sizeof(abi::fuse_read_in), Strings::kNone, Payload::kNone, true, true},
    {16, "WRITE", sizeof(abi::fuse_write_in), Strings::kNone, Payload::kWriteData, true, true},
    {17, "STATFS", 0, Strings::kNone, Payload::kNone, true, true},
    {18, "RELEASE", sizeof(abi::fuse_release_in), Strings::kNone, Payload::kNone, true, true},
    {20, "FSYNC", sizeof(abi::fuse_fsync_in), Strings::kNone, Payload::kNone, true, true},
    // Without FUSE_SETXATTR_EXT only the first 8 bytes of fuse_setxattr_in.
    {21, "SETXATTR", abi::kCompatSetxattrInSize, Strings::kXattrAndValue, Payload::kNone, true,
     true},
    {22, "GETXATTR", sizeof(abi::fuse_getxattr_in), Strings::kXattrName, Payload::kNone, true,
     true},
    {23, "LISTXATTR", sizeof(abi::fuse_getxattr_in), Strings::kNone, Payload::kNone, true, true},
    {24, "REMOVEXATTR", 0, Strings::kXattrName, Payload::kNone, true, true},
    {25, "FLUSH", sizeof(abi::fuse_flush_in), Strings::kNone, Payload::kNone, true, true},
    // Kernels before 7.36 send only the first 16 bytes of fuse_init_in.
    {26, "INIT", abi::kCompatInitInSize, Strings::kNone, Payload::kAny, true, false},
    {27, "OPENDIR", sizeof(abi::fuse_open_in), Strings::kNone, Payload::kNone, true, true},
    {28, "READDIR", sizeof(abi::fuse_read_in), Strings::kNone, Payload::kNone, true, true},
    {29, "RELEASEDIR", sizeof(abi::fuse_release_in), Strings::kNone, Payload::kNone, true, true},
    {30, "FSYNCDIR", sizeof(abi::fuse_fsync_in), Strings::kNone, Payload::kNone, true, true},
    {31, "GETLK", sizeof(abi::fuse_lk_in), Strings::kNone, Payload::kNone, true, true},
    {32, "SETLK", sizeof(abi::fuse_lk_in), Strings::kNone, Payload::kNone, true, true},
    {33, "SETLKW", sizeof(abi::fuse_lk_in), Strings::kNone, Payload::kNone, true, true},
    {34, "ACCESS", sizeof(abi::fuse_access_in), Strings::kNone, Payload::kNone, true, true},
    {35, "CREATE", sizeof(abi::fuse_create_in), Strings::kName, Payload::kNone, true, true},
    {36, "INTERRUPT", sizeof(abi::fuse_interrupt_in), Strings::kNone, Payload::kNone, false,
     false},
    {37, "BMAP", sizeof(abi::fuse_bmap_in), Strings::kNone, Payload::kNone, true, true},
    {38, "DESTROY", 0, Strings::kNone, Payload::kNone, true, false},
    {39, "IOCTL", sizeof(abi::fuse_ioctl_in), Strings::kNone, Payload::kAny, true, true},
    {40, "POLL", sizeof(abi::fuse_poll_in), Strings::kNone, Payload::kNone, true, true},
    {41, "NOTIFY_REPLY", 0, Strings::kNone, Payload::kAny, false, false},
    {42, "BATCH_FORGET", sizeof(abi::fuse_batch_forget_in), Strings::kNone,
     Payload::kForgetArray, false, false},
    {43, "FALLOCATE", sizeof(abi::fuse_fallocate_in), Strings::kNone, Payload::kNone, true,
     true},
    {44, "READDIRPLUS", sizeof(abi::fuse_read_in), Strings::kNone, Payload::kNone, true, true},
    {45, "RENAME2", sizeof(abi::fuse_rename2_in), Strings::kTwoNames, Payload::kNone, true,
     true},
    {46, "LSEEK", sizeof(abi::fuse_lseek_in), Strings::kNone, Payload::kNone, true, true},
    {47, "COPY_FILE_RANGE", sizeof(abi::fuse_copy_file_range_in), Strings::kNone,
     Payload::kNone, true, true},
    {48, "SETUPMAPPING", 0, Strings::kNone, Payload::kAny, true, true},
    {49, "REMOVEMAPPING", 0, Strings::kNone, Payload::kAny, true, true},
    {50, "SYNCFS", sizeof(abi::fuse_syncfs_in), Strings::kNone, Payload::kNone, true, true},
    {51, "TMPFILE", sizeof(abi::fuse_create_in), Strings::kTmpName, Payload::kNone, true, true},
    {52, "STATX", sizeof(abi::fuse_statx_in), Strings::kNone, Payload::kNone, true, true},
    {53, "COPY_FILE_RANGE_64", sizeof(abi::fuse_copy_file_range_in), Strings::kNone,
     Payload::kNone, true, true},
};

TEST(OpcodeTable, EveryOpcodeExceptTheGapsHasAName) {
  std::set<uint32_t> listed;
  for (const Expected& e : kExpected) listed.insert(e.opcode);
  for (uint32_t op = 1; op <= 53; ++op) {
    if (op == 7 || op == 19) continue;
    EXPECT_TRUE(listed.count(op)) << "opcode " << op << " missing from this test";
    ASSERT_NE(LookupOp(op).name, nullptr) << "opcode " << op;
  }
  EXPECT_EQ(listed.size(), 51u);
}

TEST(OpcodeTable, RowsMatch) {
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(e.name);
    const OpInfo& op = LookupOp(e.opcode);
    ASSERT_NE(op.name, nullptr);
    EXPECT_STREQ(op.name, e.name);
    EXPECT_STREQ(OpName(e.opcode), e.name);
    EXPECT_EQ(op.fixed_size, e.fixed);
    EXPECT_EQ(op.strings, e.strings);
    EXPECT_EQ(op.payload, e.payload);
    EXPECT_EQ(op.answered, e.answered);
    EXPECT_EQ(op.needs_node, e.needs_node);
  }
}

// The same sizes as plain numbers, so a struct that changed size in the abi
// header and in the table together is still caught.
TEST(OpcodeTable, FixedSizesInBytes) {
  const std::pair<uint32_t, uint32_t> kBytes[] = {
      {abi::FUSE_FORGET, 8},       {abi::FUSE_GETATTR, 16},      {abi::FUSE_SETATTR, 88},
      {abi::FUSE_MKNOD, 16},       {abi::FUSE_MKDIR, 8},         {abi::FUSE_RENAME, 8},
      {abi::FUSE_LINK, 8},         {abi::FUSE_OPEN, 8},          {abi::FUSE_READ, 40},
      {abi::FUSE_WRITE, 40},       {abi::FUSE_RELEASE, 24},      {abi::FUSE_FSYNC, 16},
      {abi::FUSE_SETXATTR, 8},     {abi::FUSE_GETXATTR, 8},      {abi::FUSE_LISTXATTR, 8},
      {abi::FUSE_FLUSH, 24},       {abi::FUSE_INIT, 16},         {abi::FUSE_OPENDIR, 8},
      {abi::FUSE_READDIR, 40},     {abi::FUSE_RELEASEDIR, 24},   {abi::FUSE_FSYNCDIR, 16},
      {abi::FUSE_GETLK, 48},       {abi::FUSE_SETLK, 48},        {abi::FUSE_SETLKW, 48},
      {abi::FUSE_ACCESS, 8},       {abi::FUSE_CREATE, 16},       {abi::FUSE_INTERRUPT, 8},
      {abi::FUSE_BMAP, 16},        {abi::FUSE_IOCTL, 32},        {abi::FUSE_POLL, 24},
      {abi::FUSE_BATCH_FORGET, 8}, {abi::FUSE_FALLOCATE, 32},    {abi::FUSE_READDIRPLUS, 40},
      {abi::FUSE_RENAME2, 16},     {abi::FUSE_LSEEK, 24},        {abi::FUSE_COPY_FILE_RANGE, 56},
      {abi::FUSE_SYNCFS, 8},       {abi::FUSE_TMPFILE, 16},      {abi::FUSE_STATX, 24},
      {abi::FUSE_COPY_FILE_RANGE_64, 56},
  };
  for (const auto& [op, bytes] : kBytes) EXPECT_EQ(LookupOp(op).fixed_size, bytes) << OpName(op);
}

TEST(OpcodeTable, GapsAndOutOfRangeAreUnknown) {
  for (uint32_t op : {0u, 7u, 19u, 54u, 55u, 4095u, 9999u, 0xffffffffu}) {
    EXPECT_EQ(LookupOp(op).name, nullptr) << op;
    EXPECT_STREQ(OpName(op), "UNKNOWN") << op;
  }
}

TEST(OpcodeTable, CuseInitIsNamedButNotDecoded) {
  EXPECT_STREQ(OpName(abi::CUSE_INIT), "CUSE_INIT");
  EXPECT_EQ(LookupOp(abi::CUSE_INIT).name, nullptr);
}

TEST(OpcodeTable, NamesAreUnique) {
  std::set<std::string> names;
  for (uint32_t op = 0; op <= 60; ++op) {
    if (LookupOp(op).name != nullptr) {
      EXPECT_TRUE(names.insert(LookupOp(op).name).second) << LookupOp(op).name;
    }
  }
  EXPECT_EQ(names.size(), 51u);
}

}  // namespace
}  // namespace ptfs::proto
