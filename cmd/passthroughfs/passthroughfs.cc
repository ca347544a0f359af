// The passthroughfs daemon: libptfs's RunDaemon with the shipped modules
// only (the daemon itself is cmd/passthroughfs/daemon.cc).
#include "ptfs/daemon.h"

int main(int argc, char** argv) { return ptfs::RunDaemon(argc, argv); }
