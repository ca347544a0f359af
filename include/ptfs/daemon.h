// The passthroughfs daemon as a library call, so that a program of its own
// can be a complete daemon with modules of its own (docs/modules.md):
//
//   int main(int argc, char** argv) {
//     return ptfs::RunDaemon(argc, argv, {{
//         .name = "deny-older-than", .value_name = "DAYS",
//         .help = "policy: files last modified more than DAYS days ago cannot be changed",
//         .load = [](const std::string& days) -> ptfs::ModuleChain::Factory {
//           const int n = ParseDays(days);  // throws std::invalid_argument
//           return [n](ptfs::FileSystem* inner) { return std::make_unique<DenyOld>(inner, n); };
//         }}});
//   }
//
// The program then takes every option passthroughfs takes (`passthroughfs
// --help`), the shipped modules included, plus its own; it mounts, serves
// and exits exactly as passthroughfs does. Link with libptfs (CMake:
// find_package(ptfs) and ptfs::ptfs or ptfs::ptfs_static; pkg-config: ptfs).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ptfs/module.h"

namespace ptfs {

// One option that loads a module: --NAME=VALUE on the command line, and
// -o NAME=VALUE (dashes in NAME become underscores: -o deny_older_than=30)
// where mount(8) and fstab lines put options. --help lists it with the
// daemon's own options.
struct ModuleOption {
  // The long option's name: lower-case letters, digits and dashes
  // ("deny-older-than"). It must not be one of the daemon's own options.
  std::string name;
  // What the value looks like in --help ("DAYS"); empty: a flag, which
  // takes no value (load then gets "").
  std::string value_name;
  // One line for --help.
  std::string help;
  // Called while the command line is parsed, once per occurrence of the
  // option, in command-line order, with its value. Returns the factory of
  // one module (ModuleChain::Factory), which the daemon calls once it has
  // mounted, in the process that serves (after the fork: a module may start
  // threads; if the factory throws, the daemon logs why, unmounts and
  // exits 1); or an empty factory to add no module. Throws
  // std::invalid_argument with a one-line message for a bad value: the
  // daemon prints it after the option's name and exits 1 without mounting.
  //
  // Each occurrence is one module, placed where the option came among the
  // modules of the command line (the first is the outermost: it sees each
  // call first). A shipped module takes its place where its first option
  // came.
  std::function<ModuleChain::Factory(const std::string& value)> load;
};

// Parses argv as passthroughfs does (all of its options, plus `extra`),
// mounts SOURCE at MOUNTPOINT and serves until unmounted. Returns the exit
// status for main: 0 once unmounted (or after --help, --version), 1 when
// the command line is wrong or the mount failed, with one line on stderr.
// Without -f the calling process exits from inside (status 0 once the mount
// is live) and a forked child, in its own session, serves; RunDaemon
// returns in the child once unmounted. Call it once per process, from main:
// it blocks signals, may fork, and owns the process until it returns.
__attribute__((visibility("default"))) int RunDaemon(
    int argc, char** argv, const std::vector<ModuleOption>& extra = {});

}  // namespace ptfs
