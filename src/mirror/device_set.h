// DeviceSet: the few devices (SOURCE's filesystem and those mounted inside
// it) that a watch covers, tested on hot paths without a lock. Added to under
// the owner's mutex, never emptied.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ptfs::mirror {

class DeviceSet {
 public:
  static constexpr size_t kMax = 16;

  bool Contains(uint64_t dev) const {
    for (const auto& d : devs_) {
      const uint64_t v = d.load(std::memory_order_acquire);
      if (v == 0) return false;
      if (v == dev + 1) return true;
    }
    return false;
  }
  // REQUIRES: the owner's mutex (no concurrent Add).
  bool Full() const { return devs_[kMax - 1].load(std::memory_order_relaxed) != 0; }
  // REQUIRES: the owner's mutex, !Full().
  void Add(uint64_t dev) {
    size_t slot = 0;
    while (devs_[slot].load(std::memory_order_relaxed) != 0) ++slot;
    devs_[slot].store(dev + 1, std::memory_order_release);
  }

 private:
  std::array<std::atomic<uint64_t>, kMax> devs_{};  // dev + 1; 0 = free
};

}  // namespace ptfs::mirror
