// src/session/ops: the handler table answers exactly the opcodes that the
// validation table (src/proto/opcode_table) lets through to dispatch, and
// the wire's flag words become the API's flag types.
#include <fcntl.h>

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "abi/fuse_abi.h"
#include "gtest/gtest.h"
#include "proto/opcode_table.h"
#include "session/ops.h"

namespace ptfs::session {
namespace {

namespace abi = ::ptfs::abi;

// Opcodes the validation table accepts that Session::HandleMessage takes
// itself before dispatch, so they have no handler.
struct TakenBeforeDispatch {
  uint32_t opcode;
  const char* why;
};
const TakenBeforeDispatch kTakenBeforeDispatch[] = {
    {abi::FUSE_INIT, "negotiated by Session::HandleInit; nothing else is dispatched before it"},
    {abi::FUSE_FORGET, "no reply: drops lookup counts (Session::DoForget)"},
    {abi::FUSE_BATCH_FORGET, "no reply: drops lookup counts (Session::DoForget)"},
    {abi::FUSE_INTERRUPT, "no reply: answers a parked SETLKW EINTR (Session::DoInterrupt)"},
    {abi::FUSE_NOTIFY_REPLY, "no reply: answers a RETRIEVE, which the server never sends"},
};

const TakenBeforeDispatch* FindTakenBeforeDispatch(uint32_t opcode) {
  const auto* it =
      std::find_if(std::begin(kTakenBeforeDispatch), std::end(kTakenBeforeDispatch),
                   [opcode](const TakenBeforeDispatch& t) { return t.opcode == opcode; });
  return it == std::end(kTakenBeforeDispatch) ? nullptr : it;
}

TEST(OpsTableTest, EveryValidatedOpcodeHasAHandlerAndNoOtherDoes) {
  static_assert(std::tuple_size_v<HandlerTable> == abi::kMaxOpcode + 1);
  size_t validated_count = 0;
  size_t handled_count = 0;
  for (uint32_t op = 0; op <= abi::kMaxOpcode; ++op) {
    const bool validated = proto::LookupOp(op).name != nullptr;
    const bool has_handler = Handlers()[op] != nullptr;
    validated_count += validated ? 1 : 0;
    handled_count += has_handler ? 1 : 0;
    if (const TakenBeforeDispatch* taken = FindTakenBeforeDispatch(op)) {
      EXPECT_TRUE(validated) << proto::OpName(op) << " (" << op << ")";
      EXPECT_FALSE(has_handler) << proto::OpName(op) << " (" << op << ") has a handler, but "
                                << taken->why;
    } else if (validated) {
      EXPECT_TRUE(has_handler) << proto::OpName(op) << " (" << op
                               << ") passes validation but has no handler";
    } else {
      EXPECT_FALSE(has_handler) << "opcode " << op
                                << " has a handler but is refused by validation (ENOSYS)";
    }
  }
  // Guards the comparison itself: two empty tables would agree everywhere.
  EXPECT_GT(handled_count, 0u);
  EXPECT_EQ(handled_count + std::size(kTakenBeforeDispatch), validated_count);
}

// HandleMessage takes the requests that get no reply (OpInfo::answered is
// false) and INIT before dispatch; the list above must be exactly those, so
// that it cannot excuse a missing handler.
TEST(OpsTableTest, TakenBeforeDispatchAreInitAndTheUnanswered) {
  for (uint32_t op = 0; op <= abi::kMaxOpcode; ++op) {
    const proto::OpInfo& info = proto::LookupOp(op);
    if (info.name == nullptr) continue;
    const bool expected = op == abi::FUSE_INIT || !info.answered;
    EXPECT_EQ(FindTakenBeforeDispatch(op) != nullptr, expected) << info.name << " (" << op << ")";
  }
}

TEST(FlagTypes, OpenFlagsCarryOpenFlagsAndTheKillRequest) {
  const OpenFlags plain = OpenFlagsOf(O_RDWR | O_APPEND, 0);
  EXPECT_EQ(plain.posix, static_cast<uint32_t>(O_RDWR | O_APPEND));
  EXPECT_FALSE(plain.kill_suidgid);
  EXPECT_EQ(plain.access_mode(), O_RDWR);
  EXPECT_TRUE(OpenFlagsOf(O_WRONLY | O_TRUNC, abi::FUSE_OPEN_KILL_SUIDGID).kill_suidgid);
  // Other FUSE_OPEN_* bits (none defined yet beyond it) do not turn it on.
  EXPECT_FALSE(OpenFlagsOf(O_RDONLY, ~abi::FUSE_OPEN_KILL_SUIDGID).kill_suidgid);
  EXPECT_TRUE(OpenFlagsOf(O_RDONLY | OpenFlags::kOpenForExec, 0).for_exec());
}

TEST(FlagTypes, WriteFlagsNameTheBitsTheyCarry) {
  EXPECT_EQ(WriteFlagsOf(0), WriteFlags{});
  EXPECT_EQ(WriteFlagsOf(abi::FUSE_WRITE_KILL_SUIDGID), (WriteFlags{true, false}));
  EXPECT_EQ(WriteFlagsOf(abi::FUSE_WRITE_CACHE), (WriteFlags{false, true}));
  // FUSE_WRITE_LOCKOWNER only says that lock_owner is valid.
  EXPECT_EQ(WriteFlagsOf(abi::FUSE_WRITE_LOCKOWNER), WriteFlags{});
}

}  // namespace
}  // namespace ptfs::session
