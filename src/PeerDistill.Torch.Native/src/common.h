// Shared machinery of the PeerDistill native shim: export macro, error codes and the
// try/catch wrapper that every exported function goes through.
#pragma once

#include <torch/torch.h>
#include <torch/script.h>
// Named explicitly: newer libtorch releases trim what torch/torch.h brings in.
#include <torch/nn.h>
#include <torch/optim.h>
#include <torch/serialize.h>
#include <torch/version.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#define PD_API extern "C" __attribute__((visibility("default")))

// Error codes returned by every exported function. The managed side maps them to
// TorchErrorKind and raises TorchException with the message from pd_take_error().
enum PdStatus : int32_t {
  PD_OK = 0,
  PD_ERR_TORCH = 1,          // c10::Error raised by libtorch (shape mismatch, bad dtype, ...)
  PD_ERR_ARGUMENT = 2,       // invalid argument detected by the shim
  PD_ERR_IO = 3,             // file missing, unreadable or corrupt
  PD_ERR_DEVICE = 4,         // device unavailable (CUDA asked for where there is none)
  PD_ERR_NON_FINITE = 5,     // NaN or infinity where a finite value was required
  PD_ERR_STD = 6,            // other std::exception
  PD_ERR_UNKNOWN = 99,       // anything else thrown across the boundary
};

namespace pd {

// Errors the shim raises itself; each carries the status code it maps to.
struct Error : std::runtime_error {
  Error(PdStatus code, const std::string& message) : std::runtime_error(message), code(code) {}
  PdStatus code;
};

[[noreturn]] inline void fail(PdStatus code, const std::string& message) { throw Error(code, message); }
inline void require(bool condition, const std::string& message) {
  if (!condition) fail(PD_ERR_ARGUMENT, message);
}

// Records the message of the current thread's last error; returns the code for convenience.
int32_t set_error(int32_t code, const std::string& message);

// Parses a device string ("cpu", "cuda", "cuda:N") and checks it exists.
torch::Device parse_device(const std::string& spec);

}  // namespace pd

// Every exported function body is wrapped by PD_TRY { ... } PD_CATCH so that no C++ exception
// ever crosses the C ABI.
#define PD_TRY try
#define PD_CATCH                                                              \
  catch (const pd::Error& e) { return pd::set_error(e.code, e.what()); }      \
  catch (const c10::Error& e) {                                               \
    return pd::set_error(PD_ERR_TORCH, e.what_without_backtrace());           \
  }                                                                           \
  catch (const std::invalid_argument& e) { return pd::set_error(PD_ERR_ARGUMENT, e.what()); } \
  catch (const std::exception& e) { return pd::set_error(PD_ERR_STD, e.what()); } \
  catch (...) { return pd::set_error(PD_ERR_UNKNOWN, "unknown native exception"); } \
  return PD_OK;

// Opaque handle types handed to the managed side.
struct PdTensor {
  torch::Tensor t;
};

struct PdModel;
struct PdOptimizer;

inline PdTensor* wrap(torch::Tensor t) { return new PdTensor{std::move(t)}; }
inline torch::Tensor& unwrap(PdTensor* h) {
  if (h == nullptr) pd::fail(PD_ERR_ARGUMENT, "null tensor handle");
  return h->t;
}
