// Paths relative to SOURCE, as the policy modules name them: "" is SOURCE
// itself, "a/b" a name two levels below it (FileSystem::PathOf's form).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ptfs::modules {

// `name` in the directory at `dir`.
inline std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string path(dir);
  if (!path.empty()) path += '/';
  path += name;
  return path;
}

// Whether `path` is `root` or lies below it.
inline bool IsAtOrUnder(std::string_view path, std::string_view root) {
  if (!path.starts_with(root)) return false;
  return path.size() == root.size() || root.empty() || path[root.size()] == '/';
}

// Whether `path` is a directory on the way to `root` (root lies strictly
// below it): moving it would move `root`.
inline bool LeadsTo(std::string_view path, std::string_view root) {
  return path.size() < root.size() && IsAtOrUnder(root, path);
}

// A path as a user gives it on the command line ("docs/", "/etc//x"),
// written in the form above: no leading, trailing or doubled '/'. Empty
// (with `why` set) when it names SOURCE itself or has a "." or ".."
// component, which would make "under PATH" ambiguous.
inline std::optional<std::string> NormalizeRelativePath(std::string_view text, std::string* why) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == '/') ++i;
    size_t end = text.find('/', i);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view part = text.substr(i, end - i);
    if (part == "." || part == "..") {
      *why = "must not have '.' or '..' components";
      return std::nullopt;
    }
    if (!part.empty()) out = JoinPath(out, part);
    i = end;
  }
  if (out.empty()) {
    *why = "names SOURCE itself";
    return std::nullopt;
  }
  return out;
}

}  // namespace ptfs::modules
