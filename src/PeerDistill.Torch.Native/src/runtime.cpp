// Process and thread settings: intra-op threads, devices, seeds, build information.
#include "common.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#if PD_HAVE_DEVICE_ALLOCATOR_STATS
#include <c10/core/CachingDeviceAllocator.h>
#endif

#include <malloc.h>

#include <cstdlib>
#include <sstream>

char* pd_dup_string(const std::string& s);

namespace pd {
void install_caching_allocator();

torch::Device parse_device(const std::string& spec) {
  torch::Device device = torch::kCPU;
  try {
    device = torch::Device(spec);
  } catch (const c10::Error&) {
    fail(PD_ERR_ARGUMENT, "invalid device '" + spec + "' (expected cpu, cuda or cuda:N)");
  }
  if (device.is_cuda()) {
    // "cuda" is cuda:0, as in the cluster's slot descriptors; every model knows its index.
    if (!device.has_index()) device = torch::Device(torch::kCUDA, 0);
    if (!torch::cuda::is_available()) {
      fail(PD_ERR_DEVICE, "device '" + spec + "' requested but CUDA is not available (libtorch " +
                              std::string(TORCH_VERSION) + " sees no CUDA device)");
    }
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    if (device.has_index() && device.index() >= count) {
      fail(PD_ERR_DEVICE, "device '" + spec + "' requested but only " + std::to_string(count) +
                              " CUDA device(s) are visible");
    }
  } else if (!device.is_cpu()) {
    fail(PD_ERR_ARGUMENT, "unsupported device '" + spec + "' (expected cpu, cuda or cuda:N)");
  }
  return device;
}
}  // namespace pd

// One-time settings: models run through the plain TorchScript interpreter (no profiling or
// fusion passes), so that every op and its gradient is the same kernel eager PyTorch would call.
//
// It also installs the caching CPU allocator (allocator.cpp), so that each training step reuses the
// previous step's blocks instead of faulting fresh pages in, and keeps glibc from serving blocks
// under 32 MiB with mmap or returning the heap's top under 512 MiB of free space. Set
// PEERDISTILL_MALLOC_TUNING=0 to keep libtorch's and glibc's defaults.
PD_API int32_t pd_runtime_init() {
  PD_TRY {
    const char* tuning = std::getenv("PEERDISTILL_MALLOC_TUNING");
    if (tuning == nullptr || std::string(tuning) != "0") {
      pd::install_caching_allocator();
      mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
      mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
    }
    torch::jit::getExecutorMode() = false;
    torch::jit::getProfilingMode() = false;
    torch::jit::setGraphExecutorOptimize(false);
  }
  PD_CATCH
}

// Sets the intra-op thread count. With the OpenMP backend the count applies to parallel regions
// started from the calling thread, so each peer thread sets its own budget.
PD_API int32_t pd_set_num_threads(int32_t n) {
  PD_TRY {
    pd::require(n > 0, "thread count must be positive, got " + std::to_string(n));
    at::set_num_threads(n);
  }
  PD_CATCH
}

PD_API int32_t pd_get_num_threads(int32_t* out) {
  PD_TRY { *out = at::get_num_threads(); }
  PD_CATCH
}

PD_API int32_t pd_manual_seed(int64_t seed) {
  PD_TRY { torch::manual_seed(static_cast<uint64_t>(seed)); }
  PD_CATCH
}

PD_API int32_t pd_cuda_device_count(int32_t* out) {
  PD_TRY { *out = torch::cuda::is_available() ? static_cast<int32_t>(torch::cuda::device_count()) : 0; }
  PD_CATCH
}

// Memory statistics of a CUDA device's caching allocator, in bytes: currently allocated to
// tensors, the most allocated since the last reset, reserved from the device (allocated plus
// cached), and the most reserved. With reset != 0 the peaks start again from the current values.
PD_API int32_t pd_cuda_memory_stats(const char* spec, int32_t reset, int64_t* allocated, int64_t* peak_allocated,
                                    int64_t* reserved, int64_t* peak_reserved) {
  PD_TRY {
    pd::require(spec != nullptr, "null device string");
    const auto device = pd::parse_device(spec);
    if (!device.is_cuda()) {
      pd::fail(PD_ERR_ARGUMENT, "memory statistics are kept for CUDA devices only, not for '" + std::string(spec) + "'");
    }
#if PD_HAVE_DEVICE_ALLOCATOR_STATS
    const auto index = device.has_index() ? device.index() : static_cast<c10::DeviceIndex>(0);
    // Initialises CUDA and the device's allocator if nothing has run on it yet.
    (void)torch::empty({1}, torch::TensorOptions().device(torch::kCUDA, index));
    auto* allocator = c10::getDeviceAllocator(c10::DeviceType::CUDA);
    const auto s = allocator->getDeviceStats(index);
    *allocated = s.allocated_bytes[0].current;  // [0]: the aggregate over all pools
    *peak_allocated = s.allocated_bytes[0].peak;
    *reserved = s.reserved_bytes[0].current;
    *peak_reserved = s.reserved_bytes[0].peak;
    if (reset != 0) allocator->resetPeakStats(index);
#else
    (void)reset, (void)allocated, (void)peak_allocated, (void)reserved, (void)peak_reserved;
    pd::fail(PD_ERR_DEVICE, "this shim was built against libtorch " + std::string(TORCH_VERSION) +
                                ", which has no device allocator statistics (c10::DeviceAllocator, libtorch 2.8 and newer)");
#endif
  }
  PD_CATCH
}

PD_API int32_t pd_check_device(const char* spec) {
  PD_TRY {
    pd::require(spec != nullptr, "null device string");
    pd::parse_device(spec);
  }
  PD_CATCH
}

PD_API int32_t pd_build_info(char** out) {
  PD_TRY {
    std::ostringstream s;
    s << "libtorch " << TORCH_VERSION << "; " << at::get_parallel_info();
    *out = pd_dup_string(s.str());
  }
  PD_CATCH
}
