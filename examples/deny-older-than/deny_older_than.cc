// ptfs-deny-older-than: passthroughfs plus one module of its own,
// --deny-older-than=DAYS (also -o deny_older_than=DAYS): files last
// modified more than DAYS days ago cannot be changed through the mount.
// Opening one for writing or with O_TRUNC, changing its attributes
// (truncate, chmod, chown, utimes), removing it, renaming it or renaming
// onto it answers EACCES. Reading, and everything about newer files and
// directories, stays as passthroughfs serves it (kernel passthrough
// included: a refused open never reaches the data path). The age is
// checked at each request, so an open file stays writable.
//
// Built against the installed libptfs; see README.md.
#include <ptfs/daemon.h>
#include <ptfs/module.h>

#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

class DenyOlderThan final : public ptfs::Module {
 public:
  DenyOlderThan(ptfs::FileSystem* inner, long days) : Module(inner), max_age_(days * 86400) {}

  ptfs::Result<ptfs::Opened> Open(const ptfs::Context& ctx, ptfs::NodeId node,
                                  ptfs::OpenFlags flags) override {
    const bool writes = flags.access_mode() != O_RDONLY || (flags.posix & O_TRUNC) != 0;
    if (writes && Old(ctx, node)) return ptfs::Errno(EACCES);
    return Module::Open(ctx, node, flags);
  }
  // open(O_CREAT) comes here instead of to Open when the kernel believes
  // the name absent (its lookup raced with a file created in SOURCE, or it
  // remembered the name as absent): it would open, and with O_TRUNC
  // truncate, an existing file.
  ptfs::Result<ptfs::Created> Create(const ptfs::Context& ctx, ptfs::NodeId parent,
                                     std::string_view name, ptfs::OpenFlags flags, uint32_t mode,
                                     uint32_t umask) override {
    const bool exclusive = (flags.posix & O_EXCL) != 0;  // EEXIST below, as natively
    if (!exclusive && OldName(ctx, parent, name)) return ptfs::Errno(EACCES);
    return Module::Create(ctx, parent, name, flags, mode, umask);
  }
  ptfs::Result<ptfs::Attr> SetAttr(const ptfs::Context& ctx, ptfs::NodeId node,
                                   const ptfs::SetAttrIn& in) override {
    if (Old(ctx, node)) return ptfs::Errno(EACCES);
    return Module::SetAttr(ctx, node, in);
  }
  ptfs::Errno Unlink(const ptfs::Context& ctx, ptfs::NodeId parent,
                     std::string_view name) override {
    if (OldName(ctx, parent, name)) return ptfs::Errno(EACCES);
    return Module::Unlink(ctx, parent, name);
  }
  ptfs::Errno Rename(const ptfs::Context& ctx, ptfs::NodeId parent, std::string_view name,
                     ptfs::NodeId new_parent, std::string_view new_name,
                     ptfs::RenameFlags flags) override {
    if (OldName(ctx, parent, name) || OldName(ctx, new_parent, new_name)) {
      return ptfs::Errno(EACCES);
    }
    return Module::Rename(ctx, parent, name, new_parent, new_name, flags);
  }
  // Where the kernel offers inode passthrough, it must not change
  // attributes without asking (docs/modules.md).
  ptfs::BackingId AttachInodeBacking(ptfs::NodeId node, uint32_t inode_ops) override {
    return Module::AttachInodeBacking(node, inode_ops & ~ptfs::kInodeOpSetattr);
  }

 private:
  bool Old(const struct statx& st) const {
    return !S_ISDIR(st.stx_mode) && st.stx_mtime.tv_sec < std::time(nullptr) - max_age_;
  }
  bool Old(const ptfs::Context& ctx, ptfs::NodeId node) {
    auto attr = Module::GetAttr(ctx, node, nullptr);
    return attr.ok() && Old(attr->attr);
  }
  // Whether `name` in `parent` is an old file. The lookup's reference is
  // given back at once: this module passes no entry up.
  bool OldName(const ptfs::Context& ctx, ptfs::NodeId parent, std::string_view name) {
    auto entry = inner()->Lookup(ctx, parent, name);
    if (!entry.ok() || entry->node.value == 0) return false;
    const bool old = Old(entry->attr);
    inner()->Forget(entry->node, 1);
    return old;
  }

  const long max_age_;  // seconds
};

// "30" -> 30; anything but a whole number of days from 1 to 36500 is an error.
long ParseDays(const std::string& value) {
  size_t end = 0;
  long days = 0;
  try {
    days = std::stol(value, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end == 0 || end != value.size() || days < 1 || days > 36500) {
    throw std::invalid_argument("must be a whole number of days from 1 to 36500, got '" + value +
                                "'");
  }
  return days;
}

}  // namespace

int main(int argc, char** argv) {
  return ptfs::RunDaemon(
      argc, argv,
      {{.name = "deny-older-than",
        .value_name = "DAYS",
        .help = "policy: files last modified more than DAYS days ago cannot be written, "
                "truncated, changed, removed or renamed through the mount (EACCES)",
        .load = [](const std::string& value) -> ptfs::ModuleChain::Factory {
          const long days = ParseDays(value);
          return [days](ptfs::FileSystem* inner) {
            return std::make_unique<DenyOlderThan>(inner, days);
          };
        }}});
}
