// Models: creation (zoo or TorchScript file), forward, modes, devices, parameters, export.
#include "model.h"

#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/serialization/import.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <unordered_set>

char* pd_dup_string(const std::string& s);

std::vector<torch::Tensor> PdModel::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters(/*recurse=*/true)) out.push_back(p);
  return out;
}

namespace pd {

std::mutex& rng_mutex() {
  static std::mutex m;
  return m;
}

bool module_is_stochastic(const torch::jit::Module& module) {
  static const std::unordered_set<std::string> random_ops = {
      "aten::dropout",  "aten::dropout_",   "aten::feature_dropout", "aten::alpha_dropout",
      "aten::feature_alpha_dropout", "aten::bernoulli", "aten::bernoulli_", "aten::rand",
      "aten::rand_like", "aten::randn",     "aten::randn_like",      "aten::randint",
      "aten::randint_like", "aten::randperm", "aten::normal",       "aten::normal_",
      "aten::uniform_", "aten::multinomial", "aten::rrelu",          "aten::rrelu_"};
  // Walks nested blocks too (ops inside if/loop bodies).
  std::function<bool(const torch::jit::Block*)> block_has_random = [&](const torch::jit::Block* block) {
    for (const auto* node : block->nodes()) {
      if (random_ops.count(node->kind().toQualString()) > 0) return true;
      for (const auto* inner : node->blocks()) {
        if (block_has_random(inner)) return true;
      }
    }
    return false;
  };
  auto scan = [&](const torch::jit::Module& m) {
    for (const auto& method : m.get_methods()) {
      // Inline a copy so that calls into functions (F.dropout in scripted PyTorch code) are seen.
      auto graph = method.graph()->copy();
      torch::jit::Inline(*graph);
      if (block_has_random(graph->block())) return true;
    }
    return false;
  };
  for (const auto& sub : module.modules()) {
    if (scan(sub)) return true;
  }
  return false;
}

std::string module_to_bytes(const torch::jit::Module& module) {
  std::ostringstream s;
  module.save(s);
  return s.str();
}

torch::jit::Module module_from_bytes(const std::string& bytes, const torch::Device& device) {
  std::istringstream s(bytes);
  return torch::jit::load(s, device);
}

torch::jit::IValue run_method(PdModel* m, const std::string& method, const torch::Tensor& input) {
  auto fn = m->module.get_method(method);
  // Inputs come from host memory (batches, evaluation sets); a model on a GPU takes them there.
  const auto x = input.device() == m->device ? input : input.to(m->device);
  if (m->stochastic && m->module.is_training()) {
    // Draw from this model's stream: swap it in as the default generator for this call only.
    std::lock_guard<std::mutex> lock(rng_mutex());
    at::Generator global = at::globalContext().defaultGenerator(m->device);  // shares the default impl
    auto saved = global.clone();
    global.set_state(m->generator.get_state());
    torch::jit::IValue result;
    try {
      result = fn({x});
    } catch (...) {
      global.set_state(saved.get_state());
      throw;
    }
    m->generator.set_state(global.get_state());
    global.set_state(saved.get_state());
    return result;
  }
  return fn({x});
}

PdModel* model_handle(PdModel* m) {
  if (m == nullptr) fail(PD_ERR_ARGUMENT, "null model handle");
  return m;
}

}  // namespace pd

namespace {

PdModel* finish_model(torch::jit::Module module, const std::string& arch, const torch::Device& device,
                      int64_t seed) {
  auto* m = new PdModel();
  m->module = std::move(module);
  m->arch = arch;
  m->device = device;
  m->module.to(device);
  m->module.train(true);
  m->stochastic = pd::module_is_stochastic(m->module);
  m->generator = at::globalContext().defaultGenerator(device).clone();
  m->generator.set_current_seed(static_cast<uint64_t>(seed));
  return m;
}

std::string shape_str(const torch::Tensor& x) {
  std::ostringstream s;
  s << x.sizes();
  return s.str();
}

}  // namespace

