// ParamStore: declaration, binding to function arguments, deterministic
// initialization and .npy exchange of a model's parameters (see Params.h).
#include "frontend/layers/Params.h"

#include <filesystem>
#include <system_error>

#include "kernels/reference/Random.h"
#include "runtime/Npy.h"

namespace cairn {

void ParamStore::declare(ParamSpec spec) {
  if (spec.name.empty()) throw BuildError("parameter: empty name");
  for (const ParamSpec& s : specs_)
    if (s.name == spec.name)
      throw BuildError(fmt::format("parameter '{}' declared twice", spec.name));
  if (!spec.type.hasStaticShape())
    throw BuildError(
        fmt::format("parameter '{}': shape {} is not static", spec.name, spec.type.toString()));
  if (spec.init == Init::Uniform && !(spec.scale >= 0))
    throw BuildError(
        fmt::format("parameter '{}': uniform scale {} is negative", spec.name, spec.scale));
  specs_.push_back(std::move(spec));
}

std::vector<TensorType> ParamStore::types() const {
  std::vector<TensorType> out;
  for (const ParamSpec& s : specs_)
    out.push_back(s.type);
  return out;
}

std::vector<std::string> ParamStore::names() const {
  std::vector<std::string> out;
  for (const ParamSpec& s : specs_)
    out.push_back(s.name);
  return out;
}

void ParamStore::bind(FunctionBuilder& fb, size_t firstArg) {
  if (firstArg + specs_.size() > fb.numArgs())
    throw BuildError(fmt::format("parameters: {} parameters from argument {} but @{} has {} "
                                 "arguments",
                                 specs_.size(), firstArg, fb.function().name, fb.numArgs()));
  std::map<std::string, Val> bound;
  for (size_t i = 0; i < specs_.size(); ++i) {
    Val a = fb.arg(firstArg + i);
    if (a.type() != specs_[i].type)
      throw BuildError(fmt::format("parameter '{}' is {} but argument {} of @{} is {}",
                                   specs_[i].name, specs_[i].type.toString(), firstArg + i,
                                   fb.function().name, a.type().toString()));
    bound.emplace(specs_[i].name, a);
  }
  bound_ = std::move(bound);
}

Val ParamStore::operator[](const std::string& name) const {
  auto it = bound_.find(name);
  if (it != bound_.end()) return it->second;
  for (const ParamSpec& s : specs_)
    if (s.name == name)
      throw BuildError(fmt::format("parameter '{}' is declared but not bound (call bind())", name));
  throw BuildError(fmt::format("unknown parameter '{}'", name));
}

std::vector<Tensor> ParamStore::initialize(uint64_t seed) const {
  std::vector<Tensor> out;
  out.reserve(specs_.size());
  for (size_t i = 0; i < specs_.size(); ++i) {
    const ParamSpec& s = specs_[i];
    Tensor t(s.type);
    switch (s.init) {
    case Init::Zeros:
      break;
    case Init::Ones:
      for (int64_t k = 0; k < t.numElements(); ++k)
        t.setDouble(k, 1.0);
      break;
    case Init::Uniform: {
      // Key = seed; the counter's high word = parameter index, so each
      // parameter owns 2^32 Philox blocks (2^34 numbers) of its own and
      // adding a parameter leaves the others' values unchanged.
      Tensor state = Tensor::fromInts(TensorType(DType::I64, {2}),
                                      {static_cast<int64_t>(seed), static_cast<int64_t>(i) << 32});
      auto r = kernels::rngUniform(state, TensorType(DType::F32, s.type.shape));
      CAIRN_CHECK(r.isOk(), "{}", r.status().message());
      const Tensor& u = r->values;
      for (int64_t k = 0; k < t.numElements(); ++k)
        t.setDouble(k, (2.0 * u.getDouble(k) - 1.0) * s.scale);
      break;
    }
    }
    out.push_back(std::move(t));
  }
  return out;
}

Status saveParams(const std::string& dir, const ParamStore& store,
                  const std::vector<Tensor>& values) {
  if (values.size() != store.size())
    return errorf("saveParams: {} values for {} parameters", values.size(), store.size());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errorf("saveParams: cannot create '{}': {}", dir, ec.message());
  for (size_t i = 0; i < values.size(); ++i) {
    const ParamSpec& s = store.specs()[i];
    if (values[i].type() != s.type)
      return errorf("saveParams: parameter '{}' is {} but the value is {}", s.name,
                    s.type.toString(), values[i].type().toString());
    CAIRN_RETURN_IF_ERROR(
        writeNpy((std::filesystem::path(dir) / (s.name + ".npy")).string(), values[i]));
  }
  return Status::ok();
}

StatusOr<std::vector<Tensor>> loadParams(const std::string& dir, const ParamStore& store) {
  std::vector<Tensor> out;
  out.reserve(store.size());
  for (const ParamSpec& s : store.specs()) {
    std::string path = (std::filesystem::path(dir) / (s.name + ".npy")).string();
    CAIRN_ASSIGN_OR_RETURN(Tensor t, readNpy(path));
    if (t.type() != s.type)
      return errorf("loadParams: '{}' holds {} but parameter '{}' is {}", path, t.type().toString(),
                    s.name, s.type.toString());
    out.push_back(std::move(t));
  }
  return out;
}

} // namespace cairn
