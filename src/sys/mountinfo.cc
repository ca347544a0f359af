#include "sys/mountinfo.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

namespace ptfs::sys {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string_view oct = s.substr(i + 1, 3);
      if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string_view::npos) {
        out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    size_t end = line.find(' ', i);
    if (end == std::string_view::npos) end = line.size();
    fields.push_back(line.substr(i, end - i));
    i = end;
  }
  return fields;
}

// "." and ".." removed, '/' not doubled; `path` absolute.
std::string Clean(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t end = path.find('/', i);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(i, end - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = end + 1;
  }
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

}  // namespace

std::optional<std::string> MountInfo::SuperOption(std::string_view key) const {
  size_t i = 0;
  while (i <= super_options.size()) {
    size_t end = super_options.find(',', i);
    if (end == std::string::npos) end = super_options.size();
    const std::string_view opt = std::string_view(super_options).substr(i, end - i);
    if (opt.starts_with(key) && opt.size() > key.size() && opt[key.size()] == '=') {
      return std::string(opt.substr(key.size() + 1));
    }
    i = end + 1;
  }
  return std::nullopt;
}

std::optional<MountInfo> ParseMountInfoLine(std::string_view line) {
  // id parent major:minor root mount_point options [optional...] - type source super
  const std::vector<std::string_view> f = Fields(line);
  size_t dash = 6;
  while (dash < f.size() && f[dash] != "-") ++dash;
  if (f.size() < 6 || dash + 2 >= f.size()) return std::nullopt;
  MountInfo m;
  const std::string dev(f[2]);
  if (sscanf(dev.c_str(), "%u:%u", &m.major, &m.minor) != 2) return std::nullopt;
  if (sscanf(std::string(f[0]).c_str(), "%u", &m.id) != 1) return std::nullopt;
  m.root = Unescape(f[3]);
  m.mount_point = Unescape(f[4]);
  m.fstype = Unescape(f[dash + 1]);
  m.source = Unescape(f[dash + 2]);
  if (dash + 3 < f.size()) m.super_options = Unescape(f[dash + 3]);
  return m;
}

std::vector<MountInfo> ReadMountInfo(const std::string& path) {
  std::vector<MountInfo> mounts;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (auto m = ParseMountInfoLine(line)) mounts.push_back(std::move(*m));
  }
  return mounts;
}

std::string MountPointPath(const std::string& path) {
  std::string abs = path;
  if (abs.empty() || abs[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) != nullptr) abs = std::string(cwd) + "/" + abs;
  }
  abs = Clean(abs);
  if (abs == "/") return abs;
  const size_t slash = abs.rfind('/');
  const std::string parent = slash == 0 ? "/" : abs.substr(0, slash);
  const std::string last = abs.substr(slash + 1);
  char resolved[PATH_MAX];
  if (::realpath(parent.c_str(), resolved) == nullptr) return abs;
  const std::string dir(resolved);
  return dir == "/" ? "/" + last : dir + "/" + last;
}

std::optional<MountInfo> FindMount(const std::vector<MountInfo>& mounts, const std::string& path) {
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) {
    if (it->mount_point == path) return *it;
  }
  return std::nullopt;
}

}  // namespace ptfs::sys
