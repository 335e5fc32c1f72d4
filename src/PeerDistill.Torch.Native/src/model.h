// A trainable model as the managed side sees it: a TorchScript module (built by the zoo or loaded
// from a file) plus its device, its random stream and the facts the shim checks inputs against.
#pragma once

#include "common.h"

#include <mutex>
#include <optional>

struct PdModel {
  torch::jit::Module module;
  std::string arch;                // zoo name, or "torchscript" for a loaded file
  torch::Device device = torch::kCPU;
  bool stochastic = false;         // forward in training mode draws random numbers (dropout)
  at::Generator generator;         // this model's own random stream for those draws
  std::vector<int64_t> input_shape;  // [C, H, W] expected by zoo models; empty when unknown
  int64_t classes = 0;             // output width for zoo models; 0 when unknown

  std::vector<torch::Tensor> parameters() const;
};

namespace pd {

// Serialises every use of the process-wide default generators (weight initialisation and the
// stochastic forwards), so that each model draws from its own stream whatever the other threads do.
std::mutex& rng_mutex();

// True when any method of the module (or its submodules) calls a random op.
bool module_is_stochastic(const torch::jit::Module& module);

// Builds a zoo model; throws pd::Error naming the unknown model or option.
torch::jit::Module build_zoo_model(const std::string& name, const std::string& options, int64_t channels,
                                   int64_t height, int64_t width, int64_t classes);

// Serialises the module (TorchScript archive) into bytes and back.
std::string module_to_bytes(const torch::jit::Module& module);
torch::jit::Module module_from_bytes(const std::string& bytes, const torch::Device& device);

PdModel* model_handle(PdModel* m);

// Runs one method of the model's module on x, drawing random numbers from the model's own stream
// in training mode (as forward does); the caller sets grad mode.
torch::jit::IValue run_method(PdModel* m, const std::string& method, const torch::Tensor& x);

// Checks that x is an input the model takes (shape for zoo models, device); throws pd::Error.
void check_input(const PdModel* m, const torch::Tensor& x);

}  // namespace pd
