// Result<T>: a value or a positive errno. Errno: just the errno (0 = success).
//
// Positive errno values are data. They are captured right after the failing
// syscall and carried unchanged to the reply encoder, which alone negates them.
// Part of the public API (every FileSystem method answers with one); the
// whole project uses the same types.
#pragma once

#include <cassert>
#include <cerrno>
#include <utility>
#include <variant>

namespace ptfs {

// A positive errno; 0 means success.
class [[nodiscard]] Errno {
 public:
  constexpr Errno() = default;
  constexpr explicit Errno(int value) : value_(value) { assert(value >= 0); }
  static Errno Last() { return Errno(errno); }
  static constexpr Errno Ok() { return Errno(); }

  constexpr int value() const { return value_; }
  constexpr bool ok() const { return value_ == 0; }
  constexpr explicit operator bool() const { return value_ != 0; }  // true = error
  friend constexpr bool operator==(Errno a, Errno b) { return a.value_ == b.value_; }

 private:
  int value_ = 0;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Errno error) : state_(std::in_place_index<1>, error) { assert(!error.ok()); }  // NOLINT

  bool ok() const { return state_.index() == 0; }
  Errno error() const { return ok() ? Errno() : std::get<1>(state_); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Errno> state_;
};

// Returns the errno of a failed syscall result (-1) or Ok.
inline Errno CheckSys(long rc) { return rc < 0 ? Errno::Last() : Errno::Ok(); }

}  // namespace ptfs

// Propagate an error out of the current function.
#define PTFS_TRY(expr)                       \
  do {                                       \
    if (::ptfs::Errno ptfs_e_ = (expr)) {    \
      return ptfs_e_;                        \
    }                                        \
  } while (0)

#define PTFS_CONCAT_INNER(a, b) a##b
#define PTFS_CONCAT(a, b) PTFS_CONCAT_INNER(a, b)
#define PTFS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.error();               \
  lhs = std::move(tmp).value()
#define PTFS_ASSIGN_OR_RETURN(lhs, expr) \
  PTFS_ASSIGN_OR_RETURN_IMPL(PTFS_CONCAT(ptfs_r_, __LINE__), lhs, expr)
