// The data path on a real mount, with kernel passthrough and without, over
// /dev/fuse and io_uring: contents, mmap, O_DIRECT, concurrent opens with
// different flags, and the daemon's counters proving which path served the
// I/O; the backing cache, the page cache kept across opens, served
// write-only opens, and cached listings.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class DataPath : public MountTestBase, public testing::WithParamInterface<Variant> {
 protected:
  std::vector<std::string> DaemonArgs() const override { return GetParam().args; }
};

// 64 MiB written and read back through the mount equals SOURCE; with
// passthrough not one READ or WRITE request reached the daemon.
TEST_P(DataPath, LargeFileRoundTripAndCounters) {
  const std::string data = PatternData(64 << 20, 1);
  const std::string path = mnt() + "/big";
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  for (size_t off = 0; off < data.size(); off += 1 << 20) {
    ASSERT_EQ(::write(fd, data.data() + off, 1 << 20), 1 << 20);
  }
  ASSERT_EQ(::fsync(fd), 0);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_TRUE(ReadFileOrError(src() + "/big") == data) << "SOURCE differs";
  EXPECT_TRUE(ReadFileOrError(path) == data) << "read-back through the mount differs";
  auto stats = daemon().Stats();
  // Per-opcode lines (bench/suite subtracts them): present for every opcode,
  // consistent with the summary counters.
  long by_opcode = 0;
  for (const auto& [name, value] : stats) {
    if (name.rfind("opcode_", 0) == 0) by_opcode += value;
  }
  EXPECT_EQ(by_opcode, stats["requests_total"]);
  EXPECT_EQ(stats.count("opcode_FLUSH"), 1u);
  EXPECT_EQ(stats["opcode_OPEN"] + stats["opcode_CREATE"], stats["requests_open"]);
  EXPECT_EQ(stats["opcode_READ"], stats["requests_read"]);
  EXPECT_GE(stats["opcode_INIT"], 1);
  if (GetParam().passthrough) {
    EXPECT_EQ(stats["requests_read"], 0);
    EXPECT_EQ(stats["requests_write"], 0);
    EXPECT_GE(stats["opens_passthrough"], 2);
    EXPECT_EQ(stats["opens_served"], 0);
    EXPECT_GE(stats["backing_registered"], 1);
  } else {
    EXPECT_GE(stats["requests_write"], 64);  // at most 1 MiB per WRITE
    EXPECT_GE(stats["requests_read"], 1);
    EXPECT_EQ(stats["opens_passthrough"], 0);
  }
  // The last release keeps each backing registered, idle (BackingManager).
  EXPECT_EQ(stats["backing_open_now"], stats["backing_idle_now"]);
}

TEST_P(DataPath, SharedWritableMmapReachesSource) {
  const std::string path = mnt() + "/mapped";
  const size_t size = 1 << 20;
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, size), 0);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  const std::string data = PatternData(size, 2);
  std::memcpy(p, data.data(), size);
  ASSERT_EQ(::msync(p, size, MS_SYNC), 0);
  ASSERT_EQ(::munmap(p, size), 0);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_TRUE(ReadFileOrError(src() + "/mapped") == data);
  // And the other way: a change made in SOURCE is seen by a new mapping.
  const std::string data2 = PatternData(size, 3);
  {
    int sfd = ::open((src() + "/mapped").c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(sfd, data2.data(), size, 0), static_cast<ssize_t>(size));
    ::close(sfd);
  }
  fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(std::memcmp(p, data2.data(), size), 0);
  ::munmap(p, size);
  ::close(fd);
}

TEST_P(DataPath, ODirectReadAndWrite) {
  const std::string path = mnt() + "/direct";
  const size_t size = 1 << 20;
  void* buf = nullptr;
  ASSERT_EQ(::posix_memalign(&buf, 4096, size), 0);
  const std::string data = PatternData(size, 4);
  std::memcpy(buf, data.data(), size);
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_DIRECT, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(::pwrite(fd, buf, size, 0), static_cast<ssize_t>(size)) << strerror(errno);
  EXPECT_EQ(::pwrite(fd, buf, 4096, size), 4096) << strerror(errno);
  std::memset(buf, 0, size);
  EXPECT_EQ(::pread(fd, buf, size, 0), static_cast<ssize_t>(size)) << strerror(errno);
  EXPECT_EQ(std::memcmp(buf, data.data(), size), 0);
  ::close(fd);
  ::free(buf);
  const std::string in_source = ReadFileOrError(src() + "/direct");
  ASSERT_EQ(in_source.size(), size + 4096);
  EXPECT_TRUE(in_source.compare(0, size, data) == 0);
}

