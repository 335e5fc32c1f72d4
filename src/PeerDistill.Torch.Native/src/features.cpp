// Named intermediate outputs of a model (the zoo's models define forward_features and list
// feature_names, see zoo.cpp) and the learned projection through which a student's output is
// compared with a teacher's in a hint term (FitNets, Romero et al. 2015): a 1x1 convolution for
// [N, C, H, W] outputs, a linear map for [N, C] ones, registered as the submodule
// hint_projection so that the student's optimizer trains it and its checkpoints keep it.
#include "model.h"

#include <algorithm>
#include <cmath>
#include <sstream>

char* pd_dup_string(const std::string& s);

namespace {

const char* const kProjection = "hint_projection";

std::vector<std::string> feature_names(const PdModel* m) {
  std::vector<std::string> names;
  if (!m->module.hasattr("feature_names")) return names;
  for (const auto& v : m->module.attr("feature_names").toListRef()) names.push_back(v.toStringRef());
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

// The model's named outputs, comma-separated ("" when it has none).
PD_API int32_t pd_model_feature_names(PdModel* handle, char** out) {
  PD_TRY {
    std::string text;
    for (const auto& n : feature_names(pd::model_handle(handle))) text += (text.empty() ? "" : ",") + n;
    *out = pd_dup_string(text);
  }
  PD_CATCH
}

// One forward pass giving the logits and the named output `name` from the same ops (and the same
// random draws) as forward. grad == 0 runs under no_grad.
PD_API int32_t pd_model_forward_features(PdModel* handle, PdTensor* input, int32_t grad, const char* name, PdTensor** out_logits,
                                         PdTensor** out_feature) {
  PD_TRY {
    auto* m = pd::model_handle(handle);
    pd::require(name != nullptr, "null output name");
    auto& x = unwrap(input);
    pd::check_input(m, x);
    const auto names = feature_names(m);
    if (names.empty() || !m->module.find_method("forward_features").has_value()) {
      pd::fail(PD_ERR_ARGUMENT, "model '" + m->arch + "' has no named outputs (the zoo's models have them)");
    }
    const auto it = std::find(names.begin(), names.end(), std::string(name));
    if (it == names.end()) {
      pd::fail(PD_ERR_ARGUMENT, "model '" + m->arch + "' has no output '" + name + "' (its outputs: " + join(names) + ")");
    }
    std::optional<torch::NoGradGuard> no_grad;
    if (grad == 0) no_grad.emplace();
    auto result = pd::run_method(m, "forward_features", x);
    pd::require(result.isTensorList(), "forward_features returned " + result.tagKind() + ", expected a list of tensors");
    auto outputs = result.toTensorVector();
    pd::require(outputs.size() == names.size() + 1, "forward_features returned " + std::to_string(outputs.size()) +
                                                         " tensors for " + std::to_string(names.size()) + " names and the logits");
    *out_feature = wrap(outputs[static_cast<size_t>(it - names.begin())]);
    *out_logits = wrap(outputs.back());
  }
  PD_CATCH
}

// Adds the hint projection from `in_channels` to `out_channels` (spatial != 0: a 1x1 convolution
// with bias; else a linear map), initialised as PyTorch initialises Conv2d/Linear, from `seed`.
PD_API int32_t pd_model_add_hint_projection(PdModel* handle, int64_t in_channels, int64_t out_channels, int32_t spatial,
                                            int64_t seed) {
  PD_TRY {
    auto* m = pd::model_handle(handle);
    pd::require(in_channels > 0 && out_channels > 0 && in_channels <= 65536 && out_channels <= 65536,
                "hint projection channels must be in [1, 65536], got " + std::to_string(in_channels) + " -> " +
                    std::to_string(out_channels));
    pd::require(!m->module.hasattr(kProjection), "model '" + m->arch + "' already has a hint projection");
    torch::jit::Module p(c10::QualifiedName("__torch__.peerdistill.HintProjection"),
                         std::make_shared<torch::jit::CompilationUnit>(), /*shouldMangle=*/true);
    p.register_attribute("training", c10::BoolType::get(), m->module.is_training());
    auto weight = spatial != 0 ? torch::empty({out_channels, in_channels, 1, 1}) : torch::empty({out_channels, in_channels});
    auto bias = torch::empty({out_channels});
    {
      // kaiming_uniform_(a = sqrt(5)) as nn.Conv2d and nn.Linear do: bound 1 / sqrt(fan_in) for both.
      torch::NoGradGuard no_grad;
      auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
      const double bound = 1.0 / std::sqrt(static_cast<double>(in_channels));
      weight.uniform_(-bound, bound, generator);
      bias.uniform_(-bound, bound, generator);
    }
    weight.set_requires_grad(true);
    bias.set_requires_grad(true);
    p.register_parameter("weight", weight, /*is_buffer=*/false);
    p.register_parameter("bias", bias, /*is_buffer=*/false);
    p.define(spatial != 0 ? "def forward(self, x):\n    return torch.conv2d(x, self.weight, self.bias, [1, 1], [0, 0], [1, 1], 1)\n"
                          : "def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
    p.to(m->device);
    // The projection joins the model inside a new wrapper module whose type is made here, before
    // its methods are compiled: adding a submodule to the model's own type after its methods were
    // compiled would break the type. forward and forward_features go through to the model
    // unchanged; parameter names gain the prefix "model.".
    torch::jit::Module wrapper(c10::QualifiedName("__torch__.peerdistill.HintStudent"),
                               std::make_shared<torch::jit::CompilationUnit>(), /*shouldMangle=*/true);
    wrapper.register_attribute("training", c10::BoolType::get(), m->module.is_training());
    wrapper.register_module("model", m->module);
    wrapper.register_module(kProjection, p);
    if (m->module.hasattr("feature_names")) {
      wrapper.register_attribute("feature_names", c10::ListType::ofStrings(), m->module.attr("feature_names"));
    }
    wrapper.define("def forward(self, x):\n    return self.model.forward(x)\n");
    if (m->module.find_method("forward_features").has_value()) {
      wrapper.define("def forward_features(self, x):\n    return self.model.forward_features(x)\n");
    }
    m->module = wrapper;
  }
  PD_CATCH
}

// The hint projection applied to a student's output (with autograd).
PD_API int32_t pd_model_project_hint(PdModel* handle, PdTensor* feature, PdTensor** out) {
  PD_TRY {
    auto* m = pd::model_handle(handle);
    pd::require(m->module.hasattr(kProjection), "model '" + m->arch + "' has no hint projection");
    auto p = m->module.attr(kProjection).toModule();
    auto result = p.forward({unwrap(feature)});
    *out = wrap(result.toTensor());
  }
  PD_CATCH
}
