// A second server takes a connection over from a first that ended without
// a word (--restartable, docs/persistent-identity.md): the kernel keeps the
// nodeids and file handles the first one gave, so the second must serve
// them: nodeids it never handed out (derived from handles: --export), the
// files and directories still open (reopened from the journal, same fh),
// and nothing a closed handle named.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "mirror/node_table.h"
#include "mirror/open_journal.h"
#include "session/restart_state.h"
#include "sys/fd.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT

class FakeKernelRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "--export needs open_by_handle_at (root)";
    state_ = sys::UniqueFd(::memfd_create("restart-test", MFD_CLOEXEC));
    ASSERT_TRUE(state_.valid());
    // One SOURCE for both servers, outliving the first.
    char tmpl[] = "/tmp/ptfs-restart-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    source_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!source_.empty()) std::filesystem::remove_all(source_, ec);
  }
  // The first server: journals into the state file, as cmd does for
  // generation 0.
  FakeKernelOptions First() {
    FakeKernelOptions o;
    o.fs.export_handles = true;
    o.source = source_;
    o.before_serving = [fd = state_.get()](session::Session&, mirror::MirrorFs& fs) {
      fs.KeepRestartJournal(fd);
    };
    return o;
  }
  // The second: no INIT; takes over with what the first negotiated.
  FakeKernelOptions Second(const std::string& source, const proto::InitOutcome& init) {
    FakeKernelOptions o;
    o.fs.export_handles = true;
    o.init = false;
    o.source = source;
    o.before_serving = [this, init](session::Session& s, mirror::MirrorFs& fs) {
      s.Adopt(init);
      auto restored = fs.RestoreFrom(state_.get());
      ASSERT_TRUE(restored.ok());
      restored_ = *restored;
    };
    return o;
  }
  sys::UniqueFd state_;
  std::string source_;
  mirror::RestoreCounts restored_;
};

