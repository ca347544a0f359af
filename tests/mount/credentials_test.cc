// Creation as another user, where group membership matters: a directory
// writable only through a supplementary group, and a setgid directory whose
// group new entries inherit. Compared with native.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

class CredentialsTest : public ParityTest {};

TEST_P(CredentialsTest, SupplementaryGroupAndSetgidDirectories) {
  RunParity([](Trace& t) {
    // Writable by group 2000 only; uid 1000 is in it as a supplementary group.
    TCALL(t, mkdir(t.P("groupdir"), 0770));
    TCALL(t, chown(t.P("groupdir"), 0, 2000));
    TCALL(t, chmod(t.P("groupdir"), 0770));
    // setgid: new entries take the directory's group, subdirectories keep setgid.
    TCALL(t, mkdir(t.P("sgid"), 0777));
    TCALL(t, chown(t.P("sgid"), 0, 3000));
    TCALL(t, chmod(t.P("sgid"), 02777));
    t.Note("as uid 1000 in group 2000",
           RunAsWithGroups(1000, 1000, {1000, 2000}, [&] {
             std::string r;
             int fd = open(t.P("groupdir/f"), O_CREAT | O_WRONLY, 0640);
             r += fd >= 0 ? "create ok; " : "create " + ErrnoName(errno) + "; ";
             if (fd >= 0) close(fd);
             r += mkdir(t.P("groupdir/d"), 0750) == 0 ? "mkdir ok; " : "mkdir failed; ";
             fd = open(t.P("sgid/f"), O_CREAT | O_WRONLY, 0640);
             r += fd >= 0 ? "sgid create ok; " : "sgid create " + ErrnoName(errno) + "; ";
             if (fd >= 0) close(fd);
             r += mkdir(t.P("sgid/d"), 0755) == 0 ? "sgid mkdir ok" : "sgid mkdir failed";
             return r;
           }));
    t.Note("as uid 1001 in no group", RunAs(1001, 1001, [&] {
             int fd = open(t.P("groupdir/g"), O_CREAT | O_WRONLY, 0640);
             if (fd >= 0) close(fd);
             return fd >= 0 ? std::string("create ok") : "create " + ErrnoName(errno);
           }));
    for (const char* name : {"groupdir/f", "groupdir/d", "sgid/f", "sgid/d"}) {
      t.Stat(name, t.P(name));
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Mount, CredentialsTest, testing::ValuesIn(ParityVariants()),
                         VariantName);

}  // namespace
}  // namespace ptfs::mounttest
