// Distillation losses, computed with autograd: cross-entropy (optional label smoothing) plus
// temperature-scaled KL(teacher || student) * T^2 (Hinton et al. 2015), the teacher being one or
// more peers' logits combined pairwise (mean of KLs, as in deep mutual learning) or as an ensemble
// (KL to the weighted mean of the peers' softened probabilities).
#include "common.h"

#include <cmath>
#include <sstream>

namespace {

enum TeacherForm : int32_t { PD_TEACHER_PAIRWISE = 0, PD_TEACHER_ENSEMBLE = 1 };
enum Combine : int32_t { PD_COMBINE_CONVEX = 0, PD_COMBINE_ADDITIVE = 1 };

std::string sizes(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// How far below its row's maximum a softened logit may lie: further down, its probability is 0 in
// float anyway (exp(-104) underflows), and a floor keeps every log-probability finite.
constexpr double kSoftenedFloor = 1e4;

// z / T, row by row, finite for every finite z. A row whose scaled values overflow float, or whose
// spread does (logits near the float limit, T < 1), is shifted by its maximum first, in double, and
// floored at -kSoftenedFloor; softmax and log_softmax do not see a shift of a row, so only the
// overflow goes away. Every other row is z / T exactly, with its gradient.
torch::Tensor soften(const torch::Tensor& z, double temperature) {
  auto scaled = z / temperature;
  auto spread = std::get<0>(scaled.max(1, /*keepdim=*/true)) - std::get<0>(scaled.min(1, /*keepdim=*/true));
  auto safe = torch::isfinite(spread);
  // The common case: nothing overflows, nothing else to compute (the step syncs on the loss anyway).
  if (safe.all().item<bool>()) return scaled;
  auto wide = z.to(torch::kDouble);
  auto shifted = ((wide - std::get<0>(wide.max(1, /*keepdim=*/true))) / temperature).clamp_min(-kSoftenedFloor).to(z.scalar_type());
  return torch::where(safe, scaled, shifted);
}

// A teacher's softened probabilities, as constants, on the student's device and in its dtype
// (teachers' logits arrive in host memory from the exchange).
torch::Tensor teacher_probs(PdTensor* teacher, const torch::Tensor& logits, double temperature) {
  return torch::softmax(soften(unwrap(teacher).detach().to(logits.device(), logits.scalar_type()), temperature), 1);
}

// KL(target || softmax(student)) averaged over the batch; student given as log-probabilities.
torch::Tensor kl_batchmean(const torch::Tensor& log_student, const torch::Tensor& target_probs) {
  return torch::kl_div(log_student, target_probs, at::Reduction::Sum) / log_student.size(0);
}

// The checks both distillation losses make of their inputs and settings.
void check_loss_args(const torch::Tensor& logits, const torch::Tensor& targets, double temperature, double alpha,
                     int32_t form, int32_t combine, double label_smoothing) {
  pd::require(logits.dim() == 2, "logits must be [batch, classes], got " + sizes(logits));
  pd::require(targets.dim() == 1 && targets.size(0) == logits.size(0),
              "targets must be [" + std::to_string(logits.size(0)) + "], got " + sizes(targets));
  pd::require(targets.scalar_type() == torch::kInt64, "targets must be int64 class indices");
  pd::require(temperature > 0, "temperature must be positive, got " + std::to_string(temperature));
  pd::require((alpha >= 0 && alpha <= 1 + 1e-12) || combine == PD_COMBINE_ADDITIVE,
              "alpha must be in [0, 1] for the convex combination, got " + std::to_string(alpha));
  pd::require(alpha >= 0, "alpha must not be negative, got " + std::to_string(alpha));
  pd::require(label_smoothing >= 0 && label_smoothing < 1, "label smoothing must be in [0, 1)");
  pd::require(form == PD_TEACHER_PAIRWISE || form == PD_TEACHER_ENSEMBLE, "unknown teacher form " + std::to_string(form));
  pd::require(combine == PD_COMBINE_CONVEX || combine == PD_COMBINE_ADDITIVE, "unknown combine mode " + std::to_string(combine));
}

// With check_finite, a NaN or infinite total is PD_ERR_NON_FINITE naming both terms; then the
// outputs: detached CE and KD (0 when there is no KD term), and the total with its graph.
void finish_loss(torch::Tensor total, const torch::Tensor& ce, const torch::Tensor& kd, const torch::Tensor& logits,
                 int32_t check_finite, PdTensor** out_total, PdTensor** out_ce, PdTensor** out_kd) {
  if (check_finite != 0) {
    const double value = total.detach().item<double>();
    if (!std::isfinite(value)) {
      std::ostringstream m;
      m << "loss is " << (std::isnan(value) ? "NaN" : "infinite") << " (cross-entropy " << ce.detach().item<double>();
      if (kd.defined()) m << ", distillation " << kd.detach().item<double>();
      m << ")";
      pd::fail(PD_ERR_NON_FINITE, m.str());
    }
  }
  if (out_ce != nullptr) *out_ce = wrap(ce.detach());
  if (out_kd != nullptr) *out_kd = kd.defined() ? wrap(kd.detach()) : wrap(torch::zeros({}, logits.options().requires_grad(false)));
  *out_total = wrap(std::move(total));
}

}  // namespace

// total = (1 - alpha) * CE + alpha * KD   (combine = convex)
//       = CE + alpha * KD                 (combine = additive, the DML form; alpha = 1 gives CE + KD)
// with KD = T^2 * sum_i w_i KL(p_i || p_s) / sum_i w_i   (form = pairwise)
//      KD = T^2 * KL(sum_i w_i p_i / sum_i w_i || p_s)   (form = ensemble)
// where p = softmax(z / T), computed so that KD is finite for any finite logits (see soften). Teachers are detached. With no teachers the total is CE.
// out_ce / out_kd (optional) receive detached scalars; check_finite != 0 turns a NaN or infinite
// total into PD_ERR_NON_FINITE.
PD_API int32_t pd_loss_distill(PdTensor* logits_h, PdTensor* targets_h, PdTensor** teachers, const double* weights,
                               int32_t n_teachers, double temperature, double alpha, int32_t form, int32_t combine,
                               double label_smoothing, int32_t check_finite, PdTensor** out_total, PdTensor** out_ce,
                               PdTensor** out_kd) {
  PD_TRY {
    auto& logits = unwrap(logits_h);
    const auto targets = unwrap(targets_h).to(logits.device());  // labels may come from host memory
    check_loss_args(logits, targets, temperature, alpha, form, combine, label_smoothing);
    pd::require(n_teachers >= 0, "negative teacher count");

    auto ce = torch::nn::functional::cross_entropy(
        logits, targets, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing));

    torch::Tensor total = ce;
    torch::Tensor kd;
    if (n_teachers > 0) {
      double weight_sum = 0;
      for (int32_t i = 0; i < n_teachers; ++i) {
        const double w = weights == nullptr ? 1.0 : weights[i];
        pd::require(w >= 0, "teacher " + std::to_string(i) + " has negative weight " + std::to_string(w));
        weight_sum += w;
        const auto& t = unwrap(teachers[i]);
        pd::require(t.sizes() == logits.sizes(),
                    "teacher " + std::to_string(i) + " logits " + sizes(t) + " do not match student logits " + sizes(logits));
      }
      pd::require(weight_sum > 0, "teacher weights sum to zero");
      auto log_student = torch::log_softmax(soften(logits, temperature), 1);
      if (form == PD_TEACHER_PAIRWISE) {
        for (int32_t i = 0; i < n_teachers; ++i) {
          const double w = (weights == nullptr ? 1.0 : weights[i]) / weight_sum;
          auto p = teacher_probs(teachers[i], logits, temperature);
          auto term = kl_batchmean(log_student, p) * w;
          kd = i == 0 ? term : kd + term;
        }
      } else {
        torch::Tensor mix;
        for (int32_t i = 0; i < n_teachers; ++i) {
          const double w = (weights == nullptr ? 1.0 : weights[i]) / weight_sum;
          auto p = teacher_probs(teachers[i], logits, temperature) * w;
          mix = i == 0 ? p : mix + p;
        }
        kd = kl_batchmean(log_student, mix);
      }
      kd = kd * (temperature * temperature);
      total = combine == PD_COMBINE_CONVEX ? ce * (1.0 - alpha) + kd * alpha : ce + kd * alpha;
    }

    finish_loss(std::move(total), ce, kd, logits, check_finite, out_total, out_ce, out_kd);
  }
  PD_CATCH
}

