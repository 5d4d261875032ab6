// bindWeights (ServedModel.h): a model whose named arguments are bound to
// tensors loaded once, so requests carry only data.
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "ServedModel.h"
#include "runtime/Safetensors.h"
#include "runtime/reference/OpEval.h"

namespace cairn::serve {
namespace {

/// `t` lent, not copied (Tensor::borrow): the weights and the request's
/// inputs outlive the run, and a run never writes its inputs. A copy here
/// cost 13 MB of memcpy per batch of the 300-wide SPINN (4% of the
/// batching server's time). Written as an `if`: in `cond ? borrow() : t`
/// the result is a const prvalue, which push_back copies.
Tensor lend(const Tensor& t) {
  if (t.byteSize() == 0) return t;
  return Tensor::borrow(t.type(), t.rawData());
}

class BoundModel : public ServedModel {
public:
  BoundModel(std::unique_ptr<ServedModel> inner, SafetensorsData weights)
      : inner_(std::move(inner)), weights_(std::move(weights)) {}

  /// Binds every argument a weight names; the served signatures without them.
  Status bind(const std::string& path) {
    std::set<std::string> used;
    for (const FunctionInfo& f : inner_->functions()) {
      std::vector<const Tensor*> bound;
      FunctionInfo served{f.name, {}, f.results, {}};
      for (size_t i = 0; i < f.args.size(); ++i) {
        const Tensor* w = i < f.argNames.size() && !f.argNames[i].empty()
                              ? weights_.find(f.argNames[i])
                              : nullptr;
        if (w) {
          std::string m = interp::typeMismatch(f.args[i], w->type());
          if (!m.empty())
            return errorf("weights '{}': '{}' does not fit argument #{} of @{}: {}", path,
                          f.argNames[i], i, f.name, m);
          used.insert(f.argNames[i]);
        } else {
          served.args.push_back(f.args[i]);
          served.argNames.push_back(i < f.argNames.size() ? f.argNames[i] : "");
        }
        bound.push_back(w);
      }
      bindings_.emplace(f.name, std::move(bound));
      functions_.push_back(std::move(served));
    }
    for (const std::string& name : weights_.names)
      if (!used.count(name))
        return errorf("weights '{}': no function of the model takes '{}'", path, name);
    return Status::ok();
  }

  const std::vector<FunctionInfo>& functions() const override { return functions_; }
  const char* kind() const override { return inner_->kind(); }

  StatusOr<std::vector<Tensor>> run(const std::string& function, const std::vector<Tensor>& inputs,
                                    const RunLimits& limits) const override {
    auto it = bindings_.find(function);
    if (it == bindings_.end()) return inner_->run(function, inputs, limits);
    std::vector<Tensor> all;
    all.reserve(it->second.size());
    size_t next = 0;
    for (const Tensor* w : it->second) {
      if (w) {
        all.push_back(lend(*w));
      } else {
        if (next >= inputs.size()) return errorf("@{}: too few inputs", function);
        all.push_back(lend(inputs[next++]));
      }
    }
    if (next != inputs.size()) return errorf("@{}: too many inputs", function);
    return inner_->run(function, all, limits);
  }

private:
  std::unique_ptr<ServedModel> inner_;
  SafetensorsData weights_;
  /// Per function, per argument of the inner model: the bound weight, or
  /// null (the request's next input).
  std::map<std::string, std::vector<const Tensor*>> bindings_;
  std::vector<FunctionInfo> functions_;
};

} // namespace

StatusOr<std::unique_ptr<ServedModel>> bindWeights(std::unique_ptr<ServedModel> model,
                                                   const std::string& path) {
  StatusOr<SafetensorsData> weights = readSafetensors(path);
  if (!weights.isOk())
    return weights.status().withMessage(
        fmt::format("weights '{}': {}", path, weights.status().message()));
  auto bound = std::make_unique<BoundModel>(std::move(model), std::move(*weights));
  CAIRN_RETURN_IF_ERROR(bound->bind(path));
  return std::unique_ptr<ServedModel>(std::move(bound));
}

} // namespace cairn::serve
