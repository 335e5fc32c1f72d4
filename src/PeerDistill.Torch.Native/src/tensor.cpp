// Tensors: creation from and copies to managed memory, queries, and the few ops the managed
// side needs outside models and losses.
#include "common.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace {

// Managed dtype codes (kept in sync with ScalarType.cs).
enum PdDType : int32_t { PD_FLOAT32 = 0, PD_INT64 = 1, PD_FLOAT16 = 2, PD_UINT8 = 3, PD_FLOAT64 = 4 };

torch::ScalarType to_scalar(int32_t dtype) {
  switch (dtype) {
    case PD_FLOAT32: return torch::kFloat32;
    case PD_INT64: return torch::kInt64;
    case PD_FLOAT16: return torch::kFloat16;
    case PD_UINT8: return torch::kUInt8;
    case PD_FLOAT64: return torch::kFloat64;
    default: pd::fail(PD_ERR_ARGUMENT, "unknown dtype code " + std::to_string(dtype));
  }
}

int32_t from_scalar(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return PD_FLOAT32;
    case torch::kInt64: return PD_INT64;
    case torch::kFloat16: return PD_FLOAT16;
    case torch::kUInt8: return PD_UINT8;
    case torch::kFloat64: return PD_FLOAT64;
    default: return -1;
  }
}

std::vector<int64_t> shape_of(const int64_t* shape, int32_t ndim) {
  pd::require(ndim >= 0 && ndim <= 16, "tensor rank must be 0..16, got " + std::to_string(ndim));
  pd::require(ndim == 0 || shape != nullptr, "null shape");
  std::vector<int64_t> out(shape, shape + ndim);
  for (int i = 0; i < ndim; ++i) {
    pd::require(out[i] >= 0, "negative size " + std::to_string(out[i]) + " in dimension " + std::to_string(i));
  }
  return out;
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

}  // namespace

// Copies `count` elements of `dtype` from data into a new CPU tensor of the given shape.
PD_API int32_t pd_tensor_from_data(const void* data, int64_t count, int32_t dtype, const int64_t* shape,
                                   int32_t ndim, PdTensor** out) {
  PD_TRY {
    auto dims = shape_of(shape, ndim);
    const auto n = numel_of(dims);
    pd::require(n == count, "shape holds " + std::to_string(n) + " elements but " + std::to_string(count) +
                                " were given");
    auto t = torch::empty(dims, torch::TensorOptions().dtype(to_scalar(dtype)));
    if (n > 0) {
      pd::require(data != nullptr, "null data pointer");
      std::memcpy(t.data_ptr(), data, static_cast<size_t>(n) * t.element_size());
    }
    *out = wrap(std::move(t));
  }
  PD_CATCH
}

// Wraps memory owned by the managed side without copying. `deleter(context)` is called once when
// libtorch releases the storage, which lets the managed side unpin its buffer.
PD_API int32_t pd_tensor_from_blob(void* data, int64_t count, int32_t dtype, const int64_t* shape, int32_t ndim,
                                   void (*deleter)(void*), void* context, PdTensor** out) {
  PD_TRY {
    auto dims = shape_of(shape, ndim);
    const auto n = numel_of(dims);
    pd::require(n == count, "shape holds " + std::to_string(n) + " elements but " + std::to_string(count) +
                                " were given");
    pd::require(data != nullptr || n == 0, "null data pointer");
    pd::require(deleter != nullptr, "null deleter");
    auto t = torch::from_blob(
        data, dims, [deleter, context](void*) { deleter(context); },
        torch::TensorOptions().dtype(to_scalar(dtype)));
    *out = wrap(std::move(t));
  }
  PD_CATCH
}

PD_API void pd_tensor_free(PdTensor* t) { delete t; }

PD_API int32_t pd_tensor_dim(PdTensor* t, int32_t* out) {
  PD_TRY { *out = static_cast<int32_t>(unwrap(t).dim()); }
  PD_CATCH
}

PD_API int32_t pd_tensor_shape(PdTensor* t, int64_t* out, int32_t capacity) {
  PD_TRY {
    auto& x = unwrap(t);
    pd::require(capacity >= x.dim(), "shape buffer too small");
    for (int64_t i = 0; i < x.dim(); ++i) out[i] = x.size(i);
  }
  PD_CATCH
}

