// metabench: the metadata loops of bench/suite, timed inside one process so
// the numbers hold no fork/exec or interpreter overhead.
//
//   metabench create DIR N       create DIR/f0..f{N-1} empty (open O_CREAT|O_EXCL + close)
//   metabench stat DIR N         lstat DIR/f0..f{N-1}
//   metabench unlink DIR N       unlink DIR/f0..f{N-1}
//   metabench statlat FILE N     N x stat(FILE) (after N/10 untimed warm-up calls)
//   metabench openlat FILE N     N x open(FILE, O_RDONLY) + close (same warm-up)
//   metabench xattrlat FILE N    N x lgetxattr(FILE, "security.selinux") (same warm-up);
//                                ENODATA counts as an answer: on a mount, one round trip
//                                per call (FUSE caches no xattrs), the cheapest there is
//   metabench getlkfree FILE N   N x F_OFD_GETLK on FILE (same warm-up), nobody holding it
//   metabench getlkheld FILE N   the same while another open of FILE holds a write lock on
//                                all of it: the conflict a non-blocking lock request meets
//   metabench pingpong same|cross N
//                                N one-byte round trips over two pipes between this
//                                thread and a partner thread, both pinned to CPU 0
//                                (same) or to CPUs 0 and 1 (cross): the host's price
//                                of waking a thread and switching to it and back,
//                                the floor under every FUSE round trip
//   metabench mktree DIR A B F   DIR/dA/dB/fF: A dirs, each with B subdirs, each with F
//                                empty files (DIR must not exist; deterministic names)
//
// Prints one line: "<cmd> seconds <s> calls <n> ns_per_call <ns> failures <k>"
// and exits 1 if any call failed (the first failure's errno goes to stderr).
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

long failures = 0;

void Check(bool ok, const char* what, const std::string& path) {
  if (ok) return;
  if (failures++ == 0) fprintf(stderr, "metabench: %s %s: %s\n", what, path.c_str(), strerror(errno));
}

int Usage() {
  fputs(
      "usage: metabench create|stat|unlink DIR N | statlat|openlat|xattrlat FILE N | "
      "pingpong same|cross N | mktree DIR A B F\n",
      stderr);
  return 2;
}

bool PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

