// Parity traces for file data and directories: read/write, large writes,
// fsync, readdir (large directories, telldir/seekdir, concurrent removal),
// fsync on directories, fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range,
// syncfs, shared mmap, ioctl and poll. Locks: parity_locks_test.cc.
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class ParityIoTest : public ParityTest {};

std::string PRead(int fd, size_t n, off_t off) {
  std::string buf(n, '\0');
  ssize_t r = pread(fd, buf.data(), n, off);
  if (r < 0) return "<" + ErrnoName(errno) + ">";
  buf.resize(static_cast<size_t>(r));
  return buf;
}


bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}


TEST_P(ParityIoTest, ReadWritePreadPwrite) {
  RunParity([](Trace& t) {
    int fd = TFD(t, open(t.P("f"), O_CREAT | O_RDWR, 0644));
    TCALL(t, write(fd, "hello world", 11));
    TCALL(t, lseek(fd, 0, SEEK_CUR));
    TCALL(t, lseek(fd, 0, SEEK_SET));
    char buf[64] = {};
    TCALL(t, read(fd, buf, 5));
    t.Note("read 5", std::string(buf, 5));
    TCALL(t, lseek(fd, 0, SEEK_CUR));
    t.Data("pread 5 at 6", PRead(fd, 5, 6));
    TCALL(t, pwrite(fd, "WORLD", 5, 6));
    TCALL(t, lseek(fd, 0, SEEK_CUR));  // pwrite leaves the offset alone
    t.Data("pread all", PRead(fd, 64, 0));
    TCALL(t, lseek(fd, 0, SEEK_END));
    TCALL(t, read(fd, buf, sizeof buf));  // EOF
    t.Data("pread past EOF", PRead(fd, 10, 100));
    // A write far beyond EOF leaves a hole that reads as zeros.
    TCALL(t, pwrite(fd, "x", 1, 1 << 20));
    t.FStat("after pwrite at 1 MiB", fd, !t.writeback());
    t.Note("hole reads zeros", AllZero(PRead(fd, 4096, 8192)));
    // Vectored I/O.
    struct iovec iov[3] = {
        {const_cast<char*>("ab"), 2}, {const_cast<char*>("cde"), 3}, {const_cast<char*>("f"), 1}};
    TCALL(t, pwritev(fd, iov, 3, 100));
    char a[2], b[4];
    struct iovec riov[2] = {{a, sizeof a}, {b, sizeof b}};
    TCALL(t, preadv(fd, riov, 2, 100));
    t.Note("preadv", std::string(a, 2) + "|" + std::string(b, 4));
    TCALL(t, fsync(fd));
    TCALL(t, fdatasync(fd));
    TCALL(t, close(fd));
    t.Stat("f", t.P("f"));
    t.Content("f", t.P("f"));
    t.Content("backing f", t.B("f"));
    // Access modes and file types.
    fd = TFD(t, open(t.P("f"), O_RDONLY));
    TCALL(t, write(fd, "x", 1));
    TCALL(t, fsync(fd));  // allowed on a read-only fd
    TCALL(t, close(fd));
    TCALL(t, mkdir(t.P("d"), 0755));
    fd = TFD(t, open(t.P("d"), O_RDONLY | O_DIRECTORY));
    TCALL(t, read(fd, buf, sizeof buf));
    TCALL(t, close(fd));
    // Two fds of one file see each other's writes.
    int w = TFD(t, open(t.P("g"), O_CREAT | O_WRONLY, 0644));
    int r = TFD(t, open(t.P("g"), O_RDONLY));
    TCALL(t, write(w, "first", 5));
    t.Data("other fd sees write", PRead(r, 16, 0));
    TCALL(t, pwrite(w, "F", 1, 0));
    t.Data("other fd sees overwrite", PRead(r, 16, 0));
    TCALL(t, close(w));
    TCALL(t, close(r));
  });
}