TEST_P(DataPath, ConcurrentOpensWithDifferentFlags) {
  const std::string path = mnt() + "/multi";
  int rd = -1, wr = -1, app = -1, rw = -1;
  {
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "0123456789", 10), 10);
    ::close(fd);
  }
  rd = ::open(path.c_str(), O_RDONLY);
  wr = ::open(path.c_str(), O_WRONLY);
  app = ::open(path.c_str(), O_WRONLY | O_APPEND);
  rw = ::open(path.c_str(), O_RDWR | O_SYNC);
  ASSERT_TRUE(rd >= 0 && wr >= 0 && app >= 0 && rw >= 0);
  EXPECT_EQ(::pwrite(wr, "AB", 2, 0), 2);
  EXPECT_EQ(::write(app, "tail", 4), 4);  // lands at the real end of file
  EXPECT_EQ(::write(app, "++", 2), 2);
  EXPECT_EQ(::pwrite(rw, "Z", 1, 5), 1);
  char buf[64] = {};
  EXPECT_EQ(::pread(rd, buf, sizeof(buf), 0), 16);
  EXPECT_EQ(std::string(buf, 16), "AB234Z6789tail++");
  EXPECT_EQ(ReadFileOrError(src() + "/multi"), "AB234Z6789tail++");
  // O_TRUNC while others have it open.
  int tr = ::open(path.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(tr, 0);
  struct stat st;
  ASSERT_EQ(::fstat(rd, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(::write(app, "x", 1), 1);
  EXPECT_EQ(ReadFileOrError(src() + "/multi"), "x");
  for (int fd : {rd, wr, app, rw, tr}) ::close(fd);
  if (GetParam().passthrough) {
    auto stats = daemon().Stats();
    EXPECT_EQ(stats["requests_read"], 0);
    EXPECT_EQ(stats["requests_write"], 0);
    EXPECT_EQ(stats["opens_served"], 0);
  }
}

// With FUSE_HANDLE_KILLPRIV_V2 the kernel stops asking for
// security.capability before every write (SB_NOSEC): many small writes cost
// at most one GETXATTR, not one each.
TEST_P(DataPath, SmallWritesDoNotAskForCapabilitiesEachTime) {
  const std::string path = mnt() + "/small";
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  const long before = daemon().Stats()["requests_getxattr"];
  char block[4096] = {};
  for (int i = 0; i < 100; ++i) ASSERT_EQ(::pwrite(fd, block, sizeof(block), i * 4096L), 4096);
  ::close(fd);
  EXPECT_LE(daemon().Stats()["requests_getxattr"] - before, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Mount, DataPath,
    testing::ValuesIn(Variants({"cached_dev", "served_dev", "uring_cached", "uring_served_cached"})),
    VariantName);


// Reopening a file reuses its idle backing: one registration for many
// open+close cycles in every access mode, the data stays right, the kept
// (read-only) registration never makes a just-written program ETXTBSY, and
// the backing is closed once the kernel forgets the unlinked inode.
class BackingCache : public MountTestBase {};

TEST_F(BackingCache, ReopensReuseTheIdleBacking) {
  ASSERT_EQ(daemon().Stats()["backing_failed"], 0);
  const std::string path = mnt() + "/tool.sh";
  {
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0755);
    ASSERT_GE(fd, 0);
    const std::string script = "#!/bin/sh\nexit 7\n";
    ASSERT_EQ(::write(fd, script.data(), script.size()), static_cast<ssize_t>(script.size()));
    ASSERT_EQ(::close(fd), 0);
  }
  auto before = daemon().Stats();
  const int modes[] = {O_RDONLY, O_WRONLY | O_APPEND, O_RDWR};
  for (int i = 0; i < 30; ++i) {
    int fd = ::open(path.c_str(), modes[i % 3]);
    ASSERT_GE(fd, 0) << strerror(errno);
    if (i % 3 == 1) {
      ASSERT_EQ(::write(fd, "#\n", 2), 2);
    }
    ASSERT_EQ(::close(fd), 0);
  }
  auto after = daemon().Stats();
  EXPECT_EQ(after["backing_registered"] - before["backing_registered"], 0);
  EXPECT_EQ(after["backing_reused"] - before["backing_reused"], 30);
  EXPECT_EQ(after["opens_passthrough"] - before["opens_passthrough"], 30);
  EXPECT_EQ(after["requests_write"], 0);
  std::string expected = "#!/bin/sh\nexit 7\n";
  for (int i = 0; i < 10; ++i) expected += "#\n";  // the O_APPEND opens' writes
  EXPECT_EQ(ReadFileOrError(src() + "/tool.sh"), expected);
  // Executable right after being written through the mount.
  EXPECT_EQ(::system((path + " 2>/dev/null").c_str()) >> 8, 7) << "exec of a just-written file";
  ASSERT_EQ(::unlink(path.c_str()), 0);
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    closed = daemon().Stats()["backing_open_now"] == 0;
    if (!closed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(closed) << "the idle backing of an unlinked, forgotten inode stays registered";
}

// The served path keeps the kernel's page cache across read-only opens of an
// unchanged file, and drops it as soon as SOURCE shows a change.
class KeepCache : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"--passthrough=off"}; }
};

