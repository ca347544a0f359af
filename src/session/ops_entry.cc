// Handlers of the ops that name entries in a directory: they create, find,
// link, remove and rename names. Those that return an entry hand the kernel
// a lookup reference (and CREATE/TMPFILE an open handle too), which is taken
// back when the kernel refuses the reply, so lookup counts balance.
#include "abi/fuse_abi.h"
#include "session/inode_passthrough_adapter.h"
#include "session/ops.h"

namespace ptfs::session {

using namespace ptfs::abi;  // NOLINT: wire names

namespace {

// Inode passthrough: the backing the kernel attaches to an entry's inode,
// for the ops left in the entry's final mask.
BackingId InodeBackingFor(const OpCall& c, const Entry& e) {
  if (e.node.value == 0 || e.inode_passthrough_ops == 0) return BackingId{};
  return c.fs.AttachInodeBacking(e.node, e.inode_passthrough_ops);
}

enum class Negative { kAllowed, kRefused };

// `negative`: kAllowed for LOOKUP, where an Entry with node 0 means "absent,
// remember it"; from any other op such an entry is answered EIO.
void SendEntry(const OpCall& c, Result<Entry> entry, Reply reply,
               Negative negative = Negative::kRefused) {
  if (!entry.ok()) {
    reply.SendError(entry.error());
    return;
  }
  if (entry->node.value == 0 && negative != Negative::kAllowed) {
    // A negative entry answers LOOKUP only: a creating op that found
    // nothing to return failed.
    reply.SendError(Errno(EIO));
    return;
  }
  bool taken;
  if (c.inode_passthrough) {
    taken = SendEntry2(reply, *entry, InodeBackingFor(c, *entry));
  } else {
    taken = reply.SendStruct(ToEntryOut(*entry));
  }
  if (!taken && entry->node.value != 0) {
    // The kernel did not take the reference (request interrupted): give it back.
    c.fs.Forget(entry->node, 1);
  }
}

void SendCreated(const OpCall& c, Result<Created> created, Reply reply) {
  if (!created.ok()) {
    reply.SendError(created.error());
    return;
  }
  bool taken;
  if (c.inode_passthrough) {
    const fuse_open_out open = ToOpenOut(created->open);
    taken = SendEntry2(reply, created->entry, InodeBackingFor(c, created->entry), &open);
  } else {
    struct {
      fuse_entry_out entry;
      fuse_open_out open;
    } out{ToEntryOut(created->entry), ToOpenOut(created->open)};
    static_assert(sizeof(out) == sizeof(fuse_entry_out) + sizeof(fuse_open_out));
    taken = reply.SendStruct(out);
  }
  if (!taken) {
    (void)c.fs.Release(c.ctx, created->entry.node, created->open.fh, 0, 0);
    c.fs.Forget(created->entry.node, 1);
  }
}

void DoLookup(const OpCall& c, Reply reply) {
  SendEntry(c, c.fs.Lookup(c.ctx, c.node, c.req.name), std::move(reply), Negative::kAllowed);
}

void DoSymlink(const OpCall& c, Reply reply) {
  SendEntry(c, c.fs.Symlink(c.ctx, c.node, c.req.name, c.req.name2), std::move(reply));
}

void DoMkNod(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_mknod_in>();
  SendEntry(c, c.fs.MkNod(c.ctx, c.node, c.req.name, in.mode, in.rdev, in.umask), std::move(reply));
}

void DoMkDir(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_mkdir_in>();
  SendEntry(c, c.fs.MkDir(c.ctx, c.node, c.req.name, in.mode, in.umask), std::move(reply));
}

void DoLink(const OpCall& c, Reply reply) {
  const NodeId target{c.req.Arg<fuse_link_in>().oldnodeid};
  SendEntry(c, c.fs.Link(c.ctx, target, c.node, c.req.name), std::move(reply));
}

void DoCreate(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_create_in>();
  SendCreated(c,
              c.fs.Create(c.ctx, c.node, c.req.name, OpenFlagsOf(in.flags, in.open_flags), in.mode,
                          in.umask),
              std::move(reply));
}

void DoTmpFile(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_create_in>();
  SendCreated(c, c.fs.TmpFile(c.ctx, c.node, OpenFlagsOf(in.flags, 0), in.mode, in.umask),
              std::move(reply));
}

void DoUnlink(const OpCall& c, Reply reply) {
  reply.SendStatus(c.fs.Unlink(c.ctx, c.node, c.req.name));
}

void DoRmDir(const OpCall& c, Reply reply) {
  reply.SendStatus(c.fs.RmDir(c.ctx, c.node, c.req.name));
}

void DoRename(const OpCall& c, Reply reply) {
  const NodeId new_parent{c.req.Arg<fuse_rename_in>().newdir};
  reply.SendStatus(c.fs.Rename(c.ctx, c.node, c.req.name, new_parent, c.req.name2, RenameFlags{}));
}

void DoRename2(const OpCall& c, Reply reply) {
  const auto in = c.req.Arg<fuse_rename2_in>();
  reply.SendStatus(c.fs.Rename(c.ctx, c.node, c.req.name, NodeId{in.newdir}, c.req.name2,
                               RenameFlags{in.flags}));
}

}  // namespace

void RegisterEntryOps(HandlerTable& table) {
  table[FUSE_LOOKUP] = DoLookup;
  table[FUSE_SYMLINK] = DoSymlink;
  table[FUSE_MKNOD] = DoMkNod;
  table[FUSE_MKDIR] = DoMkDir;
  table[FUSE_LINK] = DoLink;
  table[FUSE_CREATE] = DoCreate;
  table[FUSE_TMPFILE] = DoTmpFile;
  table[FUSE_UNLINK] = DoUnlink;
  table[FUSE_RMDIR] = DoRmDir;
  table[FUSE_RENAME] = DoRename;
  table[FUSE_RENAME2] = DoRename2;
}

}  // namespace ptfs::session