TEST_P(ParityIoTest, LargeWritesAndReads) {
  RunParity([](Trace& t) {
    const std::string data = PatternData((6 << 20) + 123, 42);
    int fd = TFD(t, open(t.P("big"), O_CREAT | O_WRONLY | O_TRUNC, 0644));
    TCALL(t, write(fd, data.data(), data.size()));  // one 6 MiB write
    TCALL(t, fsync(fd));
    TCALL(t, close(fd));
    t.Stat("big", t.P("big"));
    t.Content("big", t.P("big"));
    t.Content("backing big", t.B("big"));
    t.Note("contents equal the data written", ReadFileOrError(t.B("big")) == data);
    // Read back in odd-sized chunks at odd offsets.
    fd = TFD(t, open(t.P("big"), O_RDONLY));
    std::string back;
    std::string chunk(100003, '\0');
    for (off_t off = 0;;) {
      ssize_t n = pread(fd, chunk.data(), chunk.size(), off);
      if (n <= 0) break;
      back.append(chunk.data(), static_cast<size_t>(n));
      off += n;
    }
    t.Note("chunked read equals", back == data);
    TCALL(t, close(fd));
    // Overwrite a range in the middle with many small writes.
    fd = TFD(t, open(t.P("big"), O_WRONLY));
    std::string patched = data;
    bool ok = true;
    for (int i = 0; i < 256; ++i) {
      const off_t off = 1000000 + i * 4099;
      const std::string piece = PatternData(777, 1000 + i);
      ok &= pwrite(fd, piece.data(), piece.size(), off) == 777;
      patched.replace(static_cast<size_t>(off), 777, piece);
    }
    t.Note("256 small pwrites", ok);
    TCALL(t, fdatasync(fd));
    TCALL(t, close(fd));
    t.Note("patched contents equal", ReadFileOrError(t.P("big")) == patched);
    t.Note("patched backing equal", ReadFileOrError(t.B("big")) == patched);
    // O_DIRECT with aligned buffers.
    void* mem = nullptr;
    ASSERT_EQ(posix_memalign(&mem, 4096, 8192), 0);
    memcpy(mem, data.data(), 8192);
    fd = TFD(t, open(t.P("direct"), O_CREAT | O_RDWR | O_DIRECT, 0644));
    TCALL(t, pwrite(fd, mem, 8192, 0));
    memset(mem, 0, 8192);
    TCALL(t, pread(fd, mem, 4096, 4096));
    t.Note("O_DIRECT read back", memcmp(mem, data.data() + 4096, 4096) == 0);
    TCALL(t, close(fd));
    free(mem);
    t.Content("direct", t.P("direct"));
  });
}