PD_API int32_t pd_tensor_dtype(PdTensor* t, int32_t* out) {
  PD_TRY { *out = from_scalar(unwrap(t).scalar_type()); }
  PD_CATCH
}

PD_API int32_t pd_tensor_device(PdTensor* t, int32_t* type, int32_t* index) {
  PD_TRY {
    auto d = unwrap(t).device();
    *type = d.is_cuda() ? 1 : 0;
    *index = d.has_index() ? d.index() : -1;
  }
  PD_CATCH
}

// Copies the tensor's elements, converted to `dtype`, into dst (capacity in elements).
PD_API int32_t pd_tensor_copy_to(PdTensor* t, int32_t dtype, void* dst, int64_t capacity) {
  PD_TRY {
    auto x = unwrap(t).detach().to(torch::kCPU, to_scalar(dtype)).contiguous();
    pd::require(capacity >= x.numel(), "destination holds " + std::to_string(capacity) + " elements but the tensor has " +
                                           std::to_string(x.numel()));
    if (x.numel() > 0) std::memcpy(dst, x.data_ptr(), static_cast<size_t>(x.numel()) * x.element_size());
  }
  PD_CATCH
}

// Pointer to the elements of a contiguous CPU tensor, for zero-copy reads while the tensor lives.
PD_API int32_t pd_tensor_data_ptr(PdTensor* t, void** out) {
  PD_TRY {
    auto& x = unwrap(t);
    pd::require(x.device().is_cpu(), "data pointer requested for a tensor on " + x.device().str());
    pd::require(x.is_contiguous(), "data pointer requested for a non-contiguous tensor");
    *out = x.data_ptr();
  }
  PD_CATCH
}

PD_API int32_t pd_tensor_to(PdTensor* t, const char* device, int32_t dtype, PdTensor** out) {
  PD_TRY {
    auto d = pd::parse_device(device);
    auto& x = unwrap(t);
    *out = wrap(dtype < 0 ? x.to(d) : x.to(d, to_scalar(dtype)));
  }
  PD_CATCH
}

PD_API int32_t pd_tensor_detach(PdTensor* t, PdTensor** out) {
  PD_TRY { *out = wrap(unwrap(t).detach()); }
  PD_CATCH
}

PD_API int32_t pd_tensor_clone(PdTensor* t, PdTensor** out) {
  PD_TRY { *out = wrap(unwrap(t).clone()); }
  PD_CATCH
}

PD_API int32_t pd_tensor_item(PdTensor* t, double* out) {
  PD_TRY {
    auto& x = unwrap(t);
    pd::require(x.numel() == 1, "item() needs a tensor of one element, got " + std::to_string(x.numel()));
    *out = x.item<double>();
  }
  PD_CATCH
}

PD_API int32_t pd_tensor_set_requires_grad(PdTensor* t, int32_t value) {
  PD_TRY { unwrap(t).set_requires_grad(value != 0); }
  PD_CATCH
}

PD_API int32_t pd_tensor_requires_grad(PdTensor* t, int32_t* out) {
  PD_TRY { *out = unwrap(t).requires_grad() ? 1 : 0; }
  PD_CATCH
}

// Gradient of a leaf tensor; *out is null when it has none.
PD_API int32_t pd_tensor_grad(PdTensor* t, PdTensor** out) {
  PD_TRY {
    auto g = unwrap(t).grad();
    *out = g.defined() ? wrap(g) : nullptr;
  }
  PD_CATCH
}

PD_API int32_t pd_tensor_backward(PdTensor* t) {
  PD_TRY {
    auto& x = unwrap(t);
    pd::require(x.requires_grad(), "backward() on a tensor that does not require grad");
    x.backward();
  }
  PD_CATCH
}

PD_API int32_t pd_tensor_argmax(PdTensor* t, int64_t dim, PdTensor** out) {
  PD_TRY { *out = wrap(unwrap(t).argmax(dim)); }
  PD_CATCH
}

