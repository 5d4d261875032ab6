// Batch normalization over the last dim, inference and training forms
// (PyTorch's BatchNorm1d semantics: biased batch variance to normalize,
// unbiased to update the running variance).
#include "frontend/layers/Layers.h"
#include "frontend/layers/LayersInternal.h"

namespace cairn {

BatchNorm::BatchNorm(ParamStore& ps, std::string name, int64_t channels, double eps,
                     double momentum)
    : ps_(&ps), name_(std::move(name)), eps_(eps), momentum_(momentum) {
  layers::checkPositive("BatchNorm", name_, "channels", channels);
  TensorType t(DType::F32, {channels});
  ps.declare({name_ + ".gamma", t, Init::Ones});
  ps.declare({name_ + ".beta", t, Init::Zeros});
  ps.declare({name_ + ".mean", t, Init::Zeros, 0.0, /*trainable=*/false});
  ps.declare({name_ + ".var", t, Init::Ones, 0.0, /*trainable=*/false});
}

namespace {

Val normalize(Val x, Val mean, Val var, Val gamma, Val beta, double eps) {
  Val centered = (x - mean).named("bn_centered");
  Val scale = sqrt(var + eps).named("bn_std");
  Val y = centered / scale;
  Val yg = y * gamma;
  return (yg + beta).named("bn_out");
}

} // namespace

Val BatchNorm::infer(Val x) const {
  if (!ps_) throw BuildError("BatchNorm: applied before construction");
  const ParamStore& ps = *ps_;
  Val gamma = ps[name_ + ".gamma"];
  layers::checkLastDim("BatchNorm", name_, x, gamma.size(0));
  return normalize(x, ps[name_ + ".mean"], ps[name_ + ".var"], gamma, ps[name_ + ".beta"], eps_);
}

BatchNorm::TrainResult BatchNorm::train(Val x) const {
  if (!ps_) throw BuildError("BatchNorm: applied before construction");
  const ParamStore& ps = *ps_;
  Val gamma = ps[name_ + ".gamma"];
  layers::checkLastDim("BatchNorm", name_, x, gamma.size(0));
  if (x.rank() < 2)
    throw BuildError(fmt::format("BatchNorm '{}': training needs a batch dim, got {}", name_,
                                 x.type().toString()));
  std::vector<int64_t> dims;
  Val count = x.builder().scalar(1, x.dtype());
  for (int64_t d = 0; d + 1 < x.rank(); ++d) {
    dims.push_back(d);
    Val n = x.size(d) == kDynamic ? cast(dim(x, d), x.dtype())
                                  : x.builder().scalar(static_cast<double>(x.size(d)), x.dtype());
    count = count * n;
  }
  count = count.named("bn_count");
  Val sum = reduceSum(x, dims);
  Val mean = (sum / count).named("bn_batch_mean");
  Val centered = x - mean;
  Val sq = centered * centered;
  Val sqSum = reduceSum(sq, dims);
  Val var = (sqSum / count).named("bn_batch_var");
  Val y = normalize(x, mean, var, gamma, ps[name_ + ".beta"], eps_);
  Val unbiased = var * count / (count - 1.0);
  Val keptMean = ps[name_ + ".mean"] * (1.0 - momentum_);
  Val newMean = (keptMean + mean * momentum_).named("bn_new_mean");
  Val keptVar = ps[name_ + ".var"] * (1.0 - momentum_);
  Val newVar = (keptVar + unbiased * momentum_).named("bn_new_var");
  return {y, newMean, newVar};
}

} // namespace cairn