TEST_P(ParityIoTest, ReaddirLargeDirectoryTelldirSeekdir) {
  RunParity([](Trace& t) {
    TCALL(t, mkdir(t.P("big"), 0755));
    constexpr int kEntries = 2000;
    std::vector<std::string> expected = {".", ".."};
    int failures = 0;
    for (int i = 0; i < kEntries; ++i) {
      char name[32];
      snprintf(name, sizeof name, "entry%04d", i);
      failures += mknod(t.P(std::string("big/") + name), S_IFREG | 0644, 0) != 0;
      expected.push_back(name);
    }
    t.Note("create failures", static_cast<long long>(failures));
    TCALL(t, mkdir(t.P("big/zdir"), 0755));
    TCALL(t, symlink("entry0000", t.P("big/zlink")));
    expected.push_back("zdir");
    expected.push_back("zlink");
    std::sort(expected.begin(), expected.end());

    // glibc readdir: every entry once.
    DIR* d = opendir(t.P("big"));
    ASSERT_NE(d, nullptr);
    std::vector<std::string> order;
    while (struct dirent* e = readdir(d)) order.push_back(e->d_name);
    closedir(d);
    std::vector<std::string> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    t.Note("readdir count", static_cast<long long>(order.size()));
    t.Note("readdir no duplicates",
           std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    t.Note("readdir complete", sorted == expected);

    // Raw getdents64 with a small buffer: many calls, each resuming at the
    // offset of the last entry returned.
    int fd = TFD(t, open(t.P("big"), O_RDONLY | O_DIRECTORY));
    std::vector<std::string> raw;
    alignas(8) char buf[600];
    int calls = 0;
    for (;;) {
      long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0) t.Note("getdents64 error", ErrnoName(errno));
        break;
      }
      ++calls;
      for (long pos = 0; pos < n;) {
        auto* e = reinterpret_cast<struct dirent64*>(buf + pos);
        raw.push_back(e->d_name);
        pos += e->d_reclen;
      }
    }
    TCALL(t, close(fd));
    t.Note("getdents64 needed many calls", calls > 50);
    std::sort(raw.begin(), raw.end());
    t.Note("getdents64 complete, no duplicates", raw == expected);

    // telldir/seekdir within one stream and across opens.
    d = opendir(t.P("big"));
    ASSERT_NE(d, nullptr);
    std::vector<std::string> seq;
    long pos = -1, end_pos = -1;
    while (struct dirent* e = readdir(d)) {
      if (seq.size() == 300) pos = telldir(d);  // the position of entry 300
      seq.push_back(e->d_name);
    }
    end_pos = telldir(d);
    t.Note("telldir succeeded", pos >= 0 && end_pos >= 0);
    seekdir(d, pos);
    std::vector<std::string> again;
    for (int i = 0; i < 10; ++i) {
      struct dirent* e = readdir(d);
      again.push_back(e ? e->d_name : "<end>");
    }
    t.Note("seekdir resumes at the saved entry",
           std::equal(again.begin(), again.end(), seq.begin() + 301));
    seekdir(d, end_pos);
    t.Note("seekdir to end: no more entries", readdir(d) == nullptr);
    rewinddir(d);
    struct dirent* first = readdir(d);
    t.Note("rewinddir restarts", first != nullptr && seq[0] == first->d_name);
    closedir(d);
    d = opendir(t.P("big"));
    ASSERT_NE(d, nullptr);
    seekdir(d, pos);
    struct dirent* e = readdir(d);
    t.Note("seekdir in a new stream", e != nullptr && seq[301] == e->d_name);
    closedir(d);

    // Removing entries while listing: each entry that is not removed is
    // returned exactly once.
    d = opendir(t.P("big"));
    ASSERT_NE(d, nullptr);
    std::map<std::string, int> seen;
    for (int i = 0; i < 100; ++i) {
      if (struct dirent* x = readdir(d)) ++seen[x->d_name];
    }
    int unlink_failures = 0;
    for (int i = 1; i < kEntries; i += 2) {
      char name[40];
      snprintf(name, sizeof name, "big/entry%04d", i);
      unlink_failures += unlink(t.P(name)) != 0;
    }
    while (struct dirent* x = readdir(d)) ++seen[x->d_name];
    closedir(d);
    bool survivors_once = true, no_duplicates = true;
    for (int i = 0; i < kEntries; i += 2) {
      char name[32];
      snprintf(name, sizeof name, "entry%04d", i);
      survivors_once &= seen[name] == 1;
    }
    for (auto& [name, count] : seen) no_duplicates &= count == 1;
    t.Note("unlink failures", static_cast<long long>(unlink_failures));
    t.Note("survivors listed exactly once", survivors_once);
    t.Note("no entry listed twice", no_duplicates);
    t.Note("listing after removal", static_cast<long long>(ListDir(t.P("big")).size()));

    // d_ino and d_type agree with lstat.
    TCALL(t, mkdir(t.P("small"), 0755));
    ASSERT_TRUE(WriteFile(t.P("small/f"), "x"));
    TCALL(t, mkdir(t.P("small/d"), 0755));
    TCALL(t, symlink("f", t.P("small/l")));
    TCALL(t, mknod(t.P("small/p"), S_IFIFO | 0644, 0));
    t.Listing("small", t.P("small"));
    d = opendir(t.P("small"));
    ASSERT_NE(d, nullptr);
    bool ino_match = true;
    while (struct dirent* x = readdir(d)) {
      struct stat st;
      const std::string p = std::string(t.P("small")) + "/" + x->d_name;
      ino_match &= lstat(p.c_str(), &st) == 0 && st.st_ino == x->d_ino;
    }
    closedir(d);
    t.Note("d_ino == st_ino", ino_match);
    for (const char* rel : {"small/f", "missing", "small/d"}) {
      DIR* x = opendir(t.P(rel));
      const int e = errno;
      t.Note(std::string("opendir ") + rel, x == nullptr ? "<" + ErrnoName(e) + ">" : "ok");
      if (x != nullptr) closedir(x);
    }

    // fsync and fdatasync on a directory.
    fd = TFD(t, open(t.P("small"), O_RDONLY | O_DIRECTORY));
    TCALL(t, fsync(fd));
    TCALL(t, fdatasync(fd));
    TCALL(t, close(fd));
  });
}

