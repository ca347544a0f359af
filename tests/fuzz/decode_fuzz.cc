// libFuzzer target: arbitrary bytes as one request message. The decoder must
// accept or reject them without undefined behaviour, and whatever it accepts
// must be internally consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/init.h"
#include "proto/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const char> msg(reinterpret_cast<const char*>(data), size);
  for (bool ext : {false, true}) {
    ptfs::proto::Request req;
    ptfs::proto::DecodeFailure failure;
    ptfs::proto::DecodeOptions opts{ext};
    if (!ptfs::proto::DecodeRequest(msg, opts, &req, &failure)) continue;
    // Every view lies inside the message.
    auto inside = [&](const char* p, size_t n) {
      return n == 0 || (p >= msg.data() && p + n <= msg.data() + msg.size());
    };
    if (!inside(req.arg.data(), req.arg.size()) || !inside(req.name.data(), req.name.size()) ||
        !inside(req.name2.data(), req.name2.size()) ||
        !inside(req.payload.data(), req.payload.size()) || req.header.len != size ||
        req.arg.size() < req.op->fixed_size) {
      abort();
    }
    if (req.header.opcode == ptfs::abi::FUSE_INIT) {
      ptfs::proto::InitConfig config;
      config.wanted_flags = ~0ULL;
      (void)ptfs::proto::NegotiateInit(req.arg, config);
    }
  }
  return 0;
}