// The same loss with a weight per sample and teacher: sample_weights is [batch, teachers] (any
// float dtype, non-negative, each row summing to more than 0; rows are normalized to sum 1), so
//   KD = T^2 / B * sum_b sum_i w_bi KL(p_i,b || p_s,b)     (form = pairwise)
//   KD = T^2 / B * sum_b KL(sum_i w_bi p_i,b || p_s,b)     (form = ensemble)
// with w_bi = sample_weights[b, i] / sum_j sample_weights[b, j]. A row of equal weights gives
// pd_loss_distill's value. The weights are detached (constants of the step). Per-sample teacher
// weights are what entropy- and correctness-based multi-teacher distillation compute.
PD_API int32_t pd_loss_distill_per_sample(PdTensor* logits_h, PdTensor* targets_h, PdTensor** teachers,
                                          PdTensor* sample_weights_h, int32_t n_teachers, double temperature, double alpha,
                                          int32_t form, int32_t combine, double label_smoothing, int32_t check_finite,
                                          PdTensor** out_total, PdTensor** out_ce, PdTensor** out_kd) {
  PD_TRY {
    auto& logits = unwrap(logits_h);
    const auto targets = unwrap(targets_h).to(logits.device());  // labels may come from host memory
    check_loss_args(logits, targets, temperature, alpha, form, combine, label_smoothing);
    pd::require(n_teachers > 0, "per-sample weights need at least one teacher");
    pd::require(sample_weights_h != nullptr, "null sample weights");
    auto raw = unwrap(sample_weights_h).detach();
    pd::require(raw.dim() == 2 && raw.size(0) == logits.size(0) && raw.size(1) == n_teachers,
                "sample weights must be [" + std::to_string(logits.size(0)) + ", " + std::to_string(n_teachers) + "], got " + sizes(raw));
    pd::require(raw.is_floating_point(), "sample weights must be floating point");
    auto w = raw.to(logits.device(), logits.scalar_type());
    pd::require(torch::isfinite(w).all().item<bool>(), "sample weights must be finite");
    pd::require((w >= 0).all().item<bool>(), "sample weights must not be negative");
    auto row_sums = w.sum(1, /*keepdim=*/true);
    pd::require((row_sums > 0).all().item<bool>(), "every row of the sample weights must sum to more than zero");
    w = w / row_sums;
    for (int32_t i = 0; i < n_teachers; ++i) {
      const auto& t = unwrap(teachers[i]);
      pd::require(t.sizes() == logits.sizes(),
                  "teacher " + std::to_string(i) + " logits " + sizes(t) + " do not match student logits " + sizes(logits));
    }

    auto ce = torch::nn::functional::cross_entropy(
        logits, targets, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing));
    auto log_student = torch::log_softmax(soften(logits, temperature), 1);
    const auto batch = static_cast<double>(logits.size(0));
    torch::Tensor kd;
    if (form == PD_TEACHER_PAIRWISE) {
      for (int32_t i = 0; i < n_teachers; ++i) {
        auto p = teacher_probs(teachers[i], logits, temperature);
        // KL per sample: sum over classes of p (log p - log q), 0 where p is 0 (as kl_div does).
        auto per_sample = torch::kl_div(log_student, p, at::Reduction::None).sum(1);
        auto term = (per_sample * w.select(1, i)).sum() / batch;
        kd = i == 0 ? term : kd + term;
      }
    } else {
      torch::Tensor mix;
      for (int32_t i = 0; i < n_teachers; ++i) {
        auto p = teacher_probs(teachers[i], logits, temperature) * w.select(1, i).unsqueeze(1);
        mix = i == 0 ? p : mix + p;
      }
      kd = kl_batchmean(log_student, mix);
    }
    kd = kd * (temperature * temperature);
    torch::Tensor total = combine == PD_COMBINE_CONVEX ? ce * (1.0 - alpha) + kd * alpha : ce + kd * alpha;

    finish_loss(std::move(total), ce, kd, logits, check_finite, out_total, out_ce, out_kd);
  }
  PD_CATCH
}

// The hint term of FitNets (Romero et al. 2015): the mean squared error between a student's
// projected intermediate output and a teacher's (detached), mean over every element.
PD_API int32_t pd_loss_hint(PdTensor* student_h, PdTensor* teacher_h, PdTensor** out) {
  PD_TRY {
    auto& student = unwrap(student_h);
    auto teacher = unwrap(teacher_h).detach().to(student.device(), student.scalar_type());
    pd::require(student.sizes() == teacher.sizes(),
                "the student's projected output " + sizes(student) + " does not match the teacher's " + sizes(teacher));
    *out = wrap(torch::mse_loss(student, teacher));
  }
  PD_CATCH
}
