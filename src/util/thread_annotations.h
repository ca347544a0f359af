// Clang thread-safety annotations (checked with -Wthread-safety under clang,
// no-ops elsewhere), and a Mutex that carries them.
#pragma once

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define PTFS_TSA(x) __attribute__((x))
#else
#define PTFS_TSA(x)
#endif

#define CAPABILITY(x) PTFS_TSA(capability(x))
#define SCOPED_CAPABILITY PTFS_TSA(scoped_lockable)
#define GUARDED_BY(x) PTFS_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) PTFS_TSA(pt_guarded_by(x))
#define REQUIRES(...) PTFS_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) PTFS_TSA(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) PTFS_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) PTFS_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) PTFS_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) PTFS_TSA(release_shared_capability(__VA_ARGS__))
#define EXCLUDES(...) PTFS_TSA(locks_excluded(__VA_ARGS__))

namespace ptfs {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void LockShared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() RELEASE_SHARED() { mu_.unlock_shared(); }
  // BasicLockable, for std::condition_variable_any.
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::shared_mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(Mutex* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->LockShared(); }
  ~ReaderLock() RELEASE() { mu_->UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace ptfs
