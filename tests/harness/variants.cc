#include "tests/harness/variants.h"

namespace ptfs::mounttest {
namespace {

// Every named configuration. Most add allow_other so that tests may act as
// other users; the daemon's default transport is io_uring where the kernel
// offers it (the harness makes it offer it), so "dev" in a name means the
// /dev/fuse transport was asked for.
const std::vector<Variant>& AllVariants() {
  static const std::vector<Variant> all = {
      // Default caching (long timeouts kept coherent by the source watch)
      // and transport: the kernel's caches must stay coherent.
      {"cached", {"-o", "allow_other"}, true},
      // Every stat asks the server; file data by kernel passthrough.
      {"nocache", {"--nocache", "-o", "allow_other"}, true},
      // The daemon serves READ/WRITE itself, holds an O_PATH fd per inode
      // instead of file handles, with more workers reading /dev/fuse.
      {"served",
       {"--nocache", "--passthrough=off", "--no-handles", "--threads=4", "--transport=dev", "-o",
        "allow_other"}},
      {"served_nocache",
       {"--nocache", "--passthrough=off", "--no-handles", "-o", "allow_other"}},
      {"served_cached", {"--passthrough=off", "-o", "allow_other"}},
      {"served_dev", {"--passthrough=off", "--transport=dev", "-o", "allow_other"}},
      {"cached_dev", {"--transport=dev", "-o", "allow_other"}, true},
      // The kernel's writeback cache (turns passthrough off).
      {"writeback", {"--writeback", "-o", "allow_other"}, false, true},
      // FUSE over io_uring: every request but INIT/FORGET/INTERRUPT comes
      // through the per-CPU rings, file data included (served, no cache);
      // the fixture's TearDown checks the daemon's counters to prove it.
      {"uring", {"--nocache", "--passthrough=off", "--transport=uring", "-o", "allow_other"}},
      {"uring_cached", {"--transport=uring", "-o", "allow_other"}, true},
      {"uring_served_cached", {"--passthrough=off", "--transport=uring", "-o", "allow_other"}},
      // The kernel does not check permissions: the server does, as the caller.
      {"nodefault", {"--nocache", "-o", "allow_other,nodefault_permissions"}, true},
      {"nodefault_cached", {"-o", "allow_other,nodefault_permissions"}, true},
      // The design demo's switches: on a kernel without inode passthrough
      // the daemon serves getattr and readdir.
      {"readdirpassthrough", {"--readdirpassthrough", "--nocache", "-o", "allow_other"}, true},
      // Long timeouts that no source watch keeps coherent: only the daemon's
      // own invalidations stand between the kernel's caches and SOURCE.
      {"unwatched_long_timeouts",
       {"--watch-source=off", "--entry-timeout=60", "--attr-timeout=60"}, true},
      // Worker counts, for the concurrency and lock-waiter tests.
      {"threads2", {"--threads=2", "-o", "allow_other"}, true},
      {"threads4", {"--threads=4"}, true},
      {"served_threads3", {"--nocache", "--passthrough=off", "--threads=3"}},
      {"uring_served_nocache", {"--nocache", "--passthrough=off", "--transport=uring"}},
  };
  return all;
}

}  // namespace

void PrintTo(const Variant& v, std::ostream* os) {
  *os << v.name << " {";
  for (auto& a : v.args) *os << " " << a;
  *os << " }";
}

std::string VariantName(const testing::TestParamInfo<Variant>& info) { return info.param.name; }

Variant NamedVariant(std::string_view name) {
  for (const Variant& v : AllVariants()) {
    if (v.name == name) return v;
  }
  ADD_FAILURE() << "no daemon variant named " << name << " (tests/harness/variants.cc)";
  return Variant{std::string(name), {}};
}

std::vector<Variant> Variants(std::initializer_list<std::string_view> names) {
  std::vector<Variant> out;
  for (std::string_view n : names) out.push_back(NamedVariant(n));
  return out;
}

std::vector<Variant> ParityVariants() {
  return Variants({"nocache", "cached", "served", "writeback", "uring"});
}

}  // namespace ptfs::mounttest
