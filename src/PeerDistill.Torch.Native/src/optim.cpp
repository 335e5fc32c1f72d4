// Optimizers over a model's parameters: SGD (momentum, dampening, Nesterov, weight decay), Adam
// and AdamW. The learning rate is set from the managed schedule before each step.
#include "optim.h"

namespace {
enum PdOptimizerKind : int32_t { PD_SGD = 0, PD_ADAM = 1, PD_ADAMW = 2 };
}

namespace pd {
PdOptimizer* optimizer_handle(PdOptimizer* o) {
  if (o == nullptr) fail(PD_ERR_ARGUMENT, "null optimizer handle");
  return o;
}
}  // namespace pd

// hyper: [lr, momentum, dampening, weight_decay, beta1, beta2, eps]; flags: bit 0 nesterov, bit 1 amsgrad.
PD_API int32_t pd_optim_create(PdModel* model, int32_t kind, const double* hyper, int32_t flags, PdOptimizer** out) {
  PD_TRY {
    auto* m = pd::model_handle(model);
    pd::require(hyper != nullptr, "null hyper-parameters");
    const double lr = hyper[0], momentum = hyper[1], dampening = hyper[2], weight_decay = hyper[3];
    const double beta1 = hyper[4], beta2 = hyper[5], eps = hyper[6];
    pd::require(lr >= 0, "learning rate must not be negative, got " + std::to_string(lr));
    pd::require(weight_decay >= 0, "weight decay must not be negative, got " + std::to_string(weight_decay));
    std::vector<torch::Tensor> params;
    for (auto& p : m->parameters()) {
      if (p.requires_grad()) params.push_back(p);
    }
    pd::require(!params.empty(), "model '" + m->arch + "' has no trainable parameters");
    auto* o = new PdOptimizer();
    o->kind = kind;
    switch (kind) {
      case PD_SGD: {
        pd::require(momentum >= 0, "momentum must not be negative");
        const bool nesterov = (flags & 1) != 0;
        pd::require(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum needs momentum > 0 and dampening 0");
        o->optimizer = std::make_unique<torch::optim::SGD>(
            params, torch::optim::SGDOptions(lr).momentum(momentum).dampening(dampening).weight_decay(weight_decay).nesterov(nesterov));
        break;
      }
      case PD_ADAM:
      case PD_ADAMW: {
        pd::require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam betas must be in [0, 1)");
        pd::require(eps > 0, "Adam eps must be positive");
        const bool amsgrad = (flags & 2) != 0;
        if (kind == PD_ADAM) {
          o->optimizer = std::make_unique<torch::optim::Adam>(
              params, torch::optim::AdamOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad));
        } else {
          o->optimizer = std::make_unique<torch::optim::AdamW>(
              params, torch::optim::AdamWOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad));
        }
        break;
      }
      default:
        delete o;
        pd::fail(PD_ERR_ARGUMENT, "unknown optimizer kind " + std::to_string(kind));
    }
    *out = o;
  }
  PD_CATCH
}

PD_API void pd_optim_free(PdOptimizer* o) { delete o; }

PD_API int32_t pd_optim_zero_grad(PdOptimizer* o) {
  PD_TRY {
    // Drop the gradients instead of zeroing them: backward then writes fresh ones without a
    // zero-fill pass (what PyTorch's zero_grad(set_to_none=True) does).
    for (auto& group : pd::optimizer_handle(o)->optimizer->param_groups()) {
      for (auto& p : group.params()) p.mutable_grad().reset();
    }
  }
  PD_CATCH
}

PD_API int32_t pd_optim_step(PdOptimizer* o) {
  PD_TRY { pd::optimizer_handle(o)->optimizer->step(); }
  PD_CATCH
}

PD_API int32_t pd_optim_set_lr(PdOptimizer* o, double lr) {
  PD_TRY {
    pd::require(lr >= 0, "learning rate must not be negative, got " + std::to_string(lr));
    for (auto& group : pd::optimizer_handle(o)->optimizer->param_groups()) group.options().set_lr(lr);
  }
  PD_CATCH
}

PD_API int32_t pd_optim_get_lr(PdOptimizer* o, double* out) {
  PD_TRY { *out = pd::optimizer_handle(o)->optimizer->param_groups().at(0).options().get_lr(); }
  PD_CATCH
}
