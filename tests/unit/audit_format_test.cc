// The audit's line format (JsonLine) and its file (AuditLog) on their own:
// escaping, names that are not UTF-8, and what happens when the file cannot
// be written (/dev/full answers every write with ENOSPC).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <string>
#include <vector>

#include "modules/audit.h"
#include "modules/audit_log.h"
#include "modules/json_line.h"
#include "modules/paths.h"

namespace ptfs::modules {
namespace {

TEST(JsonLine, EscapesWhatJsonNeedsAndKeepsUtf8) {
  JsonLine l;
  l.Str("path", "a\"b\\c\nd\x01\x7f").Int("uid", 1000).Bool("t", true);
  l.Str("name", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(std::move(l).Take(),
            "{\"path\":\"a\\\"b\\\\c\\u000ad\\u0001\\u007f\",\"uid\":1000,\"t\":true,"
            "\"name\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}\n");
}

TEST(JsonLine, NamesThatAreNotUtf8KeepTheirExactBytesInHex) {
  JsonLine l;
  // A lone continuation byte, a truncated sequence, an overlong '/' and a
  // surrogate: each is invalid UTF-8.
  l.Str("path", std::string("a\x80z"));
  l.Str("to", std::string("\xc3"));
  l.Str("x", std::string("\xc0\xaf"));
  l.Str("y", std::string("\xed\xa0\x80"));
  l.OptStr("gone", std::nullopt);
  EXPECT_EQ(std::move(l).Take(),
            "{\"path\":\"a\xef\xbf\xbdz\",\"path_hex\":\"61807a\","
            "\"to\":\"\xef\xbf\xbd\",\"to_hex\":\"c3\","
            "\"x\":\"\xef\xbf\xbd\xef\xbf\xbd\",\"x_hex\":\"c0af\","
            "\"y\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\",\"y_hex\":\"eda080\","
            "\"gone\":null}\n");
}

// The time is written digit by digit (snprintf cost more than the rest of
// a line): the same text strftime gives, at every field's edges.
TEST(AuditTime, MatchesStrftimeWithMicroseconds) {
  const struct timespec times[] = {
      {0, 0},                      // 1970-01-01T00:00:00.000000Z
      {951782400, 999999999},      // 2000-02-29 (leap day), last microsecond
      {1798761599, 123456789},     // 2026-12-31T23:59:59
      {1798761600, 1000},          // the next second: a new calendar part
      {1798761600, 5000},          // the same second again: the cached part
      {4102444800, 42000},         // 2100-01-01
  };
  for (const struct timespec& t : times) {
    char got[32];
    FormatAuditTime(t, got);
    struct tm tm;
    gmtime_r(&t.tv_sec, &tm);
    char want[64];
    const size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(want + n, sizeof(want) - n, ".%06ldZ", t.tv_nsec / 1000);
    EXPECT_STREQ(got, want);
  }
}

TEST(AuditLog, RefuseModeHoldsChangesWhileALineWaits) {
  std::vector<std::string> reports;
  AuditLog log("/dev/full", AuditLog::OnFailure::kRefuse,
               [&](const std::string& m) { reports.push_back(m); });
  ASSERT_TRUE(log.Open().ok());
  EXPECT_TRUE(log.ReadyForChange().ok()) << "nothing waits yet";
  log.Append("{\"op\":\"mkdir\"}\n");
  EXPECT_EQ(log.ReadyForChange(), Errno(ENOSPC));
  EXPECT_EQ(log.counters().lines_waiting, 1u);
  EXPECT_EQ(log.counters().lines_written, 0u);
  ASSERT_EQ(reports.size(), 1u) << "reported once, not per retry";
  EXPECT_NE(reports[0].find("changes are refused"), std::string::npos) << reports[0];
}

TEST(AuditLog, ContinueModeDropsOnlyBeyondItsMemoryAndCountsThem) {
  std::vector<std::string> reports;
  AuditLog log("/dev/full", AuditLog::OnFailure::kContinue,
               [&](const std::string& m) { reports.push_back(m); });
  ASSERT_TRUE(log.Open().ok());
  const std::string line(1024 * 1024 - 1, 'x');
  for (int i = 0; i < 6; ++i) log.Append(line + "\n");
  EXPECT_TRUE(log.ReadyForChange().ok());
  EXPECT_EQ(log.counters().lines_waiting, 4u) << "4 MiB kept";
  EXPECT_EQ(log.counters().lines_dropped, 2u);
  EXPECT_EQ(reports.size(), 2u) << "the failure, then the first drop";
}

TEST(AuditLog, LinesReachTheFileWholeAndInOrder) {
  char dir[] = "/tmp/ptfs-audit-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/a.jsonl";
  {
    AuditLog log(path, AuditLog::OnFailure::kRefuse, [](const std::string&) {});
    ASSERT_TRUE(log.Open().ok());
    log.Append("one\n");
    log.Append("two\n");
    EXPECT_EQ(log.counters().lines_written, 2u);
  }
  FILE* f = fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[64] = {};
  EXPECT_EQ(fread(buf, 1, sizeof(buf) - 1, f), 8u);
  fclose(f);
  EXPECT_STREQ(buf, "one\ntwo\n");
  unlink(path.c_str());
  rmdir(dir);
}

TEST(PolicyPaths, UnderAndOnTheWay) {
  EXPECT_TRUE(IsAtOrUnder("a/b", "a"));
  EXPECT_TRUE(IsAtOrUnder("a", "a"));
  EXPECT_FALSE(IsAtOrUnder("ab", "a"));
  EXPECT_FALSE(IsAtOrUnder("a", "a/b"));
  EXPECT_TRUE(LeadsTo("a", "a/b/c"));
  EXPECT_FALSE(LeadsTo("a/b/c", "a/b/c"));
  EXPECT_FALSE(LeadsTo("a/bc", "a/b/c"));
  EXPECT_EQ(JoinPath("", "x"), "x");
  EXPECT_EQ(JoinPath("d", "x"), "d/x");
}

}  // namespace
}  // namespace ptfs::modules
