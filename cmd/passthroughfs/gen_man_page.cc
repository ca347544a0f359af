// Writes passthroughfs(8) to the file named by its argument: run by the
// build (CMakeLists.txt) so that the installed page is the option table's.
#include <cstdio>

#include "cmd/passthroughfs/man_page.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTPUT\n", argv[0]);
    return 2;
  }
  const std::string page = ptfs::cmd::ManPage(PTFS_VERSION);
  FILE* out = fopen(argv[1], "w");
  if (out == nullptr) {
    perror(argv[1]);
    return 1;
  }
  const bool written = fwrite(page.data(), 1, page.size(), out) == page.size();
  return fclose(out) == 0 && written ? 0 : 1;
}
