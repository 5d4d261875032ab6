// Linear, Embedding and Mlp: the affine building blocks of every model.
#include "frontend/layers/Layers.h"
#include "frontend/layers/LayersInternal.h"

namespace cairn {
namespace layers {

void checkLastDim(std::string_view layer, std::string_view name, const Val& x, int64_t expected,
                  const char* what) {
  if (!x.valid()) throw BuildError(fmt::format("{} '{}': {} is not a value", layer, name, what));
  if (x.rank() < 1 || (x.size(-1) != kDynamic && x.size(-1) != expected))
    throw BuildError(fmt::format("{} '{}': {} {} must end in a dim of size {}", layer, name, what,
                                 x.type().toString(), expected));
  if (!isFloat(x.dtype()))
    throw BuildError(fmt::format("{} '{}': {} {} must be a float tensor", layer, name, what,
                                 x.type().toString()));
}

void checkPositive(std::string_view layer, std::string_view name, const char* what, int64_t size) {
  if (size <= 0)
    throw BuildError(fmt::format("{} '{}': {} must be positive, got {}", layer, name, what, size));
}

} // namespace layers

Linear::Linear(ParamStore& ps, std::string name, int64_t in, int64_t out, bool bias)
    : in(in), out(out), ps_(&ps), name_(std::move(name)), bias_(bias) {
  layers::checkPositive("Linear", name_, "in", in);
  layers::checkPositive("Linear", name_, "out", out);
  ps.declare({name_ + ".weight", TensorType(DType::F32, {in, out})});
  if (bias_) ps.declare({name_ + ".bias", TensorType(DType::F32, {out})});
}

Val Linear::operator()(Val x) const {
  if (!ps_) throw BuildError("Linear: applied before construction");
  layers::checkLastDim("Linear", name_, x, in);
  Val y = matmul(x, (*ps_)[name_ + ".weight"]);
  if (bias_) y = y + (*ps_)[name_ + ".bias"];
  return y;
}

Embedding::Embedding(ParamStore& ps, std::string name, int64_t vocab, int64_t dim)
    : vocab(vocab), dim(dim), ps_(&ps), name_(std::move(name)) {
  layers::checkPositive("Embedding", name_, "vocab", vocab);
  layers::checkPositive("Embedding", name_, "dim", dim);
  ps.declare({name_ + ".weight", TensorType(DType::F32, {vocab, dim})});
}

Val Embedding::operator()(Val ids) const {
  if (!ps_) throw BuildError("Embedding: applied before construction");
  if (!ids.valid() || !isInteger(ids.dtype()))
    throw BuildError(fmt::format("Embedding '{}': ids must be an i32/i64 tensor", name_));
  return gather((*ps_)[name_ + ".weight"], ids, 0);
}

Mlp::Mlp(ParamStore& ps, std::string name, int64_t in, int64_t hidden, int64_t layers,
         int64_t out) {
  if (layers < 0) throw BuildError(fmt::format("Mlp '{}': layers must be >= 0", name));
  int64_t width = in;
  for (int64_t k = 0; k < layers; ++k) {
    linears_.emplace_back(ps, fmt::format("{}.{}", name, k), width, hidden);
    width = hidden;
  }
  linears_.emplace_back(ps, fmt::format("{}.{}", name, layers), width, out);
}

Val Mlp::operator()(Val x) const {
  if (linears_.empty()) throw BuildError("Mlp: applied before construction");
  for (size_t k = 0; k + 1 < linears_.size(); ++k)
    x = relu(linears_[k](x));
  return linears_.back()(x);
}

} // namespace cairn
