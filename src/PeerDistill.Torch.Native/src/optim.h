#pragma once

#include "model.h"

#include <memory>

struct PdOptimizer {
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  int32_t kind = 0;  // PdOptimizerKind
};

namespace pd {
PdOptimizer* optimizer_handle(PdOptimizer* o);
}
