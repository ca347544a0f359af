// cmd/passthroughfs: options of modules from outside the daemon
// (ptfs/daemon.h's ModuleOption) in the option table: both parsers, the
// order of the chain, errors and --help.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cmd/passthroughfs/options.h"
#include "gtest/gtest.h"
#include "ptfs/daemon.h"

namespace ptfs::cmd {
namespace {

// A module that only forwards, remembering its option's value.
class Tagged : public Module {
 public:
  Tagged(FileSystem* inner, std::string tag) : Module(inner), tag(std::move(tag)) {}
  const std::string tag;
};

// --tag=VALUE: one Tagged module per occurrence; "skip" adds none, "bad" is
// an error. Every call of load is recorded in `*calls`.
ModuleOption TagOption(std::vector<std::string>* calls) {
  return {.name = "tag",
          .value_name = "TEXT",
          .help = "a tagged module",
          .load = [calls](const std::string& value) -> ModuleChain::Factory {
            calls->push_back(value);
            if (value == "bad") throw std::invalid_argument("must not be 'bad'");
            if (value == "skip") return nullptr;
            return [value](FileSystem* inner) { return std::make_unique<Tagged>(inner, value); };
          }};
}

Options Parse(std::vector<std::string> args, const std::vector<ModuleOption>& extra) {
  args.insert(args.begin(), "daemon");
  args.push_back("/src");
  args.push_back("/mnt");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseOptions(static_cast<int>(argv.size()), argv.data(), extra);
}

std::string ParseError(std::vector<std::string> args, const std::vector<ModuleOption>& extra) {
  try {
    Parse(std::move(args), extra);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ModuleOptions, EachOccurrenceIsOneModuleInCommandLineOrder) {
  std::vector<std::string> calls;
  const std::vector<ModuleOption> extra = {TagOption(&calls)};
  const Options o = Parse({"--tag=a", "--hide=*.key", "-o", "tag=b,hide=x,tag=skip", "--tag", "c"},
                          extra);
  EXPECT_EQ(calls, (std::vector<std::string>{"a", "b", "skip", "c"}));
  // --hide is one module, where its first option came; each --tag is one.
  EXPECT_EQ(o.modules, (std::vector<std::string>{"tag", "hide", "tag", "tag"}));
  ASSERT_EQ(o.loaded_modules.size(), 3u);
  EXPECT_EQ(o.loaded_modules[0].value, "a");
  EXPECT_EQ(o.loaded_modules[1].value, "b");
  EXPECT_EQ(o.loaded_modules[2].value, "c");
  EXPECT_EQ(o.hide_globs, (std::vector<std::string>{"*.key", "x"}));
  // The factories make the modules the values asked for.
  auto made = o.loaded_modules[1].factory(nullptr);
  EXPECT_EQ(static_cast<Tagged*>(made.get())->tag, "b");
  // The daemon's own options are unchanged by the extra ones.
  EXPECT_EQ(Parse({"--threads=3"}, extra), Parse({"--threads=3"}, {}));
}

TEST(ModuleOptions, Errors) {
  std::vector<std::string> calls;
  const std::vector<ModuleOption> extra = {TagOption(&calls)};
  EXPECT_EQ(ParseError({"--tag=bad"}, extra), "--tag: must not be 'bad'");
  EXPECT_EQ(ParseError({"-o", "tag=bad"}, extra), "-o tag: must not be 'bad'");
  EXPECT_EQ(ParseError({"-o", "tag"}, extra), "-o tag needs a value");
  EXPECT_EQ(ParseError({"--tagx=1"}, extra), "unknown option '--tagx'");
  EXPECT_EQ(ParseError({"--tag=1"}, {}), "unknown option '--tag'");

  // A flag takes no value; load gets "".
  std::vector<std::string> flag_calls;
  ModuleOption flag = TagOption(&flag_calls);
  flag.name = "tag-all";
  flag.value_name = "";
  EXPECT_EQ(ParseError({"--tag-all=1"}, {flag}), "--tag-all takes no value");
  const Options o = Parse({"-o", "tag_all"}, {flag});
  EXPECT_EQ(flag_calls, (std::vector<std::string>{""}));
  EXPECT_EQ(o.modules, (std::vector<std::string>{"tag-all"}));
}

TEST(ModuleOptions, NamesMustBeFreeAndWellFormed) {
  std::vector<std::string> calls;
  auto named = [&](const std::string& name) {
    ModuleOption m = TagOption(&calls);
    m.name = name;
    return m;
  };
  // The daemon's long names and -o keys are taken (fsname: -o only).
  for (const char* taken : {"hide", "threads", "fd-cache", "fsname", "help", "allow-other"}) {
    const std::string error = ParseError({}, {named(taken)});
    if (std::string(taken) == "allow-other") {
      EXPECT_EQ(error, "module option 'allow-other' is taken: --allow-other or -o allow_other "
                       "is already an option");
    } else {
      EXPECT_NE(error.find("is taken"), std::string::npos) << taken << ": " << error;
    }
  }
  EXPECT_NE(ParseError({}, {named("tag"), named("tag")}).find("is taken"), std::string::npos);
  for (const char* bad : {"", "Tag", "-tag", "tag-", "fd_cache", "9lives", "tag=x"}) {
    EXPECT_NE(ParseError({}, {named(bad)}).find("lower-case letters"), std::string::npos) << bad;
  }
  ModuleOption no_load = named("tag");
  no_load.load = nullptr;
  EXPECT_EQ(ParseError({}, {no_load}), "module option 'tag' has no load function");
  EXPECT_TRUE(calls.empty());
}

TEST(ModuleOptions, HelpListsThemWithTheDaemonsOptions) {
  std::vector<std::string> calls;
  const std::string usage = Usage("daemon", std::vector<ModuleOption>{TagOption(&calls)});
  const size_t tag = usage.find("\n      --tag=TEXT, -o tag=TEXT\n" + std::string(22, ' ') +
                                "a tagged module\n");
  ASSERT_NE(tag, std::string::npos) << usage;
  EXPECT_LT(usage.find("--hide=GLOB"), tag);
  EXPECT_GT(usage.find("--help"), tag);
  EXPECT_GT(usage.find("mount options"), tag);
  EXPECT_EQ(Usage("daemon", {}), Usage("daemon"));
}

}  // namespace
}  // namespace ptfs::cmd