TEST_P(ParityIoTest, Fallocate) {
  RunParity([](Trace& t) {
    int fd = TFD(t, open(t.P("f"), O_CREAT | O_RDWR, 0644));
    TCALL(t, fallocate(fd, 0, 0, 1 << 20));
    t.FStat("after fallocate 1 MiB", fd);
    TCALL(t, fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20));
    t.FStat("after KEEP_SIZE beyond EOF", fd);
    const std::string data = PatternData(64 << 10, 3);
    TCALL(t, pwrite(fd, data.data(), data.size(), 0));
    TCALL(t, fsync(fd));
    TCALL(t, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192));
    t.Note("punched range reads zeros", AllZero(PRead(fd, 8192, 4096)));
    t.Data("around the hole", PRead(fd, 4096, 0) + PRead(fd, 4096, 12288));
    t.FStat("after PUNCH_HOLE", fd);
    TCALL(t, fallocate(fd, FALLOC_FL_ZERO_RANGE, 16384, 4096));
    t.Note("zeroed range reads zeros", AllZero(PRead(fd, 4096, 16384)));
    t.FStat("after ZERO_RANGE", fd);
    TCALL(t, fallocate(fd, FALLOC_FL_ZERO_RANGE, 3 << 20, 4096));  // grows the file
    t.FStat("after ZERO_RANGE beyond EOF", fd);
    TCALL(t, fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 4 << 20, 4096));
    t.FStat("after ZERO_RANGE|KEEP_SIZE beyond EOF", fd);
    TCALL(t, fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));  // needs KEEP_SIZE
    TCALL(t, fallocate(fd, 0, -1, 10));
    TCALL(t, fallocate(fd, 0, 0, 0));
    TCALL(t, fsync(fd));
    t.Content("f", t.P("f"));
    t.Content("backing f", t.B("f"));
    // FALLOC_FL_COLLAPSE_RANGE / INSERT_RANGE: FUSE's FALLOCATE supports only
    // KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE; the kernel answers EOPNOTSUPP for
    // the others on any FUSE mount, without asking the server. A documented
    // difference from ext4, asserted per side rather than compared.
    errno = 0;
    const int collapse = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096);
    if (t.on_mount()) {
      EXPECT_EQ(collapse, -1);
      EXPECT_EQ(errno, EOPNOTSUPP) << ErrnoName(errno);
    }
    TCALL(t, close(fd));
    fd = TFD(t, open(t.P("f"), O_RDONLY));
    TCALL(t, fallocate(fd, 0, 0, 4096));
    TCALL(t, close(fd));
  });
}

TEST_P(ParityIoTest, LseekDataHole) {
  RunParity([](Trace& t) {
    int fd = TFD(t, open(t.P("sparse"), O_CREAT | O_RDWR, 0644));
    const std::string block(4096, 'd');
    TCALL(t, pwrite(fd, block.data(), block.size(), 0));
    TCALL(t, pwrite(fd, block.data(), block.size(), 1 << 20));
    TCALL(t, ftruncate(fd, 3 << 20));
    TCALL(t, fsync(fd));
    TCALL(t, lseek(fd, 0, SEEK_DATA));
    TCALL(t, lseek(fd, 0, SEEK_HOLE));
    TCALL(t, lseek(fd, 4096, SEEK_DATA));
    TCALL(t, lseek(fd, 1 << 20, SEEK_HOLE));
    TCALL(t, lseek(fd, (1 << 20) + 4096, SEEK_DATA));  // only a hole until EOF
    TCALL(t, lseek(fd, (1 << 20) + 4096, SEEK_HOLE));
    TCALL(t, lseek(fd, 3 << 20, SEEK_DATA));
    TCALL(t, lseek(fd, 3 << 20, SEEK_HOLE));
    TCALL(t, lseek(fd, -1, SEEK_SET));
    TCALL(t, lseek(fd, 0, SEEK_END));
    TCALL(t, lseek(fd, 10, SEEK_SET));
    TCALL(t, lseek(fd, 5, SEEK_CUR));
    TCALL(t, lseek(fd, 0, 42));
    TCALL(t, close(fd));
    fd = TFD(t, open(t.P("sparse"), O_RDONLY));
    TCALL(t, lseek(fd, 8192, SEEK_DATA));  // on a fresh open, too
    TCALL(t, close(fd));
  });
}