TEST_F(FakeKernelRestart, SecondServerServesWhatTheKernelStillHolds) {
  std::string source;
  proto::InitOutcome init;
  uint64_t file = 0, file_fh = 0, dir = 0, dir_fh = 0, sub = 0, closed_fh = 0;
  {
    FakeKernel a(First());
    source = a.source();
    CreatedFile f = Unpack(a.Create(kRootId, "f", O_RDWR | O_CREAT));
    file = f.entry.nodeid;
    file_fh = f.open.fh;
    ASSERT_EQ(a.Write(file, file_fh, 0, "hello").error(), 0);
    KernelReply made = a.MkDir(kRootId, "d");
    ASSERT_EQ(made.error(), 0);
    dir = made.As<fuse_entry_out>().nodeid;
    KernelReply made_sub = a.MkDir(dir, "sub");
    ASSERT_EQ(made_sub.error(), 0);
    sub = made_sub.As<fuse_entry_out>().nodeid;
    KernelReply opened = a.OpenDir(dir);
    ASSERT_EQ(opened.error(), 0);
    dir_fh = opened.As<fuse_open_out>().fh;
    CreatedFile g = Unpack(a.Create(kRootId, "g", O_WRONLY | O_CREAT));
    closed_fh = g.open.fh;
    ASSERT_EQ(a.Release(g.entry.nodeid, closed_fh).error(), 0);
    init = a.session().init();
    // The journal holds the two opens still alive, not the closed one.
    auto records = mirror::OpenJournal::Read(state_.get());
    ASSERT_TRUE(records.ok());
    EXPECT_EQ(records->size(), 2u);
    // The first server ends here without releasing anything (as a killed
    // process would: the kernel still holds the fhs and nodeids).
  }

  FakeKernel b(Second(source, init));
  EXPECT_EQ(restored_.files, 1u);
  EXPECT_EQ(restored_.dirs, 1u);
  EXPECT_EQ(restored_.failed, 0u);
  // Nodeids the second server never handed out: taken over from the handle.
  KernelReply attr = b.GetAttr(file);
  ASSERT_EQ(attr.error(), 0);
  EXPECT_EQ(attr.As<fuse_attr_out>().attr.size, 5u);
  EXPECT_EQ(b.GetAttr(sub).error(), 0);
  EXPECT_GE(b.fs().adopted_nodes(), 2u);
  // The open file goes on with its fh: reads what was written, writes more.
  KernelReply read = b.Read(file, file_fh, 0, 100);
  ASSERT_EQ(read.error(), 0);
  EXPECT_EQ(std::string(read.payload.begin(), read.payload.end()), "hello");
  ASSERT_EQ(b.Write(file, file_fh, 5, " again").error(), 0);
  // So does the open directory.
  KernelReply listed = b.ReadDir(FUSE_READDIR, dir, dir_fh, 0, 4096);
  ASSERT_EQ(listed.error(), 0);
  EXPECT_NE(std::string(listed.payload.begin(), listed.payload.end()).find("sub"),
            std::string::npos);
  // By-name operations work in a directory taken over.
  EXPECT_EQ(b.Lookup(dir, "sub").error(), 0);
  // A handle released before the restart names nothing.
  EXPECT_EQ(b.Read(file, closed_fh, 0, 10).error(), EBADF);
  // The kernel closes what it held: the journal empties.
  EXPECT_EQ(b.Release(file, file_fh).error(), 0);
  EXPECT_EQ(b.Release(dir, dir_fh, FUSE_RELEASEDIR).error(), 0);
  auto records = mirror::OpenJournal::Read(state_.get());
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 0u);
  char data[32] = {};
  const int fd = ::open((source + "/f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::read(fd, data, sizeof data), 11);
  ::close(fd);
  EXPECT_STREQ(data, "hello again");
  b.ForgetAll();
  EXPECT_TRUE(b.Shutdown().ok());
}

TEST_F(FakeKernelRestart, AStaleNodeidIsNotTakenOver) {
  std::string source;
  proto::InitOutcome init;
  uint64_t gone = 0;
  {
    FakeKernel a(First());
    source = a.source();
    CreatedFile f = Unpack(a.Create(kRootId, "f", O_WRONLY | O_CREAT));
    gone = f.entry.nodeid;
    ASSERT_EQ(a.Release(gone, f.open.fh).error(), 0);
    init = a.session().init();
  }
  // Removed while no server ran: its nodeid (inode and generation) is stale.
  ASSERT_EQ(::unlink((source + "/f").c_str()), 0);
  FakeKernel b(Second(source, init));
  EXPECT_EQ(b.GetAttr(gone).error(), ESTALE);
  EXPECT_EQ(b.GetAttr(kRootId).error(), 0);
  b.ForgetAll();
  EXPECT_TRUE(b.Shutdown().ok());
}

// The journal's records and its list of files shown share one sparse file:
// each reads back apart, freed slots are reused, and a journal restored from
// the file goes on where the first left off.
TEST(OpenJournal, RecordsAndShownFilesReadBackApart) {
  sys::UniqueFd fd(::memfd_create("journal", MFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  using J = mirror::OpenJournal;
  {
    J j(fd.get());
    j.FileOpened(FileHandle{1}, NodeId{0x100000011}, O_RDWR);
    j.DirOpened(FileHandle{1}, NodeId{0x100000022});  // a directory's fh may equal a file's
    j.BackingRegistered(NodeId{0x100000011}, BackingId{7});
    j.FileOpened(FileHandle{2}, NodeId{0x100000033}, O_RDONLY);
    j.FileClosed(FileHandle{2});
    for (uint64_t id = 1; id <= 1000; ++id) j.FileShown(NodeId{(id << 32) | 5});
  }
  auto records = J::Read(fd.get());
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 3u);  // the closed file's slot is free
  int files = 0, dirs = 0, backings = 0;
  for (const J::Record& r : *records) {
    files += r.kind == J::Kind::kFile;
    dirs += r.kind == J::Kind::kDir;
    backings += r.kind == J::Kind::kBacking && r.backing == 7;
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(dirs, 1);
  EXPECT_EQ(backings, 1);
  auto shown = J::ReadShown(fd.get());
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->size(), 1000u);
  EXPECT_EQ(shown->back(), (uint64_t{1000} << 32) | 5);
  {
    // Restored: the directory dropped (it could not be reopened), a new
    // open takes a free slot, and the shown list goes on.
    std::vector<J::Record> kept, dropped;
    for (const J::Record& r : *records) (r.kind == J::Kind::kDir ? dropped : kept).push_back(r);
    J j(fd.get(), kept, dropped);
    j.SetShownCount(shown->size());
    j.FileOpened(FileHandle{3}, NodeId{0x100000044}, O_WRONLY);
    j.FileShown(NodeId{0x700000007});
  }
  records = J::Read(fd.get());
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 3u);  // file 1, file 3, the backing
  for (const J::Record& r : *records) EXPECT_NE(r.kind, J::Kind::kDir);
  shown = J::ReadShown(fd.get());
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->size(), 1001u);
}

