// A model the server serves: an ahead-of-time shared object (cairn-compile
// --shared) run through the C API, as an embedder would, or a text-IR
// module compiled at startup by the JIT. Both run with a context from a
// pool (one per request in flight) and the request's limits.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"
#include "runtime/RunLimits.h"

namespace cairn::serve {

struct FunctionInfo {
  std::string name;
  std::vector<TensorType> args, results;
  std::vector<std::string> argNames; ///< as the IR names them ("" unnamed)
};

class ServedModel {
public:
  virtual ~ServedModel() = default;
  virtual const std::vector<FunctionInfo>& functions() const = 0;
  /// Runs `function`; thread-safe. The Status's code says which limit, if
  /// any, stopped it.
  virtual StatusOr<std::vector<Tensor>> run(const std::string& function,
                                            const std::vector<Tensor>& inputs,
                                            const RunLimits& limits) const = 0;
  /// "aot" or "jit".
  virtual const char* kind() const = 0;
};

/// Loads `path`: a shared object (".so") through cairn_model_load_file, else
/// a text-IR module compiled by the JIT. Errors name the file.
StatusOr<std::unique_ptr<ServedModel>> loadServedModel(const std::string& path);

/// `model` with weights loaded once (`--weights name=file.safetensors`):
/// every argument named like a tensor of the file is bound to it, so its
/// functions' signatures drop those arguments and requests send only the
/// rest (SPINN's tokens, transitions and lengths, not its 17 parameter
/// tensors). A weight whose type does not fit its argument, or that no
/// function takes, is an error naming it.
StatusOr<std::unique_ptr<ServedModel>> bindWeights(std::unique_ptr<ServedModel> model,
                                                   const std::string& path);

} // namespace cairn::serve