TEST_P(ParityIoTest, CopyFileRange) {
  RunParity([](Trace& t) {
    const std::string data = PatternData((5 << 20) + 17, 9);
    ASSERT_TRUE(WriteFile(t.P("a"), data));
    int in = TFD(t, open(t.P("a"), O_RDONLY));
    int out = TFD(t, open(t.P("b"), O_CREAT | O_WRONLY | O_TRUNC, 0644));
    // One large range, continued until done.
    long long total = 0;
    int calls = 0;
    for (;;) {
      ssize_t n = copy_file_range(in, nullptr, out, nullptr, data.size(), 0);
      if (n <= 0) {
        if (n < 0) t.Note("copy_file_range error", ErrnoName(errno));
        break;
      }
      total += n;
      ++calls;
    }
    t.Note("copied", total);
    TCALL(t, close(out));
    t.Note("copy equals", ReadFileOrError(t.P("b")) == data);
    t.Note("backing copy equals", ReadFileOrError(t.B("b")) == data);
    // Explicit offsets leave the file offsets alone.
    out = TFD(t, open(t.P("c"), O_CREAT | O_RDWR, 0644));
    loff_t off_in = 1000, off_out = 3;
    TCALL(t, copy_file_range(in, &off_in, out, &off_out, 100000, 0));
    t.Note("offsets after", std::to_string(off_in) + " " + std::to_string(off_out));
    TCALL(t, lseek(out, 0, SEEK_CUR));
    t.Data("c", ReadFileOrError(t.P("c")));
    t.Note("c range equals", ReadFileOrError(t.P("c")).substr(3) == data.substr(1000, 100000));
    off_in = static_cast<loff_t>(data.size()) + 10;
    TCALL(t, copy_file_range(in, &off_in, out, nullptr, 100, 0));  // past EOF: 0
    off_in = 0;
    loff_t same = 10;
    TCALL(t, copy_file_range(out, &off_in, out, &same, 50, 0));   // overlapping
    TCALL(t, copy_file_range(in, nullptr, out, nullptr, 10, 1));  // bad flags
    TCALL(t,
          copy_file_range(out, nullptr, in, nullptr, 10, 0));  // in not readable? out not writable
    TCALL(t, close(out));
    TCALL(t, close(in));
    TCALL(t, mkdir(t.P("d"), 0755));
    int dfd = TFD(t, open(t.P("d"), O_RDONLY | O_DIRECTORY));
    out = TFD(t, open(t.P("e"), O_CREAT | O_WRONLY, 0644));
    TCALL(t, copy_file_range(dfd, nullptr, out, nullptr, 10, 0));
    TCALL(t, close(out));
    TCALL(t, close(dfd));
  });
}

TEST_P(ParityIoTest, SyncfsSyncFsync) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "data"));
    int fd = TFD(t, open(t.P("f"), O_RDONLY));
    TCALL(t, syncfs(fd));
    TCALL(t, fsync(fd));
    TCALL(t, fdatasync(fd));
    TCALL(t, sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
    TCALL(t, close(fd));
    int dfd = TFD(t, open(t.P(), O_RDONLY | O_DIRECTORY));
    TCALL(t, syncfs(dfd));
    TCALL(t, close(dfd));
    sync();
    t.Content("f", t.B("f"));
  });
}

TEST_P(ParityIoTest, SharedWritableMmap) {
  RunParity([](Trace& t) {
    const size_t len = 3 * 4096 + 100;
    int fd = TFD(t, open(t.P("m"), O_CREAT | O_RDWR, 0644));
    TCALL(t, ftruncate(fd, static_cast<off_t>(len)));
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    t.Note("mmap shared rw", p == MAP_FAILED ? "<" + ErrnoName(errno) + ">" : "ok");
    ASSERT_NE(p, MAP_FAILED);
    const std::string data = PatternData(len, 5);
    memcpy(p, data.data(), len);
    TCALL(t, msync(p, len, MS_SYNC));
    t.Note("SOURCE sees the mapped writes", ReadFileOrError(t.B("m")) == data);
    t.Note("read(2) sees the mapped writes", PRead(fd, len, 0) == data);
    // A write(2) shows up in the existing mapping.
    TCALL(t, pwrite(fd, "WRITE", 5, 4096));
    t.Note("mapping sees write(2)", memcmp(static_cast<char*>(p) + 4096, "WRITE", 5) == 0);
    TCALL(t, munmap(p, len));
    TCALL(t, close(fd));
    t.Note("after close", Digest(ReadFileOrError(t.B("m"))));
    // MAP_PRIVATE writes never reach the file.
    fd = TFD(t, open(t.P("m"), O_RDWR));
    p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    memset(p, 'P', 100);
    TCALL(t, munmap(p, len));
    TCALL(t, close(fd));
    t.Note("private writes not in file",
           ReadFileOrError(t.B("m")).substr(0, 100) != std::string(100, 'P'));
    // A shared writable mapping needs a writable fd.
    fd = TFD(t, open(t.P("m"), O_RDONLY));
    p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    t.Note("mmap rw of O_RDONLY fd", p == MAP_FAILED ? "<" + ErrnoName(errno) + ">" : "ok");
    if (p != MAP_FAILED) munmap(p, len);
    p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
    t.Note("mmap ro", p == MAP_FAILED ? "<" + ErrnoName(errno) + ">" : "ok");
    if (p != MAP_FAILED) {
      t.Note("ro mapping contents", Digest(std::string_view(static_cast<char*>(p), len)));
      munmap(p, len);
    }
    TCALL(t, close(fd));
  });
}