namespace pd {

void check_input(const PdModel* m, const torch::Tensor& x) {
  if (!m->input_shape.empty()) {
    const auto& s = m->input_shape;
    if (x.dim() != 4 || x.size(1) != s[0] || x.size(2) != s[1] || x.size(3) != s[2]) {
      fail(PD_ERR_ARGUMENT, "model '" + m->arch + "' expects input [N, " + std::to_string(s[0]) + ", " +
                                std::to_string(s[1]) + ", " + std::to_string(s[2]) + "], got " + shape_str(x));
    }
  }
  if (x.device() != m->device) {
    fail(PD_ERR_ARGUMENT, "input is on " + x.device().str() + " but the model is on " + m->device.str());
  }
}

}  // namespace pd

// Builds a model of the zoo. options: "key=value;key=value" (see zoo.cpp for the keys).
// Weights are initialised from `seed`, identically whatever other threads are doing.
PD_API int32_t pd_model_create(const char* name, const char* options, int64_t channels, int64_t height, int64_t width,
                               int64_t classes, int64_t seed, const char* device, PdModel** out) {
  PD_TRY {
    pd::require(name != nullptr, "null model name");
    auto dev = pd::parse_device(device == nullptr ? "cpu" : device);
    torch::jit::Module module;
    {
      std::lock_guard<std::mutex> lock(pd::rng_mutex());
      torch::manual_seed(static_cast<uint64_t>(seed));
      module = pd::build_zoo_model(name, options == nullptr ? "" : options, channels, height, width, classes);
    }
    auto* m = finish_model(std::move(module), name, dev, seed);
    m->input_shape = {channels, height, width};
    m->classes = classes;
    *out = m;
  }
  PD_CATCH
}

// Loads a TorchScript file (torch.jit.save from PyTorch, or peerdistill export) as a trainable model.
PD_API int32_t pd_model_load_script(const char* path, const char* device, int64_t seed, PdModel** out) {
  PD_TRY {
    pd::require(path != nullptr, "null path");
    auto dev = pd::parse_device(device == nullptr ? "cpu" : device);
    {
      std::ifstream probe(path, std::ios::binary);
      if (!probe) pd::fail(PD_ERR_IO, std::string("cannot open TorchScript file '") + path + "'");
    }
    torch::jit::Module module;
    try {
      module = torch::jit::load(path, dev);
    } catch (const c10::Error& e) {
      pd::fail(PD_ERR_IO, std::string("'") + path + "' is not a loadable TorchScript file: " + e.what_without_backtrace());
    }
    pd::require(module.find_method("forward").has_value(), std::string("TorchScript module in '") + path + "' has no forward method");
    *out = finish_model(std::move(module), "torchscript", dev, seed);
  }
  PD_CATCH
}

PD_API void pd_model_free(PdModel* m) { delete m; }

// Forward pass returning logits. grad == 0 runs under no_grad (evaluation).
PD_API int32_t pd_model_forward(PdModel* handle, PdTensor* input, int32_t grad, PdTensor** out) {
  PD_TRY {
    auto* m = pd::model_handle(handle);
    auto& x = unwrap(input);
    pd::check_input(m, x);
    std::optional<torch::NoGradGuard> no_grad;
    if (grad == 0) no_grad.emplace();
    auto result = pd::run_method(m, "forward", x);
    pd::require(result.isTensor(), "model forward returned " + result.tagKind() + ", expected a tensor of logits");
    auto logits = result.toTensor();
    if (m->classes > 0 && (logits.dim() != 2 || logits.size(1) != m->classes)) {
      pd::fail(PD_ERR_ARGUMENT, "model '" + m->arch + "' returned logits " + shape_str(logits) + ", expected [N, " +
                                    std::to_string(m->classes) + "]");
    }
    *out = wrap(std::move(logits));
  }
  PD_CATCH
}

PD_API int32_t pd_model_set_training(PdModel* m, int32_t training) {
  PD_TRY { pd::model_handle(m)->module.train(training != 0); }
  PD_CATCH
}

PD_API int32_t pd_model_is_training(PdModel* m, int32_t* out) {
  PD_TRY { *out = pd::model_handle(m)->module.is_training() ? 1 : 0; }
  PD_CATCH
}

PD_API int32_t pd_model_is_stochastic(PdModel* m, int32_t* out) {
  PD_TRY { *out = pd::model_handle(m)->stochastic ? 1 : 0; }
  PD_CATCH
}