TEST_F(KeepCache, KeptWhileUnchangedDroppedOnOutsideChange) {
  const std::string in_source = Src("f"), via = Mnt("f");
  const std::string v1 = PatternData(1 << 20, 7), v2 = PatternData(1 << 20, 8);
  {
    int fd = ::open(in_source.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_EQ(::write(fd, v1.data(), v1.size()), static_cast<ssize_t>(v1.size()));
    ::close(fd);
  }
  // The source watch reports that outside write a few ms later and drops
  // whatever the kernel cached of the file by then: let it pass first.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(ReadFileOrError(via) == v1);
  const long after_first = daemon().Stats()["requests_read"];
  EXPECT_GT(after_first, 0);
  EXPECT_TRUE(ReadFileOrError(via) == v1);
  EXPECT_EQ(daemon().Stats()["requests_read"], after_first) << "second read should hit the cache";
  // Same size, new content, written straight into SOURCE.
  {
    int fd = ::open(in_source.c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(fd, v2.data(), v2.size(), 0), static_cast<ssize_t>(v2.size()));
    ::close(fd);
  }
  EXPECT_TRUE(ReadFileOrError(via) == v2) << "an outside change must be seen at the next open";
  EXPECT_GT(daemon().Stats()["requests_read"], after_first);
  // Writes through the mount: the next reader sees them.
  {
    int fd = ::open(via.c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(fd, v1.data(), 4096, 0), 4096);
    ::close(fd);
  }
  std::string expect = v2;
  expect.replace(0, 4096, v1.substr(0, 4096));
  EXPECT_TRUE(ReadFileOrError(via) == expect);
  EXPECT_TRUE(ReadFileOrError(in_source) == expect);
}

// Served write-only opens bypass the FUSE page cache (FOPEN_DIRECT_IO): the
// written data does not land in the mount's page cache, a reader that already
// holds the file open (and has its pages cached) sees the new data at once,
// and O_APPEND appends.
class ServedWriteOnly : public KeepCache {};

TEST_F(ServedWriteOnly, BypassesThePageCacheAndStaysCoherent) {
  const std::string via = mnt() + "/f";
  const std::string a = PatternData(1 << 20, 3), b = PatternData(1 << 20, 4);
  // The reader opens first (an open without FOPEN_KEEP_CACHE drops the page
  // cache, so residency must be looked at through a mapping made before the
  // write), then a write-only open writes 1 MiB.
  {
    int fd = ::open(via.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(a.size())), 0);
    ::close(fd);
  }
  const int r = ::open(via.c_str(), O_RDONLY);
  ASSERT_GE(r, 0);
  void* map = ::mmap(nullptr, a.size(), PROT_READ, MAP_SHARED, r, 0);
  ASSERT_NE(map, MAP_FAILED);
  {
    int fd = ::open(via.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, a.data(), a.size()), static_cast<ssize_t>(a.size()));
    ::close(fd);
  }
  std::vector<unsigned char> resident(a.size() / 4096);
  ASSERT_EQ(::mincore(map, a.size(), resident.data()), 0);
  size_t cached = 0;
  for (unsigned char c : resident) cached += c & 1;
  EXPECT_EQ(cached, 0u) << "a write-only open must not fill the FUSE page cache";
  ::munmap(map, a.size());
  // The reader caches the file, a writer overwrites part of it: the reader
  // sees the new bytes without reopening.
  std::string got(4096, '\0');
  ASSERT_EQ(::pread(r, got.data(), got.size(), 0), 4096);
  EXPECT_TRUE(got == a.substr(0, 4096));
  {
    int w = ::open(via.c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(w, b.data(), 4096, 0), 4096);
    ASSERT_EQ(::pread(r, got.data(), got.size(), 0), 4096);
    EXPECT_TRUE(got == b.substr(0, 4096)) << "reader sees the write while the writer is open";
    ::close(w);
  }
  {
    int w = ::open(via.c_str(), O_WRONLY | O_APPEND);
    ASSERT_EQ(::write(w, "tail", 4), 4);
    ::close(w);
  }
  struct stat sb;
  ASSERT_EQ(::fstat(r, &sb), 0);
  EXPECT_EQ(sb.st_size, static_cast<off_t>(a.size() + 4));
  ASSERT_EQ(::pread(r, got.data(), 4, static_cast<off_t>(a.size())), 4);
  EXPECT_EQ(got.substr(0, 4), "tail");
  ::close(r);
  std::string expect = a;
  expect.replace(0, 4096, b.substr(0, 4096));
  expect += "tail";
  EXPECT_TRUE(ReadFileOrError(src() + "/f") == expect);
}

