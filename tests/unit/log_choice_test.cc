// Where the log goes (issue 20: once daemonized, every line went to
// syslog, and where nothing listens on /dev/log all were lost).
#include "cmd/passthroughfs/log_choice.h"

#include "gtest/gtest.h"

namespace ptfs::cmd {
namespace {

LogHost Host(bool foreground, bool syslog, uid_t uid = 0) {
  return LogHost{foreground, syslog, uid, "/home/u", ""};
}

TEST(LogChoice, ForegroundLogsToStderrAndTheDaemonToSyslog) {
  EXPECT_EQ(ChooseLog("", Host(true, true)).sink, log::Sink::kStderr);
  const LogChoice daemon = ChooseLog("", Host(false, true));
  EXPECT_EQ(daemon.sink, log::Sink::kSyslog);
  EXPECT_EQ(daemon.warning, "");
}

TEST(LogChoice, WithoutSyslogAFileIsUsedAndNamedOnce) {
  const LogChoice root = ChooseLog("", Host(false, false, 0));
  EXPECT_EQ(root.sink, log::Sink::kFile);
  EXPECT_EQ(root.file, "/var/log/passthroughfs.log");
  EXPECT_NE(root.warning.find("/var/log/passthroughfs.log"), std::string::npos);
  const LogChoice user = ChooseLog("", Host(false, false, 1000));
  EXPECT_EQ(user.file, "/home/u/.local/state/passthroughfs.log");
  EXPECT_EQ(FallbackLogFile(LogHost{false, false, 1000, "/home/u", "/state"}), "/state/passthroughfs.log");
  const LogChoice homeless = ChooseLog("", LogHost{false, false, 1000, "", ""});
  EXPECT_EQ(homeless.sink, log::Sink::kStderr);
  EXPECT_NE(homeless.warning, "");
}

TEST(LogChoice, ExplicitChoicesAreKept) {
  EXPECT_EQ(ChooseLog("stderr", Host(false, true)).sink, log::Sink::kStderr);
  const LogChoice file = ChooseLog("/tmp/x.log", Host(true, true));
  EXPECT_EQ(file.sink, log::Sink::kFile);
  EXPECT_EQ(file.file, "/tmp/x.log");
  EXPECT_EQ(file.warning, "");
  EXPECT_EQ(ChooseLog("syslog", Host(true, true)).sink, log::Sink::kSyslog);
  EXPECT_NE(ChooseLog("syslog", Host(false, false)).error, "");
}

}  // namespace
}  // namespace ptfs::cmd
