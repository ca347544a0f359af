// The daemon configurations the mount tier runs, in one list (variants.cc):
// a test names the ones it wants instead of spelling out arguments, so the
// same configuration is the same everywhere and a new one is added once.
// Configurations that exist to test one option (the atime flags, say) stay
// with that test.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace ptfs::mounttest {

struct Variant {
  std::string name;
  std::vector<std::string> args;  // daemon arguments after -f
  // What the configuration puts in force where the kernel offers it:
  bool passthrough = false;  // file I/O by kernel passthrough (no READ/WRITE)
  bool writeback = false;    // the kernel's writeback cache
};

// gtest prints the parameter with this (instead of its bytes).
void PrintTo(const Variant& v, std::ostream* os);
std::string VariantName(const testing::TestParamInfo<Variant>& info);

// The configurations of these names, in this order; an unknown name is a
// test failure (and is left out).
std::vector<Variant> Variants(std::initializer_list<std::string_view> names);
Variant NamedVariant(std::string_view name);

// What parity traces run against: every data path, cache mode and transport.
std::vector<Variant> ParityVariants();

}  // namespace ptfs::mounttest
