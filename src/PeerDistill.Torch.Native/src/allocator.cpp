// A caching CPU allocator for tensors. A training step allocates the same sizes every step
// (activations, gradients, temporaries); glibc serves large blocks with fresh mmaps, or from
// per-thread arenas that hand their pages back as soon as they are free, so every step would fault
// its working set in again (with two peer threads this cost half the CPU time in the kernel).
// Freed blocks of 64 KiB or more are kept by size and handed out again; smaller ones go straight
// to libtorch's allocator. The cache is bounded; past the bound, blocks are freed for real.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kMinCached = 64 * 1024;
constexpr size_t kRound = 4096;

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t max_cached) : max_cached_(max_cached) {}

  // c10::Allocator's interface changed across libtorch releases: allocate was const up to 2.2
  // and is not since, and 2.3 added the pure virtual copy_data. Both allocate overloads are
  // declared (without `override`) so that whichever the libtorch in use declares is overridden,
  // and copy_data is declared so that it overrides where it exists and is unused elsewhere.
  c10::DataPtr allocate(size_t n) { return allocate_block(n); }
  c10::DataPtr allocate(size_t n) const { return allocate_block(n); }
  void copy_data(void* dest, const void* src, size_t count) const { std::memcpy(dest, src, count); }

 private:
  c10::DataPtr allocate_block(size_t n) const {
    if (n < kMinCached) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &free_any, c10::Device(c10::DeviceType::CPU)};
    }
    const size_t size = (n + kRound - 1) / kRound * kRound;
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= size;
      }
    }
    if (p == nullptr) {
      p = c10::alloc_cpu(size);
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[p] = size;
    }
    return {p, p, &free_any, c10::Device(c10::DeviceType::CPU)};
  }

 public:
  // Also used by raw_allocate/raw_deallocate callers (oneDNN paths): one deleter for every block.
  c10::DeleterFnPtr raw_deleter() const override { return &free_any; }

  static CachingCpuAllocator& instance();

 private:
  static void free_any(void* p) { instance().release(p); }

  void release(void* p) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) {
      c10::free_cpu(p);
      return;
    }
    if (cached_bytes_ + it->second > max_cached_) {
      sizes_.erase(it);
      c10::free_cpu(p);
      return;
    }
    cached_bytes_ += it->second;
    free_[it->second].push_back(p);
  }

  const size_t max_cached_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, size_t> sizes_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable size_t cached_bytes_ = 0;
};

CachingCpuAllocator& CachingCpuAllocator::instance() {
  // Never destroyed: tensors may be freed during static destruction.
  static auto* allocator = new CachingCpuAllocator(static_cast<size_t>(2048) * 1024 * 1024);
  return *allocator;
}

}  // namespace

namespace pd {
void install_caching_allocator() {
  c10::SetAllocator(c10::DeviceType::CPU, &CachingCpuAllocator::instance(), /*priority=*/10);
}
}  // namespace pd