// One byte to the partner and back, n times (after n/10 untimed); returns the
// seconds the timed part took, or a negative value if a pipe or pin failed.
double PingPong(bool same_cpu, long n) {
  int to_partner[2], to_caller[2];
  if (pipe(to_partner) < 0) return -1;
  if (pipe(to_caller) < 0) return -1;
  const long warm = n / 10;
  bool pinned = PinTo(0);
  std::thread partner([&] {
    pinned = PinTo(same_cpu ? 0 : 1) && pinned;
    char c;
    for (long i = 0; i < warm + n; ++i) {
      if (read(to_partner[0], &c, 1) != 1 || write(to_caller[1], &c, 1) != 1) return;
    }
  });
  char c = 'x';
  bool ok = true;
  auto once = [&] { ok = ok && write(to_partner[1], &c, 1) == 1 && read(to_caller[0], &c, 1) == 1; };
  for (long i = 0; i < warm; ++i) once();
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) once();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  partner.join();
  for (int fd : {to_partner[0], to_partner[1], to_caller[0], to_caller[1]}) close(fd);
  return ok && pinned ? s : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Usage();
  const std::string cmd = argv[1], path = argv[2];
  const long n = atol(argv[3]);
  using Clock = std::chrono::steady_clock;
  struct stat st;
  long calls = 0;
  auto t0 = Clock::now();
  if (cmd == "create" || cmd == "stat" || cmd == "unlink") {
    for (long i = 0; i < n; ++i) {
      const std::string p = path + "/f" + std::to_string(i);
      if (cmd == "create") {
        int fd = open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        Check(fd >= 0, "create", p);
        if (fd >= 0) close(fd);
      } else if (cmd == "stat") {
        Check(lstat(p.c_str(), &st) == 0, "lstat", p);
      } else {
        Check(unlink(p.c_str()) == 0, "unlink", p);
      }
      ++calls;
    }
  } else if (cmd == "statlat" || cmd == "openlat" || cmd == "xattrlat") {
    const bool open_close = cmd == "openlat";
    const bool xattr = cmd == "xattrlat";
    auto one = [&] {
      if (xattr) {
        char value[256];
        const ssize_t r = lgetxattr(path.c_str(), "security.selinux", value, sizeof(value));
        Check(r >= 0 || errno == ENODATA, "lgetxattr", path);
      } else if (open_close) {
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        Check(fd >= 0, "open", path);
        if (fd >= 0) close(fd);
      } else {
        Check(stat(path.c_str(), &st) == 0, "stat", path);
      }
    };
    for (long i = 0; i < n / 10; ++i) one();
    t0 = Clock::now();
    for (long i = 0; i < n; ++i) one();
    calls = n;
  } else if (cmd == "getlkfree" || cmd == "getlkheld") {
    const bool held = cmd == "getlkheld";
    const int mine = open(path.c_str(), O_RDWR | O_CLOEXEC);
    const int holder = open(path.c_str(), O_RDWR | O_CLOEXEC);
    Check(mine >= 0 && holder >= 0, "open", path);
    if (mine < 0 || holder < 0) return 1;
    struct flock all {};
    all.l_type = F_WRLCK;
    all.l_whence = SEEK_SET;
    if (held) Check(fcntl(holder, F_OFD_SETLK, &all) == 0, "F_OFD_SETLK", path);
    auto one = [&] {
      struct flock fl {};
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      Check(fcntl(mine, F_OFD_GETLK, &fl) == 0, "F_OFD_GETLK", path);
      Check((fl.l_type == F_WRLCK) == held, "F_OFD_GETLK answer", path);
    };
    for (long i = 0; i < n / 10; ++i) one();
    t0 = Clock::now();
    for (long i = 0; i < n; ++i) one();
    calls = n;
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    close(holder);
    close(mine);
    printf("%s seconds %.6f calls %ld ns_per_call %.1f failures %ld\n", cmd.c_str(), s, calls,
           s * 1e9 / static_cast<double>(calls), failures);
    return failures == 0 ? 0 : 1;
  } else if (cmd == "pingpong") {
    if (path != "same" && path != "cross") return Usage();
    const double s = PingPong(path == "same", n);
    Check(s >= 0, "pingpong", path);
    printf("%s seconds %.6f calls %ld ns_per_call %.1f failures %ld\n", cmd.c_str(), s, n,
           s * 1e9 / static_cast<double>(n), failures);
    return failures ? 1 : 0;
  } else if (cmd == "mktree") {
    if (argc != 6) return Usage();
    const long b = atol(argv[4]), f = atol(argv[5]);
    Check(mkdir(path.c_str(), 0755) == 0, "mkdir", path);
    for (long i = 0; i < n; ++i) {
      const std::string d1 = path + "/d" + std::to_string(i);
      Check(mkdir(d1.c_str(), 0755) == 0, "mkdir", d1);
      ++calls;
      for (long j = 0; j < b; ++j) {
        const std::string d2 = d1 + "/d" + std::to_string(j);
        Check(mkdir(d2.c_str(), 0755) == 0, "mkdir", d2);
        ++calls;
        for (long k = 0; k < f; ++k) {
          const std::string p = d2 + "/f" + std::to_string(k);
          int fd = open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
          Check(fd >= 0, "create", p);
          if (fd >= 0) close(fd);
          ++calls;
        }
      }
    }
  } else {
    return Usage();
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  printf("%s seconds %.6f calls %ld ns_per_call %.1f failures %ld\n", cmd.c_str(), s, calls,
         calls > 0 ? s * 1e9 / static_cast<double>(calls) : 0.0, failures);
  return failures == 0 ? 0 : 1;
}
