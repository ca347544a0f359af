// passthroughfs(8), generated from the same option table as --help
// (options.cc), so the manual cannot drift from what the daemon accepts:
// every option of the table appears in it, each policy module's options
// under a section of their own.
#pragma once

#include <string>
#include <string_view>

namespace ptfs::cmd {

// The page in man(7) markup, for `version` ("0.1.0").
std::string ManPage(std::string_view version);

}  // namespace ptfs::cmd