TEST_P(ParityIoTest, IoctlAndPoll) {
  RunParity([](Trace& t) {
    ASSERT_TRUE(WriteFile(t.P("f"), "0123456789"));
    int fd = TFD(t, open(t.P("f"), O_RDONLY));
    TCALL(t, lseek(fd, 3, SEEK_SET));
    // FIONREAD on a regular file is answered by the VFS itself, so it works
    // on the mount too.
    int avail = -1;
    TCALL(t, ioctl(fd, FIONREAD, &avail));
    t.Note("FIONREAD", static_cast<long long>(avail));
    // FS_IOC_GETFLAGS reaches the filesystem: the server answers ENOTTY for
    // every ioctl by design (docs/decisions.md, "IOCTL and POLL"), so lsattr
    // and chattr do not work on the mount. Asserted per side, not compared.
    int flags = 0;
    errno = 0;
    const int rc = ioctl(fd, FS_IOC_GETFLAGS, &flags);
    if (t.on_mount()) {
      EXPECT_EQ(rc, -1);
      EXPECT_EQ(errno, ENOTTY) << ErrnoName(errno);
    }
    errno = 0;
    const int rc2 = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    if (t.on_mount()) {
      EXPECT_EQ(rc2, -1);
      EXPECT_EQ(errno, ENOTTY) << ErrnoName(errno);
    }
    TCALL(t, ioctl(fd, TCGETS, &flags));  // not a terminal on either side
    // poll: a regular file is always ready for reading and writing.
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLPRI, 0};
    TCALL(t, poll(&p, 1, 0));
    t.Note("poll revents", static_cast<long long>(p.revents));
    int w = TFD(t, open(t.P("f"), O_WRONLY));
    struct pollfd pw = {w, POLLOUT, 0};
    TCALL(t, poll(&pw, 1, 1000));
    t.Note("poll revents (writer)", static_cast<long long>(pw.revents));
    int dfd = TFD(t, open(t.P(), O_RDONLY | O_DIRECTORY));
    struct pollfd pd = {dfd, POLLIN, 0};
    TCALL(t, poll(&pd, 1, 0));
    t.Note("poll revents (dir)", static_cast<long long>(pd.revents));
    // epoll: natively a regular file has no poll method and epoll_ctl
    // answers EPERM. Every FUSE file has one (the kernel's fuse_file_poll),
    // so the mount accepts it and, POLL being ENOSYS, reports the default
    // mask at once. A kernel-side difference no server can change; asserted
    // per side.
    int ep = TFD(t, epoll_create1(EPOLL_CLOEXEC));
    struct epoll_event ev = {EPOLLIN, {}};
    errno = 0;
    const int added = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    if (t.on_mount()) {
      EXPECT_EQ(added, 0) << ErrnoName(errno);
      struct epoll_event out {};
      EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 1);
      EXPECT_TRUE(out.events & EPOLLIN);
    } else {
      EXPECT_EQ(added, -1);
      EXPECT_EQ(errno, EPERM) << ErrnoName(errno);
    }
    TCALL(t, close(ep));
    TCALL(t, close(dfd));
    TCALL(t, close(w));
    TCALL(t, close(fd));
  });
}

INSTANTIATE_TEST_SUITE_P(Mount, ParityIoTest, testing::ValuesIn(ParityVariants()), VariantName);

}  // namespace
}  // namespace ptfs::mounttest
