// Handlers of the extended-attribute ops: SETXATTR, GETXATTR, LISTXATTR,
// REMOVEXATTR.
#include <algorithm>
#include <span>

#include "abi/fuse_abi.h"
#include "session/ops.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

// Where GETXATTR and LISTXATTR put their bytes: at most the caller's size.
std::span<char> XattrBuffer(const OpCall& c, const fuse_getxattr_in& in) {
  return c.bufs.out.first(std::min<size_t>(in.size, c.bufs.out.size()));
}

// Answers GETXATTR or LISTXATTR, which wrote `n` bytes into `out`. A caller
// that gave size 0 asks only how large the value is.
void SendXattrBytes(Result<size_t> n, const fuse_getxattr_in& in, std::span<char> out,
                    Reply reply) {
  if (!n.ok()) {
    reply.SendError(n.error());
  } else if (in.size == 0) {
    fuse_getxattr_out size_out{static_cast<uint32_t>(*n), 0};
    reply.SendStruct(size_out);
  } else {
    reply.SendData({out.data(), *n});
  }
}

void DoSetXattr(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_setxattr_in>();
  reply.SendStatus(c.fs.SetXattr(c.ctx, c.node, c.req.name, c.req.payload, in.flags));
}

void DoGetXattr(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_getxattr_in>();
  const std::span<char> out = XattrBuffer(c, in);
  SendXattrBytes(c.fs.GetXattr(c.ctx, c.node, c.req.name, out), in, out, std::move(reply));
}

void DoListXattr(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_getxattr_in>();
  const std::span<char> out = XattrBuffer(c, in);
  SendXattrBytes(c.fs.ListXattr(c.ctx, c.node, out), in, out, std::move(reply));
}

void DoRemoveXattr(const OpCall& c, Reply reply) {
  reply.SendStatus(c.fs.RemoveXattr(c.ctx, c.node, c.req.name));
}

}  // namespace

void RegisterXattrOps(HandlerTable& table) {
  table[FUSE_SETXATTR] = DoSetXattr;
  table[FUSE_GETXATTR] = DoGetXattr;
  table[FUSE_LISTXATTR] = DoListXattr;
  table[FUSE_REMOVEXATTR] = DoRemoveXattr;
}

}  // namespace ptfs::session