// The nodeid table: an object keeps its nodeid, nodeids carry the shard
// asked for, the table reads back from its file (a new process, a restart)
// and a torn last record is left out.
TEST(NodeTable, KeepsNodeidsAcrossProcesses) {
  sys::UniqueFd fd(::memfd_create("nodeids", MFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  auto blob = [](unsigned char seed) {
    sys::HandleBlob h;
    h.bytes.assign(28, seed);  // struct file_handle header and 20 bytes: btrfs's size
    return h;
  };
  NodeId a, b;
  {
    auto t = mirror::NodeTable::Open(fd.get());
    ASSERT_TRUE(t.ok());
    auto ia = (*t)->IdFor(blob(1), 3, 4);
    auto ib = (*t)->IdFor(blob(2), 9, 4);
    ASSERT_TRUE(ia.ok() && ib.ok());
    a = *ia;
    b = *ib;
    EXPECT_EQ(a.value & 15, 3u);
    EXPECT_EQ(b.value & 15, 9u);
    EXPECT_NE(a, b);
    EXPECT_GT(a.value, 1u);
    EXPECT_EQ(*(*t)->IdFor(blob(1), 7, 4), a);  // seen before: same nodeid, whatever the shard
    EXPECT_EQ((*t)->HandleOf(b)->bytes, blob(2).bytes);
    EXPECT_FALSE((*t)->HandleOf(NodeId{a.value + 16}).has_value());
  }
  auto t = mirror::NodeTable::Open(fd.get());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->size(), 2u);
  EXPECT_EQ(*(*t)->IdFor(blob(2), 0, 4), b);
  const NodeId c = *(*t)->IdFor(blob(3), 0, 4);
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  // A record torn by a crash (zero nodeid) ends the table.
  struct stat st;
  ASSERT_EQ(::fstat(fd.get(), &st), 0);
  const char zeros[144] = {};
  ASSERT_EQ(::pwrite(fd.get(), zeros, sizeof zeros, st.st_size), 144);
  auto again = mirror::NodeTable::Open(fd.get());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->size(), 3u);
  EXPECT_EQ((*again)->HandleOf(c)->bytes, blob(3).bytes);
}

TEST(RestartHeader, RoundTripsTheInitOutcomeAndRefusesOtherFiles) {
  sys::UniqueFd fd(::memfd_create("restart-header", MFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(session::ReadRestartHeader(fd.get()).error().value(), EINVAL);  // empty
  session::RestartHeader h;
  h.source_dev = 0x801;
  h.source_ino = 1234;
  h.initialized = true;
  h.init.kernel_minor = 45;
  h.init.flags = FUSE_PASSTHROUGH | FUSE_EXPORT_SUPPORT;
  h.init.max_write = 1 << 20;
  h.init.out.minor = 45;
  h.init.out.max_write = 1 << 20;
  h.init.out_size = sizeof(h.init.out);
  ASSERT_FALSE(session::WriteRestartHeader(fd.get(), h));
  auto back = session::ReadRestartHeader(fd.get());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->initialized);
  EXPECT_EQ(back->source_dev, 0x801u);
  EXPECT_EQ(back->source_ino, 1234u);
  EXPECT_EQ(back->init.kernel_minor, 45u);
  EXPECT_EQ(back->init.flags, h.init.flags);
  EXPECT_EQ(back->init.max_write, 1u << 20);
  EXPECT_EQ(back->init.out.max_write, 1u << 20);
  EXPECT_EQ(back->init.kind, proto::InitOutcome::Kind::kAccepted);
  // Not a header of this format: refused.
  ASSERT_EQ(::pwrite(fd.get(), "garbage!", 8, 0), 8);
  EXPECT_EQ(session::ReadRestartHeader(fd.get()).error().value(), EINVAL);
}

}  // namespace
}  // namespace ptfs::testing
