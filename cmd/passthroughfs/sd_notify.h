// The service manager's readiness protocol (sd_notify(3)), without
// libsystemd: with Type=notify, systemd starts `passthroughfs -f ...` and
// considers the mount up only when the daemon says READY=1, which it does
// once INIT is answered (the mount is live, as for the summary line).
#pragma once

#include <string>

namespace ptfs::cmd {

// Sends `state` ("READY=1\nSTATUS=...") as one datagram to $NOTIFY_SOCKET (a
// path, or an abstract name written with a leading '@'). False when the
// variable is unset (not started by a service manager) or the send failed.
bool NotifyServiceManager(const std::string& state);

}  // namespace ptfs::cmd