long ListingRequests(Daemon& d) {
  auto s = d.Stats();
  return s["opcode_READDIR"] + s["opcode_READDIRPLUS"];
}

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Directory listings are cached in the kernel (FOPEN_CACHE_DIR + KEEP_CACHE):
// listing an unchanged directory again costs no READDIR; a change through
// the mount shows at once; a change made in SOURCE within the attribute
// timeout; --nocache never caches.
class DirCache : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--attr-timeout=0.3", "--entry-timeout=0.3"};
  }
};

TEST_F(DirCache, CachedListingsStayCoherent) {
  const std::string d = mnt() + "/d";
  ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  for (int i = 0; i < 50; ++i) {
    ::close(::open((src() + "/d/f" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0644));
  }
  // The files appeared behind the kernel's back: once the directory's
  // attributes expire, the next listing reads them and fills the cache.
  ::usleep(400 * 1000);
  const auto first = ListDir(d);
  EXPECT_EQ(first, ListDir(src() + "/d"));
  const long after_first = ListingRequests(daemon());
  EXPECT_GT(after_first, 0);
  EXPECT_EQ(ListDir(d), first);
  EXPECT_EQ(ListingRequests(daemon()), after_first) << "an unchanged listing comes from the cache";

  ::close(::open((d + "/through-mount").c_str(), O_CREAT | O_WRONLY, 0644));
  EXPECT_TRUE(Has(ListDir(d), "through-mount")) << "a change through the mount shows at once";
  ASSERT_EQ(::unlink((d + "/f7").c_str()), 0);
  EXPECT_FALSE(Has(ListDir(d), "f7"));

  ::close(::open((src() + "/d/outside").c_str(), O_CREAT | O_WRONLY, 0644));
  ::usleep(400 * 1000);  // > attr timeout
  const auto later = ListDir(d);
  EXPECT_TRUE(Has(later, "outside")) << "a change in SOURCE shows once the timeout passed";
  EXPECT_EQ(later, ListDir(src() + "/d"));
}

class DirCacheOff : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override { return {"--nocache"}; }
};

TEST_F(DirCacheOff, NocacheNeverCaches) {
  ASSERT_EQ(::mkdir((src() + "/d").c_str(), 0755), 0);
  (void)ListDir(mnt() + "/d");
  const long after_first = ListingRequests(daemon());
  (void)ListDir(mnt() + "/d");
  EXPECT_GT(ListingRequests(daemon()), after_first);
  ::close(::open((src() + "/d/x").c_str(), O_CREAT | O_WRONLY, 0644));
  EXPECT_TRUE(Has(ListDir(mnt() + "/d"), "x")) << "--nocache sees SOURCE at once";
}

}  // namespace
}  // namespace ptfs::mounttest
