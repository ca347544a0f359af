// Where the daemon's log goes (--log, issue 20): the decision, apart from
// opening anything, so it is unit-tested. By default stderr in the
// foreground and syslog once daemonized; where nothing listens on /dev/log
// (containers) syslog(3) would drop every line without a word, so a file
// takes its place, named in one warning.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/log.h"

namespace ptfs::cmd {

struct LogHost {
  bool foreground = false;
  bool syslog = false;    // something listens on /dev/log
  uid_t uid = 0;
  std::string home;       // $HOME
  std::string xdg_state;  // $XDG_STATE_HOME
};

struct LogChoice {
  log::Sink sink = log::Sink::kStderr;
  std::string file;     // kFile: where
  std::string warning;  // to say once on stderr (the file used instead of syslog)
  std::string error;    // set: refuse to start, with this one line
};

// `option` is --log's value ("" when not given).
LogChoice ChooseLog(const std::string& option, const LogHost& host);
// Where the log goes when syslog would be used and there is none:
// /var/log/passthroughfs.log for root, else $XDG_STATE_HOME (or
// $HOME/.local/state)/passthroughfs.log; "" without a home.
// Where the daemon keeps state that outlives it (the --export nodeid
// table): /var/lib/passthroughfs for root, $XDG_STATE_HOME/passthroughfs
// (~/.local/state) for other users; "" if there is no home.
std::string DefaultStateDir(const LogHost& host);
std::string FallbackLogFile(const LogHost& host);

}  // namespace ptfs::cmd
