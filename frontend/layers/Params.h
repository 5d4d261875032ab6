// ParamStore: the parameters of a model, declared by its layers.
//
// Building a model is two-phase, like Flax/Haiku: constructing the layers
// declares their parameters (name, type, initializer) in a ParamStore; then
// the model's FunctionBuilder is made with the data inputs followed by one
// argument per parameter (in declaration order, named by the parameter), and
// bind() connects the names to those arguments so layers can apply themselves.
// docs/models.md lists every layer's parameters.
//
// Thread-safety: none; one store per model being built.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frontend/Builder.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn {

enum class Init {
  Zeros,
  Ones,
  Uniform, ///< U(-scale, scale)
};

struct ParamSpec {
  std::string name;
  TensorType type; ///< static shape
  Init init = Init::Uniform;
  double scale = 0.1;
  bool trainable = true; ///< false for running statistics
};

class ParamStore {
public:
  /// Declares a parameter; throws BuildError when the name is taken or the
  /// shape is not static.
  void declare(ParamSpec spec);
  const std::vector<ParamSpec>& specs() const { return specs_; }
  std::vector<TensorType> types() const;
  std::vector<std::string> names() const;
  size_t size() const { return specs_.size(); }

  /// Binds parameter i to argument firstArg + i of `fb`, checking types.
  void bind(FunctionBuilder& fb, size_t firstArg);
  /// The bound argument of parameter `name`; throws BuildError when unknown
  /// or not bound.
  Val operator[](const std::string& name) const;

  /// Deterministic initial values: parameter i draws from a Philox stream
  /// keyed by (seed, i), so adding a parameter does not change the others.
  std::vector<Tensor> initialize(uint64_t seed) const;

private:
  std::vector<ParamSpec> specs_;
  std::map<std::string, Val> bound_;
};

/// Writes `<dir>/<name>.npy` for each parameter (creating `dir`).
Status saveParams(const std::string& dir, const ParamStore& store,
                  const std::vector<Tensor>& values);
/// Reads `<dir>/<name>.npy` for each parameter, checking dtype and shape.
StatusOr<std::vector<Tensor>> loadParams(const std::string& dir, const ParamStore& store);

} // namespace cairn
