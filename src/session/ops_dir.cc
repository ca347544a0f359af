// Handlers of the ops on open directories: OPENDIR, READDIR, READDIRPLUS,
// FSYNCDIR, RELEASEDIR.
#include <algorithm>
#include <span>
#include <string_view>
#include <vector>

#include "abi/fuse_abi.h"
#include "proto/encode.h"
#include "session/ops.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

// Adapts the proto DirentPacker to the public DirentSink, and remembers which
// nodes were handed out so they can be given back if the reply is lost.
class PackerSink final : public DirentSink {
 public:
  PackerSink(std::span<char> buf, bool plus) : packer_(buf, plus) {}
  bool plus() const override { return packer_.plus(); }
  bool Fits(std::string_view name) const override { return packer_.Fits(name.size()); }
  void Add(std::string_view name, uint64_t ino, uint32_t dtype, uint64_t next_off) override {
    packer_.Add(name, ino, dtype, next_off);
  }
  void AddPlus(std::string_view name, const Entry& entry, uint64_t next_off) override {
    packer_.AddPlus(name, ToEntryOut(entry), next_off);
    if (entry.node.value != 0) referenced_.push_back(entry.node);
  }
  size_t used() const { return packer_.used(); }
  const std::vector<NodeId>& referenced() const { return referenced_; }

 private:
  proto::DirentPacker packer_;
  std::vector<NodeId> referenced_;
};

// READDIR and READDIRPLUS (`plus`: entries with attributes, each handing the
// kernel a lookup reference).
void SendListing(const OpCall& c, Reply reply, bool plus) {
  const auto in = c.req.Arg<fuse_read_in>();
  PackerSink sink(c.bufs.out.first(std::min<size_t>(in.size, c.bufs.out.size())), plus);
  Errno e = c.fs.ReadDir(c.ctx, c.node, FileHandle{in.fh}, in.offset, sink);
  // An error after some entries were packed still returns those entries; the
  // caller sees the error on its next call.
  if (e && sink.used() == 0) {
    reply.SendError(e);
    return;
  }
  if (!reply.SendData({c.bufs.out.data(), sink.used()})) {
    for (NodeId n : sink.referenced()) c.fs.Forget(n, 1);
  }
}

void DoOpenDir(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_open_in>();
  if (auto lost = SendOpened(c.fs.OpenDir(c.ctx, c.node, OpenFlagsOf(in.flags, 0)), std::move(reply))) {
    (void)c.fs.ReleaseDir(c.ctx, c.node, *lost);
  }
}

void DoReadDir(const OpCall& c, Reply reply) { SendListing(c, std::move(reply), /*plus=*/false); }

void DoReadDirPlus(const OpCall& c, Reply reply) {
  SendListing(c, std::move(reply), /*plus=*/true);
}

void DoFsyncDir(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_fsync_in>();
  reply.SendStatus(c.fs.FsyncDir(c.ctx, c.node, FileHandle{in.fh}, SyncKindOf(in)));
}

void DoReleaseDir(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_release_in>();
  (void)c.fs.ReleaseDir(c.ctx, c.node, FileHandle{in.fh});
  reply.SendEmpty();  // as RELEASE: cannot fail from the caller's point of view
}

}  // namespace

void RegisterDirOps(HandlerTable& table) {
  table[FUSE_OPENDIR] = DoOpenDir;
  table[FUSE_READDIR] = DoReadDir;
  table[FUSE_READDIRPLUS] = DoReadDirPlus;
  table[FUSE_FSYNCDIR] = DoFsyncDir;
  table[FUSE_RELEASEDIR] = DoReleaseDir;
}

}  // namespace ptfs::session
