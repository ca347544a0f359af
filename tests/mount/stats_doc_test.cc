// docs/stats.md documents every counter the daemon prints, and names none it
// does not: the page is the reference for --stats-file readers.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/harness/mount_harness.h"

namespace ptfs::mounttest {
namespace {

// The `name`s in the first column of docs/stats.md's tables.
std::set<std::string> DocumentedNames() {
  std::ifstream in(std::string(PTFS_SOURCE_DIR) + "/docs/stats.md");
  std::set<std::string> names;
  std::string line;
  const std::regex name("`([a-z_A-Z]+)`");
  while (std::getline(in, line)) {
    if (!line.starts_with("| `")) continue;
    const std::string first = line.substr(0, line.find(" | ", 2));
    for (std::sregex_iterator it(first.begin(), first.end(), name), end; it != end; ++it) {
      names.insert((*it)[1]);
    }
  }
  return names;
}

// With --audit, so that the audit_* lines appear too.
class StatsDoc : public MountTestBase {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--audit=" + root() + "/audit.jsonl"};
  }
};

TEST_F(StatsDoc, EveryCounterIsDocumentedAndEveryDocumentedOneExists) {
  const std::set<std::string> documented = DocumentedNames();
  ASSERT_GT(documented.size(), 30u) << "cannot read docs/stats.md";
  ASSERT_TRUE(WriteFile(Src("f"), "x"));  // something to count
  ASSERT_EQ(ReadFileOrError(Mnt("f")), "x");
  ASSERT_TRUE(WriteFile(Mnt("g"), "y"));  // an audited change
  const auto stats = daemon().Stats();
  ASSERT_FALSE(stats.empty());
  ASSERT_EQ(stats.count("watch_on"), 1u);
  ASSERT_EQ(stats.at("watch_on"), 1) << "the default mount watches SOURCE; all lines appear";
  ASSERT_EQ(stats.count("audit_lines_written"), 1u);
  EXPECT_GE(stats.at("audit_lines_written"), 1) << "the write of g was audited";
  std::set<std::string> printed;
  for (const auto& [name, value] : stats) {
    printed.insert(name.starts_with("opcode_") ? "opcode_NAME" : name);
  }
  for (const std::string& name : printed) {
    EXPECT_TRUE(documented.contains(name)) << name << " is printed but not in docs/stats.md";
  }
  for (const std::string& name : documented) {
    EXPECT_TRUE(printed.contains(name)) << name << " is in docs/stats.md but not printed";
  }
}

}  // namespace
}  // namespace ptfs::mounttest