PD_API int32_t pd_model_parameter_count(PdModel* m, int64_t* total, int64_t* trainable) {
  PD_TRY {
    int64_t all = 0, train = 0;
    for (const auto& p : pd::model_handle(m)->parameters()) {
      all += p.numel();
      if (p.requires_grad()) train += p.numel();
    }
    *total = all;
    *trainable = train;
  }
  PD_CATCH
}

PD_API int32_t pd_model_arch(PdModel* m, char** out) {
  PD_TRY { *out = pd_dup_string(pd::model_handle(m)->arch); }
  PD_CATCH
}

PD_API int32_t pd_model_device(PdModel* m, char** out) {
  PD_TRY { *out = pd_dup_string(pd::model_handle(m)->device.str()); }
  PD_CATCH
}

// Number of named state entries (parameters first, then buffers).
PD_API int32_t pd_model_state_count(PdModel* m, int32_t* out) {
  PD_TRY {
    auto* model = pd::model_handle(m);
    int32_t n = 0;
    for (const auto& p : model->module.named_parameters()) { (void)p; ++n; }
    for (const auto& b : model->module.named_buffers()) { (void)b; ++n; }
    *out = n;
  }
  PD_CATCH
}

// The index-th state entry: its dotted name, whether it is a parameter, and the live tensor.
PD_API int32_t pd_model_state_get(PdModel* m, int32_t index, char** name, int32_t* is_parameter, PdTensor** out) {
  PD_TRY {
    auto* model = pd::model_handle(m);
    int32_t i = 0;
    for (const auto& p : model->module.named_parameters()) {
      if (i++ == index) {
        *name = pd_dup_string(p.name);
        *is_parameter = 1;
        *out = wrap(p.value);
        return PD_OK;
      }
    }
    for (const auto& b : model->module.named_buffers()) {
      if (i++ == index) {
        *name = pd_dup_string(b.name);
        *is_parameter = 0;
        *out = wrap(b.value);
        return PD_OK;
      }
    }
    pd::fail(PD_ERR_ARGUMENT, "state index " + std::to_string(index) + " out of range");
  }
  PD_CATCH
}

// Writes the model as a TorchScript file that torch.jit.load in PyTorch can read.
PD_API int32_t pd_model_save_script(PdModel* m, const char* path) {
  PD_TRY {
    auto* model = pd::model_handle(m);
    pd::require(path != nullptr, "null path");
    const std::string tmp = std::string(path) + ".tmp";
    try {
      model->module.save(tmp);
    } catch (const c10::Error& e) {
      pd::fail(PD_ERR_IO, std::string("cannot write '") + path + "': " + e.what_without_backtrace());
    }
    if (std::rename(tmp.c_str(), path) != 0) pd::fail(PD_ERR_IO, std::string("cannot move file into place at '") + path + "'");
  }
  PD_CATCH
}

// What a training-mode forward pass changes in a model besides the autograd graph: its buffers
// (batch-norm running statistics) and its random stream (dropout). Captured before a step, it lets
// a step that is abandoned half way (its peer stopped while waiting for teachers) be undone, so the
// checkpoint written then is exactly the state after the last completed step.
struct PdStepState {
  std::vector<torch::Tensor> buffers;
  torch::Tensor generator;  // undefined when the model draws no random numbers
};

PD_API int32_t pd_model_capture_step_state(PdModel* handle, PdStepState** out) {
  PD_TRY {
    auto* m = pd::model_handle(handle);
    auto state = std::make_unique<PdStepState>();
    torch::NoGradGuard no_grad;
    for (const auto& b : m->module.named_buffers()) state->buffers.push_back(b.value.detach().clone());
    if (m->stochastic) state->generator = m->generator.get_state();
    *out = state.release();
  }
  PD_CATCH
}

PD_API int32_t pd_model_restore_step_state(PdModel* handle, PdStepState* state) {
  PD_TRY {
    auto* m = pd::model_handle(handle);
    pd::require(state != nullptr, "null step state");
    torch::NoGradGuard no_grad;
    size_t i = 0;
    for (const auto& b : m->module.named_buffers()) {
      pd::require(i < state->buffers.size(), "the step state was captured from another model");
      b.value.copy_(state->buffers[i++]);
    }
    pd::require(i == state->buffers.size(), "the step state was captured from another model");
    if (state->generator.defined()) m->generator.set_state(state->generator);
  }
  PD_CATCH
}

PD_API void pd_model_step_state_free(PdStepState* state) { delete state; }
