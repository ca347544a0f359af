// statstorm DIR FILES ROUNDS: creates nothing; stats DIR/f0..f{FILES-1}
// ROUNDS times (lstat), then lists DIR with readdir + lstat of every entry
// (what `ls -l` does), and prints the seconds each part took.
#include <dirent.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s DIR FILES ROUNDS\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int files = atoi(argv[2]), rounds = atoi(argv[3]);
  using Clock = std::chrono::steady_clock;
  struct stat st;
  auto t0 = Clock::now();
  long failures = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < files; ++i) {
      failures += lstat((dir + "/f" + std::to_string(i)).c_str(), &st) != 0;
    }
  }
  auto t1 = Clock::now();
  DIR* d = opendir(dir.c_str());
  long entries = 0;
  while (struct dirent* e = readdir(d)) {
    failures += lstat((dir + "/" + e->d_name).c_str(), &st) != 0;
    ++entries;
  }
  closedir(d);
  auto t2 = Clock::now();
  printf("stat %.6f ls_l %.6f entries %ld failures %ld\n",
         std::chrono::duration<double>(t1 - t0).count(),
         std::chrono::duration<double>(t2 - t1).count(), entries, failures);
  return failures == 0 ? 0 : 1;
}
