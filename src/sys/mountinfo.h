// /proc/self/mountinfo, as the status command and the daemon read it to
// find a mount by its mount point (proc(5)).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptfs::sys {

struct MountInfo {
  unsigned id = 0;     // the mount's id (first field)
  unsigned major = 0;  // the superblock's device: FUSE mounts have major 0 and
  unsigned minor = 0;  // the connection's number as minor
  std::string root;         // the directory of the filesystem mounted there ("/": its root)
  std::string mount_point;  // unescaped ("\040" is a space)
  std::string fstype;       // "fuse.passthroughfs"
  std::string source;       // the fsname
  std::string super_options;  // "rw,user_id=1000,group_id=1000,..."

  // The value of a superblock option ("user_id"), if present.
  std::optional<std::string> SuperOption(std::string_view key) const;
};

// One line of mountinfo; nullopt if it does not have the documented shape.
std::optional<MountInfo> ParseMountInfoLine(std::string_view line);
// Every mount of this process's mount namespace, in mount order (a mount
// over another comes after it).
std::vector<MountInfo> ReadMountInfo(const std::string& path = "/proc/self/mountinfo");

// `path` made absolute and lexically clean, with symlinks resolved in every
// component but the last, without touching the last: stat(2) of a FUSE
// mount's root asks its daemon, which may be hung or dead. This is how
// mountinfo names a mount point, as long as the last component is not a
// symlink itself (mounting follows it; then pass it resolved).
std::string MountPointPath(const std::string& path);

// The topmost mount whose mount point is `path` (MountPointPath's form).
std::optional<MountInfo> FindMount(const std::vector<MountInfo>& mounts, const std::string& path);

}  // namespace ptfs::sys
