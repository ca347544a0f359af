#include "cmd/passthroughfs/log_choice.h"

namespace ptfs::cmd {

std::string FallbackLogFile(const LogHost& host) {
  if (host.uid == 0) return "/var/log/passthroughfs.log";
  if (!host.xdg_state.empty() && host.xdg_state[0] == '/') {
    return host.xdg_state + "/passthroughfs.log";
  }
  if (!host.home.empty() && host.home[0] == '/') return host.home + "/.local/state/passthroughfs.log";
  return "";
}

std::string DefaultStateDir(const LogHost& host) {
  if (host.uid == 0) return "/var/lib/passthroughfs";
  if (!host.xdg_state.empty() && host.xdg_state[0] == '/') return host.xdg_state + "/passthroughfs";
  if (!host.home.empty() && host.home[0] == '/') return host.home + "/.local/state/passthroughfs";
  return "";
}

LogChoice ChooseLog(const std::string& option, const LogHost& host) {
  LogChoice c;
  if (option == "stderr" || (option.empty() && host.foreground)) return c;
  if (option.empty() || option == "syslog") {
    if (host.syslog) {
      c.sink = log::Sink::kSyslog;
      return c;
    }
    if (option == "syslog") {
      c.error = "--log=syslog: nothing listens on /dev/log (no syslog daemon here; "
                "--log=FILE or --log=stderr)";
      return c;
    }
    c.file = FallbackLogFile(host);
    if (c.file.empty()) {
      c.warning = "no syslog (nothing listens on /dev/log) and no home for a log file: "
                  "logging to this stderr (--log chooses)";
      return c;
    }
    c.sink = log::Sink::kFile;
    c.warning = "no syslog (nothing listens on /dev/log): logging to " + c.file +
                " (--log chooses)";
    return c;
  }
  c.sink = log::Sink::kFile;
  c.file = option;
  return c;
}

}  // namespace ptfs::cmd