// softmax(x / temperature) along dim, without autograd history.
PD_API int32_t pd_tensor_softmax(PdTensor* t, int64_t dim, double temperature, PdTensor** out) {
  PD_TRY {
    pd::require(temperature > 0, "temperature must be positive");
    torch::NoGradGuard no_grad;
    *out = wrap(torch::softmax(unwrap(t) / temperature, dim));
  }
  PD_CATCH
}

// Weighted mean of same-shape tensors: sum(w_i * x_i) / sum(w_i).
PD_API int32_t pd_tensor_weighted_mean(PdTensor** items, const double* weights, int32_t count, PdTensor** out) {
  PD_TRY {
    pd::require(count > 0, "weighted mean of no tensors");
    torch::NoGradGuard no_grad;
    double total = 0;
    torch::Tensor acc;
    for (int32_t i = 0; i < count; ++i) {
      const double w = weights == nullptr ? 1.0 : weights[i];
      pd::require(w >= 0, "negative weight");
      auto& x = unwrap(items[i]);
      acc = i == 0 ? x * w : acc + x.to(acc.device()) * w;  // on the first item's device
      total += w;
    }
    pd::require(total > 0, "weights sum to zero");
    *out = wrap(acc / total);
  }
  PD_CATCH
}

// Fails with PD_ERR_NON_FINITE when the tensor holds a NaN or an infinity, or (max_abs > 0) a value
// whose magnitude exceeds max_abs.
PD_API int32_t pd_tensor_check_finite(PdTensor* t, double max_abs, const char* what) {
  PD_TRY {
    auto& x = unwrap(t);
    if (x.is_floating_point() && x.numel() > 0) {
      const double largest = x.detach().abs().max().item<double>();
      const std::string name = what == nullptr ? "tensor" : what;
      if (std::isnan(largest)) pd::fail(PD_ERR_NON_FINITE, name + " contains NaN");
      if (std::isinf(largest)) pd::fail(PD_ERR_NON_FINITE, name + " contains infinity");
      if (max_abs > 0 && largest > max_abs) {
        std::ostringstream m;
        m << name << " holds a value of magnitude " << largest << ", beyond the bound " << max_abs;
        pd::fail(PD_ERR_NON_FINITE, m.str());
      }
    }
  }
  PD_CATCH
}

// Normal(0,1) values from a private generator, for tests and synthetic inputs.
PD_API int32_t pd_tensor_randn(const int64_t* shape, int32_t ndim, int64_t seed, PdTensor** out) {
  PD_TRY {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
    *out = wrap(at::normal(0.0, 1.0, shape_of(shape, ndim), gen));
  }
  PD_CATCH
}

PD_API int32_t pd_tensor_matmul(PdTensor* a, PdTensor* b, PdTensor** out) {
  PD_TRY { *out = wrap(torch::matmul(unwrap(a), unwrap(b))); }
  PD_CATCH
}

PD_API int32_t pd_tensor_sum(PdTensor* t, PdTensor** out) {
  PD_TRY { *out = wrap(unwrap(t).sum()); }
  PD_CATCH
}

PD_API int32_t pd_tensor_mul_scalar(PdTensor* t, double s, PdTensor** out) {
  PD_TRY { *out = wrap(unwrap(t) * s); }
  PD_CATCH
}

PD_API int32_t pd_tensor_add(PdTensor* a, PdTensor* b, PdTensor** out) {
  PD_TRY { *out = wrap(unwrap(a) + unwrap(b)); }
  PD_CATCH
}

PD_API int32_t pd_tensor_reshape(PdTensor* t, const int64_t* shape, int32_t ndim, PdTensor** out) {
  PD_TRY {
    pd::require(ndim >= 0 && ndim <= 16 && (ndim == 0 || shape != nullptr), "invalid shape for reshape");
    *out = wrap(unwrap(t).reshape(std::vector<int64_t>(shape, shape + ndim)));
  }
  PD_CATCH
}

PD_API int32_t pd_tensor_equal(PdTensor* a, PdTensor* b, int32_t* out) {
  PD_TRY { *out = torch::equal(unwrap(a), unwrap(b)) ? 1 : 0; }
  PD_CATCH
}
