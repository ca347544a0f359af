// passthroughfs(8) is generated from the option table: every option --help
// shows must be in it, the policy modules each under their own section, and
// nothing in it may be read by man as a request.
#include "cmd/passthroughfs/man_page.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "cmd/passthroughfs/options.h"

namespace ptfs::cmd {
namespace {

std::string Escaped(std::string_view text) {
  std::string out;
  for (char c : text) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

TEST(ManPage, EveryOptionOfTheTableIsInIt) {
  const std::string page = ManPage("9.9.9");
  int checked = 0;
  for (const OptionSpec& s : OptionTable()) {
    if (!s.long_name.empty()) {
      EXPECT_NE(page.find("\\fB\\-\\-" + Escaped(s.long_name) + "\\fR"), std::string::npos)
          << "--" << s.long_name;
      ++checked;
    }
    if (!s.key.empty()) {
      EXPECT_NE(page.find(Escaped(s.key)), std::string::npos) << "-o " << s.key;
      ++checked;
    }
    if (s.short_name != 0) {
      EXPECT_NE(page.find(std::string("\\fB\\-") + s.short_name + "\\fR"), std::string::npos)
          << "-" << s.short_name;
    }
    if (!s.help.empty()) {
      EXPECT_NE(page.find(Escaped(s.help.substr(0, 30))), std::string::npos) << s.help;
    }
  }
  EXPECT_GT(checked, 60);
  EXPECT_NE(page.find("passthroughfs 9.9.9"), std::string::npos);
}

TEST(ManPage, EachPolicyModuleHasASectionWithItsOptionsAndAnExample) {
  const std::string page = ManPage("0.1.0");
  struct Expect {
    const char* section;
    std::vector<const char*> options;
  };
  const Expect modules[] = {{"Hiding names", {"hide"}},
                            {"Read-only subtrees", {"read\\-only"}},
                            {"Owner mapping", {"map\\-owner", "map\\-group"}},
                            {"Audit log", {"audit", "audit\\-reads", "audit\\-full"}}};
  const size_t policies = page.find("\n.SH POLICY MODULES\n");
  ASSERT_NE(policies, std::string::npos);
  for (const Expect& m : modules) {
    const size_t at = page.find(std::string("\n.SS ") + m.section + "\n");
    ASSERT_NE(at, std::string::npos) << m.section;
    EXPECT_GT(at, policies) << m.section;
    const size_t end = std::min(page.find("\n.SS ", at + 1), page.find("\n.SH ", at + 1));
    const std::string section = page.substr(at, end - at);
    for (const char* o : m.options) {
      EXPECT_NE(section.find(std::string("\\fB\\-\\-") + o + "\\fR"), std::string::npos)
          << m.section << ": --" << o;
    }
    EXPECT_NE(section.find(".EX\n"), std::string::npos) << m.section << " has no example";
  }
}

TEST(ManPage, NoTextLineStartsWithAControlCharacter) {
  std::istringstream lines(ManPage("0.1.0"));
  std::string line;
  int macros = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || (line[0] != '.' && line[0] != '\'')) continue;
    ++macros;
    const std::string name = line.substr(1, line.find(' ') - 1);
    EXPECT_TRUE(name == "TH" || name == "SH" || name == "SS" || name == "TP" || name == "PP" ||
                name == "B" || name == "I" || name == "br" || name == "EX" || name == "EE")
        << "line read as a request: " << line;
  }
  EXPECT_GT(macros, 40);
}

}  // namespace
}  // namespace ptfs::cmd
